"""Where the pods a hypothesis takes away would go: their controllers' replacements placed on the nodes
left (scheduling/placement.py), what stays Pending and why, StatefulSet pods not replaced while their
node is unreachable, and the local storage (emptyDir, hostPath) lost with them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.scheduling.drains import drained_pods
from kplanediag.analysis.scheduling.placement import TERMINAL, Room, place
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot import Snapshot
from kplanediag.snapshot.kinds import Pod

NOT_REPLACED = ("DaemonSet", "Node", "Pod")  # per node, static (mirror) or bare: never placed elsewhere


def _local(pod: Pod) -> list[str]:
    kinds = {"emptyDir" for v in pod.spec.volumes if v.empty_dir} | {
        "hostPath" for v in pod.spec.volumes if v.host_path
    }
    return sorted(kinds)


def _workload(idx: ClusterIndex, pod: Pod) -> str:
    kind, ns, name = idx.workload_of(pod)
    return f"{kind} {ns}/{name}"


def _lost(idx: ClusterIndex, nodes: set[str]) -> list[Pod]:
    return [
        p
        for node in sorted(nodes)
        for p in idx.pods_by_node.get(node, [])
        if p.status.phase not in TERMINAL and p.metadata.deletion_timestamp is None
    ]


def _by_workload(idx: ClusterIndex, pods: Iterable[Pod]) -> dict[str, list[Pod]]:
    out: dict[str, list[Pod]] = defaultdict(list)
    for pod in pods:
        out[_workload(idx, pod)].append(pod)
    return out


def rehome(
    idx: ClusterIndex, after: Snapshot, failed: set[str], drained: set[str], held: set[str], scheduling: bool
) -> list[str]:
    """Notes for what-if: ``failed`` nodes lost (their pods evicted once unreachable long enough),
    ``drained`` nodes' pods evicted now but those budgets hold (``held``); placed on ``after``'s
    nodes, where ``scheduling`` is still possible (a control plane that is down places nothing)."""
    lost = _lost(idx, failed)
    evicted = [p for node in sorted(drained - failed) for p in drained_pods(idx, node) if p.key not in held]
    gone = failed | drained
    waiting = [p for p in lost if p.controller is not None and p.controller.kind == "StatefulSet"]
    held = {p.key for p in waiting}
    movers = [
        p
        for p in lost + evicted
        if idx.workload_of(p)[0] not in NOT_REPLACED and p.key not in held and p.controller is not None
    ]
    notes = []
    if waiting:
        groups = _by_workload(idx, waiting)
        notes.append(
            f"not replaced while the node is unreachable: {some(sorted(groups), 6)} "
            f"({some([p.key for p in waiting], 6)}): a StatefulSet creates a pod again only once the old one "
            "is gone (delete the Node, or force-delete the pod, once the node is known to be down)"
        )
    local = [(p, _local(p)) for p in lost + evicted if _local(p) and idx.workload_of(p)[0] not in ("DaemonSet", "Node")]
    if local:
        said = some([f"{p.key} ({', '.join(kinds)})" for p, kinds in local], 6)
        notes.append(
            f"local storage lost: {said}: emptyDir data goes with the pod, hostPath data stays on its node"
            + ("; kubectl drain needs --delete-emptydir-data for emptyDir" if evicted else "")
        )
    if not movers:
        return notes
    if not scheduling:
        notes.append(
            f"{plural(len(movers), 'pod')} to replace ({some(sorted(_by_workload(idx, movers)), 6)}): "
            "none is scheduled while the control plane is down"
        )
        return notes
    nodes = ClusterIndex.build(after, idx.now).nodes
    room = Room.of(nodes.values(), (p for p in idx.pods if p.spec.node_name not in gone))
    notes += _placed(idx, movers, *place(room, movers))
    if not any(n.status.allocatable for n in nodes.values()):
        notes.append("resources not judged: no node's allocatable is in the snapshot")
    return notes


def _placed(idx: ClusterIndex, movers: list[Pod], placed: dict[str, str], stuck: dict[str, str]) -> list[str]:
    """What ``place`` did, said per workload: those with nowhere to go and why, those rescheduled."""
    notes = []
    everyone = _by_workload(idx, movers)
    if stuck:
        lines = []
        for workload, pods in sorted(_by_workload(idx, (p for p in movers if p.key in stuck)).items()):
            total = len(everyone[workload])
            count = plural(len(pods), "pod") if len(pods) == total else f"{len(pods)} of {total} pods"
            lines.append(f"{workload}: {count} ({stuck[pods[0].key]})")
        notes.append(
            f"nowhere to go: {some(lines, 8)}: their replacements stay Pending until room returns "
            "(the scheduler's filters: taints, nodeSelector, required affinity and anti-affinity, requests "
            "against what is left of allocatable)"
        )
    if placed:
        workloads = _by_workload(idx, (p for p in movers if p.key in placed))
        notes.append(
            f"rescheduled: {plural(len(placed), 'pod')} of {plural(len(workloads), 'workload')} "
            f"({some(sorted(workloads), 6)}) fit on "
            f"{some(sorted(set(placed.values())), 6)} (requests against what is left of allocatable)"
        )
    return notes
