"""etcd's storage: the database size the API server samples (/metrics) against the quota etcd
enforces (KPD-420 at 80%, KPD-421 at 95%)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.crossplane.writes import WritesStalled
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.knowledge.profiles import Profile
from kplanediag.analysis.model import Finding
from kplanediag.snapshot.server import StorageSize

BIGGEST = 5  # resources named with their object counts


@dataclass(frozen=True)
class Storage:
    """The judged state of one storage backend; ``quota`` None: not known, not judged."""

    size: StorageSize
    quota: int | None
    quota_source: str
    biggest: tuple[tuple[str, int], ...] = ()

    @property
    def ratio(self) -> float | None:
        return self.size.bytes / self.quota if self.quota else None

    def describe(self) -> str:
        text = f"etcd database {human(self.size.bytes)}"
        if self.size.cluster:
            text += f" ({self.size.cluster})"
        if self.quota and self.ratio is not None:
            text += f", {self.ratio:.0%} of its {human(self.quota)} quota ({self.quota_source})"
        else:
            text += " (quota not known: pass --etcd-quota to judge it)"
        return text

    def objects_text(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in self.biggest)


def human(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


# Past the quota etcd's NOSPACE alarm makes every write fail. etcd does not tell the API server its quota: it
# comes from --etcd-quota, else from the profile (etcd's default 2 GiB where kubeadm, kind or RKE2 leave it);
# without one the size is only reported.
def storage_states(idx: ClusterIndex, profile: Profile, quota: int | None) -> list[Storage]:
    metrics = idx.snapshot.metrics
    if metrics is None:
        return []
    if quota:
        source = "as given by --etcd-quota"
    elif profile.etcd_quota:
        quota, source = profile.etcd_quota, f"the {profile.title} default"
    else:
        source = ""
    counts = sorted(((k, n) for k, n in metrics.objects.items() if n > 0), key=lambda kv: (-kv[1], kv[0]))[:BIGGEST]
    return [Storage(size, quota, source, tuple(counts)) for size in metrics.storage if size.bytes > 0]


def storage_findings(
    states: list[Storage], stalled: WritesStalled | None = None, etcd_checks_fail: bool = False
) -> list[Finding]:
    findings = []
    if stalled is not None:
        sizes = "; ".join(s.describe() for s in states) or "etcd's database size not known (/metrics not read)"
        cause = (
            "etcd's own checks fail too (KPD-110): etcd is down or has lost quorum"
            if etcd_checks_fail
            else "/readyz passing with writes failing is what etcd's NOSPACE alarm looks like ('mvcc: database "
            f"space exceeded'): {sizes}; check `etcdctl alarm list` on a control-plane node"
        )
        findings.append(finding("KPD-422", "etcd", f"{stalled.describe()}. {cause}"))
    for state in states:
        ratio = state.ratio
        if ratio is None or ratio < policy("etcd_warn_ratio"):
            continue
        code = "KPD-421" if ratio >= policy("etcd_critical_ratio") else "KPD-420"
        biggest = f"; most objects: {state.objects_text()}" if state.biggest else ""
        findings.append(finding(code, state.size.cluster or "etcd", state.describe() + biggest))
    return findings
