"""Certificates that take the control plane down when they lapse: the API server's serving
certificate (from the TLS handshake; KPD-430 within 30 days, KPD-431 within 7 or expired) and
CertificateSigningRequests no approver answers (KPD-432: a node that cannot renew its own)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.knowledge.profiles import Profile
from kplanediag.analysis.model import Finding, Severity
from kplanediag.snapshot.api_kinds import CertificateSigningRequest
from kplanediag.snapshot.server import Certificate

DAY = 86400.0
SIGNERS = {
    "kubernetes.io/kube-apiserver-client-kubelet": "kubelet client certificate (the node's identity to the API server)",
    "kubernetes.io/kubelet-serving": "kubelet serving certificate (logs, exec and metrics of its pods)",
    "kubernetes.io/kube-apiserver-client": "client certificate",
}


@dataclass(frozen=True)
class Expiry:
    """The serving certificate's remaining life, judged."""

    certificate: Certificate
    days_left: float
    severity: Severity | None  # None: not near expiry

    def describe(self) -> str:
        when = self.certificate.not_after.isoformat() if self.certificate.not_after else "unknown"
        if self.days_left < 0:
            return f"the API server's serving certificate expired {-self.days_left:.1f} days ago ({when})"
        days = f"{self.days_left:.1f}" if self.days_left < 10 else f"{self.days_left:.0f}"
        return f"the API server's serving certificate expires in {days} days ({when})"


def serving_expiry(idx: ClusterIndex, profile: Profile) -> Expiry | None:
    cert = idx.snapshot.serving_certificate
    if cert is None or cert.not_after is None:
        return None
    days = (cert.not_after - idx.now).total_seconds() / DAY
    severity: Severity | None = None
    if days <= policy("certificate_critical_days"):
        severity = Severity.CRITICAL
    elif days <= policy("certificate_warn_days"):
        severity = Severity.WARNING
    if severity is not None and profile.rotated:
        severity = Severity.INFO
    return Expiry(cert, days, severity)


def certificate_findings(idx: ClusterIndex, profile: Profile, expiry: Expiry | None) -> list[Finding]:
    findings: list[Finding] = []
    if expiry is not None and expiry.severity is not None:
        code = "KPD-431" if expiry.days_left <= policy("certificate_critical_days") else "KPD-430"
        renew = f"; {profile.certificates}" if profile.certificates else ""
        subject = expiry.certificate.subject or "kube-apiserver"
        findings.append(finding(code, subject, expiry.describe() + renew, severity=expiry.severity))
    findings += [_pending(idx, csr) for csr in stuck_requests(idx)]
    return findings


def stuck_requests(idx: ClusterIndex) -> list[CertificateSigningRequest]:
    """CSRs with no Approved, Denied or Failed condition older than the policy's patience."""
    out = []
    for csr in idx.snapshot.csrs:
        if any(c.type in ("Approved", "Denied", "Failed") for c in csr.status.conditions):
            continue
        age = idx.seconds_since(csr.metadata.creation_timestamp)
        if age is not None and age >= policy("csr_pending"):
            out.append(csr)
    return sorted(out, key=lambda c: c.metadata.name)


def _pending(idx: ClusterIndex, csr: CertificateSigningRequest) -> Finding:
    age = idx.seconds_since(csr.metadata.creation_timestamp) or 0.0
    what = SIGNERS.get(csr.spec.signer_name, f"certificate of signer {csr.spec.signer_name}")
    who = csr.spec.username.removeprefix("system:node:")
    return finding(
        "KPD-432",
        csr.metadata.name,
        f"CertificateSigningRequest {csr.metadata.name} from {who or 'an unknown requester'} has waited "
        f"{age / 60:.0f} min for approval: its {what} cannot be renewed until an approver (or "
        "`kubectl certificate approve`) answers",
    )
