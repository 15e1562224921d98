"""Cordons and taints that leave no node for new workload pods (KPD-232)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.impact import is_component_pod
from kplanediag.analysis.index import ClusterIndex, WorkloadKey
from kplanediag.analysis.knowledge.classes import NO_SCHEDULABLE_NODE
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Affected, BlastEntry, Finding, Impact, Impacted
from kplanediag.analysis.scheduling.pending import COMPONENT, workload_name
from kplanediag.analysis.scheduling.tolerations import why_closed
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot.kinds import Toleration


@dataclass(frozen=True)
class NoRoom:
    closed: tuple[tuple[str, str], ...]  # every node, with why a pod without tolerations may not land
    workloads: tuple[WorkloadKey, ...]  # Deployment/ReplicaSet workloads no node accepts; () if none runs

    def describe(self) -> str:
        nodes = some([f"{n} {why}" for n, why in self.closed], 6)
        if not self.workloads:
            return f"no node accepts a new pod without tolerations: {nodes}"
        names = some([workload_name(w) for w in self.workloads], 3)
        return f"no node accepts new pods of {plural(len(self.workloads), 'workload')} ({names}): {nodes}"


def ordinary_tolerations(idx: ClusterIndex) -> dict[WorkloadKey, set[tuple[Toleration, ...]]]:
    """The tolerations of each Deployment/ReplicaSet's pods, component pods (CoreDNS...) left out."""
    out: dict[WorkloadKey, set[tuple[Toleration, ...]]] = defaultdict(set)
    for pod in idx.pods:
        ref = pod.controller
        if ref is not None and ref.kind == "ReplicaSet" and not is_component_pod(idx, pod):
            out[idx.workload_of(pod)].add(pod.spec.tolerations)
    return out


# Every node is cordoned or carries a NoSchedule/NoExecute taint the cluster's Deployment/ReplicaSet pods do
# not tolerate. The node lifecycle controller's not-ready/unreachable taints are left out (a node failure is
# the cause), so are control-plane taints while other nodes are open: that is the design, not a fault.
def no_room(idx: ClusterIndex) -> NoRoom | None:
    if not (idx.has("pods") and idx.has("nodes")) or not idx.nodes:
        return None
    closed = [(name, why_closed(node, ())) for name, node in sorted(idx.nodes.items())]
    if any(not why for _, why in closed):
        return None  # a pod with no toleration lands somewhere: so does every workload's
    cache: dict[tuple[Toleration, ...], bool] = {}

    def shut(tolerations: tuple[Toleration, ...]) -> bool:
        if tolerations not in cache:
            cache[tolerations] = all(why_closed(node, tolerations) for node in idx.nodes.values())
        return cache[tolerations]

    workloads = ordinary_tolerations(idx)
    blocked = tuple(sorted(w for w, sets in workloads.items() if all(shut(t) for t in sets)))
    if workloads and not blocked:
        return None
    return NoRoom(tuple(closed), blocked)


def closed_findings(idx: ClusterIndex) -> list[tuple[NoRoom, Finding]]:
    room = no_room(idx)
    if room is None:
        return []
    message = room.describe() + (
        ": no new pod of them can start anywhere until a node is uncordoned or a taint removed"
        if room.workloads
        else ": no new workload pod can start anywhere until a node is uncordoned or a taint removed"
    )
    return [(room, finding("KPD-232", "cluster", message, component=COMPONENT))]


def closed_entry(idx: ClusterIndex, room: NoRoom, cause: Finding) -> BlastEntry:
    keys = set(room.workloads)
    ready = Counter(idx.workload_of(p) for p in idx.pods if o.pod_ready(p) and idx.workload_of(p) in keys)
    waiting = Counter(
        idx.workload_of(p) for p in idx.pods if o.pod_pending_unscheduled(p) and idx.workload_of(p) in keys
    )
    hit = tuple(
        Impacted(kind, ns, name, Impact.OUTAGE if ready[w] == 0 else Impact.DEGRADED, ready[w], waiting[w])
        for w in room.workloads
        for kind, ns, name in [w]
    )
    pending = sum(waiting.values())
    whose = f"of {plural(len(hit), 'workload')}" if hit else "of any workload without tolerations"
    breaks = [
        f"no new pod {whose} can start on any node: rollouts, scale-ups and the replacement of a deleted, "
        "evicted or failed pod wait Pending",
    ]
    if pending:
        breaks.append(f"{plural(pending, 'pod')} of them are Pending now")
    return BlastEntry(
        "no schedulable node for new pods",
        cause.plane,
        "cluster",
        f"every node is cordoned or tainted against new pods {whose}",
        Affected(nodes=tuple(n for n, _ in room.closed), pods=pending, workloads=hit),
        tuple(breaks),
        (
            "running pods keep running, and a crashed container restarts in place on its node",
            "pods that tolerate the taints (DaemonSets, control-plane add-ons) still start",
        ),
        NO_SCHEDULABLE_NODE,
        cause.component,
        cause.severity,
        cause,
    )
