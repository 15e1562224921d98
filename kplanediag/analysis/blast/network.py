"""The blast radius of a network plugin that is not ready on some nodes: their kubelets and runtimes work
and hostNetwork pods keep running, but no new pod there gets a network, and the not-ready taint keeps
pods off those nodes (Pending) and evicts the ones that do not tolerate it."""

from __future__ import annotations

from kplanediag.analysis.blast.control import pending_impacts
from kplanediag.analysis.causes import NodeCause
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import COMPONENT_DOWN
from kplanediag.analysis.model import Affected, BlastEntry, Plane
from kplanediag.analysis.words import plural, running_elsewhere, some


def network_entry(idx: ClusterIndex, cause: NodeCause, effects: tuple[str, ...]) -> BlastEntry:
    nodes = set(cause.nodes)
    where = some(sorted(nodes))
    breaks = [f"new pods on {where} cannot start: no pod network (their sandboxes fail to be created)"]
    breaks.append(f"{where} NotReady: the not-ready taint keeps new pods off and evicts pods that do not tolerate it")
    still = [f"the kubelet and container runtime on {where} work: they post status and run hostNetwork pods"]
    pending = list(cause.pending.pods)
    if idx.has("pods"):
        pods = [p for n in sorted(nodes) for p in idx.pods_by_node.get(n, [])]
        host = [p for p in pods if p.spec.host_network]
        networked = [p for p in pods if not p.spec.host_network]
        if networked:
            breaks.append(
                f"{plural(len(networked), 'pod')} on them use the pod network: those already running keep the "
                "network they have only while the plugin's datapath holds"
            )
        if host:
            still.append(f"{plural(len(host), 'hostNetwork pod')} on them keep running (no pod network needed)")
        others = [n for n in idx.nodes if n not in nodes]
        if others:
            still.append(running_elsewhere(idx, nodes))
        affected = Affected(
            nodes=tuple(sorted(nodes)),
            pods=len(networked) + len(pending),
            workloads=pending_impacts(idx, pending),
            namespaces=tuple(sorted({p.namespace for p in [*networked, *pending]})),
        )
        count = f"{plural(len(pending), 'pod')} Pending" if pending else "no pod kept Pending yet"
    else:
        affected = Affected(nodes=tuple(sorted(nodes)))
        breaks.append("pods on them not counted: pods not observed")
        count = "pods not counted (pods not observed)"
    summary = (
        f"network plugin (CNI) not ready on {plural(len(nodes), 'node')} ({where}): new pods there cannot start; "
        + count
    )
    return BlastEntry(
        f"network plugin not ready on {where}",
        Plane.DATA,
        "node",
        summary,
        affected,
        tuple(breaks),
        tuple(still),
        COMPONENT_DOWN,
        "cni",
        cause.root.severity,
        cause.root,
        effects,
    )
