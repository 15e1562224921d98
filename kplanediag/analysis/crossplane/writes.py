"""Writes failing cluster-wide while reads work (etcd's NOSPACE alarm, "mvcc: database space exceeded",
as seen from the API, where /readyz and /livez stay green: measured on v1.36.2), KPD-422."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.words import plural

IDENTITY_LABEL = "apiserver.kubernetes.io/identity"


@dataclass(frozen=True)
class WritesStalled:
    seconds: float  # since the newest renewal of any Lease
    leases: int  # how many Leases are that old
    failed_writes: int  # etcd_request_errors_total of writes, since the API server started (0: unknown)

    def describe(self) -> str:
        failed = (
            f"; the API server counted {self.failed_writes} failed etcd writes (etcd_request_errors_total)"
            if self.failed_writes
            else ""
        )
        return (
            f"no Lease was renewed for {self.seconds:.0f}s ({plural(self.leases, 'Lease')}, the API server's own "
            f"identity Lease included, which it renews every 10 s while it can write), yet the API server answers "
            f"reads: writes are failing cluster-wide{failed}"
        )


WRITES = ("create", "update", "delete", "GuaranteedUpdate", "patch")


# The API server renews its own identity Lease every 10 s while it can write; the kubelets, the scheduler and
# the controller-manager renew theirs every few seconds. When none of these Leases was renewed for the
# policy's ``writes_stalled`` seconds while the API server that holds one of them is answering, its writes are
# failing: Lease staleness is then a consequence, not a dead scheduler or a silent node, and is reported as
# such (KPD-422).
def writes_stalled(idx: ClusterIndex) -> WritesStalled | None:
    snap = idx.snapshot
    if not snap.reachable or not idx.leases_seen("kube-system"):
        return None
    leases = [lease for lease in idx.leases.values() if lease.spec.renew_time is not None]
    identity = [lease for lease in leases if lease.labels.get(IDENTITY_LABEL) == "kube-apiserver"]
    if not identity:  # the proof that a running process could not write is missing
        return None
    # measured when each list was read, the API server seen answering (not at a later --at, nor at the end
    # of a slow collection)
    age = min(
        (snap.read_time("leases", lease.metadata.namespace) - lease.spec.renew_time).total_seconds()
        for lease in leases
        if lease.spec.renew_time is not None
    )
    if age < policy("writes_stalled"):
        return None
    errors = snap.metrics.storage_errors if snap.metrics else {}
    failed = sum(n for op, n in errors.items() if op in WRITES)
    return WritesStalled(seconds=age, leases=len(leases), failed_writes=failed)


def etcd_checks_failing(idx: ClusterIndex) -> list[str]:
    """The etcd checks that /livez or /readyz answered as failing: no write can succeed, Lease renewals
    included, so a stale Lease is then no evidence that its holder stopped."""
    snap = idx.snapshot
    probes = [p for p in (snap.livez, snap.readyz) if p is not None and p.status is not None and p.answered]
    return sorted({c.name for p in probes for c in p.checks if c.name.startswith("etcd") and not c.ok})
