"""The linking pass: each finding another explains is linked to its root cause, which gathers the
effects it explains (instances it hides, replicas it takes, pods it keeps Pending)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kplanediag.analysis.causes.control import link_control_plane
from kplanediag.analysis.causes.model import Links
from kplanediag.analysis.causes.nodes import NodeCause, link_nodes
from kplanediag.analysis.causes.objects import link_objects
from kplanediag.analysis.causes.pending import PendingPods, pending_pods
from kplanediag.analysis.controlplane.instances import Redundancy
from kplanediag.analysis.crossplane import CrossPlane
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import Component, Finding
from kplanediag.analysis.scheduling import Scheduling


@dataclass(frozen=True)
class Causes:
    """What the linking pass found: links between findings, node causes with their effects."""

    links: Links
    nodes: tuple[NodeCause, ...] = ()
    pending: PendingPods = field(default_factory=PendingPods)


# Nothing judged before is changed: links are added beside verdicts. Rules by subject: nodes.py (a silent
# kubelet, a runtime or network plugin that is not ready), control.py (the API server or etcd failing: leader
# Leases and effects go stale with it), objects.py (taints and cordons that leave no node: the pods Pending on
# them).
def link(
    idx: ClusterIndex,
    components: tuple[Component, ...],
    findings: tuple[Finding, ...],
    nodes: dict[str, NodeState],
    redundancy: tuple[Redundancy, ...],
    cross: CrossPlane | None = None,
    scheduling: Scheduling | None = None,
) -> Causes:
    links = Links()
    pending = pending_pods(idx, scheduling.pending if scheduling is not None else ())
    node_causes = link_nodes(idx, components, findings, nodes, redundancy, pending, cross, links)
    link_control_plane(findings, links)
    link_objects(findings, links)
    return Causes(links, tuple(node_causes), pending)


__all__ = ["Causes", "Links", "NodeCause", "link"]
