"""Markdown generated from the knowledge tables (``make docs``): docs/profiles.md from the profiles
and the policy table; docs/codes.md is made by codes.codes_markdown."""

from __future__ import annotations

from kplanediag.analysis.knowledge.policy import POLICY
from kplanediag.analysis.knowledge.profiles import KUBE_DNS, PROFILES, UNKNOWN


def profiles_markdown() -> str:
    """The profiles and policy tables as Markdown, for docs/profiles.md."""
    lines = [
        "# Distribution profiles",
        "",
        "Generated from `kplanediag/analysis/knowledge/profiles.py` and `policy.py` by `make docs`; do not edit.",
        "The first profile whose signals match is used; the report names it (`cluster.profile`) and the",
        "evidence (`cluster.profileEvidence`). What a profile says is not visible is reported `unknown`, never",
        "down and never a warning. Absent: *required* is a finding, *embedded* and *optional* are unknown.",
        "",
        "| profile | recognised by | control plane | leader Leases | kube-proxy | CNI | DNS | etcd quota | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in (*PROFILES, UNKNOWN):
        signals = "; ".join(f"{s.field} `{s.value}`" for s in p.signals) or "(default)"
        dns = "; ".join(r.describe() for r in p.dns_pods or KUBE_DNS)
        quota = f"{p.etcd_quota / 2**30:g} GiB" if p.etcd_quota else "not judged"
        lines.append(
            f"| {p.name} ({p.mode}) | {signals} | {p.control_plane} | {p.leader_leases.value} | {p.kube_proxy.value} "
            f"| {p.cni.value} | {p.dns.value}: {dns} | {quota} | {p.notes} |"
        )
    lines += ["", "## Certificate renewal", "", "What the certificate-expiry findings say to do, per profile:", ""]
    lines += [f"- **{p.name}**: {p.certificates}" for p in PROFILES if p.certificates]
    lines += ["", "## Policy thresholds", "", "| name | value | why |", "| --- | --- | --- |"]
    lines += [f"| {t.name} | {t.value:g} {t.unit} | {t.why} |" for t in POLICY.values()]
    return "\n".join(lines) + "\n"
