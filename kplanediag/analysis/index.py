"""One pass over a Snapshot into lookup tables that every health rule and the blast radius share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kplanediag.analysis import objects as o
from kplanediag.analysis.leases import lease_now
from kplanediag.snapshot import Snapshot
from kplanediag.snapshot.kinds import DaemonSet, EndpointSlice, Lease, Node, Pod

WorkloadKey = tuple[str, str, str]
"""(kind, namespace, name) of the workload that owns a pod; kind "Pod" for a bare pod."""


@dataclass
class ClusterIndex:
    snapshot: Snapshot
    now: datetime
    nodes: dict[str, Node] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)  # not terminated
    pods_by_node: dict[str, list[Pod]] = field(default_factory=lambda: defaultdict(list))
    pods_by_namespace: dict[str, list[Pod]] = field(default_factory=lambda: defaultdict(list))
    leases: dict[tuple[str, str], Lease] = field(default_factory=dict)
    daemonsets: dict[tuple[str, str], DaemonSet] = field(default_factory=dict)
    replicaset_owner: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    slices_by_service: dict[tuple[str, str], list[EndpointSlice]] = field(default_factory=lambda: defaultdict(list))
    daemon_pods: dict[tuple[str, str], list[Pod]] = field(default_factory=lambda: defaultdict(list))
    unowned_system_pods: list[Pod] = field(default_factory=list)  # kube-system, no controller or a Node (static)
    writes_stalled: str = ""  # set by analyze: why no Lease can be renewed (stale Leases are then no evidence)
    failing_nodes: frozenset[str] = frozenset()  # set by analyze once nodes are judged: their pods do not run
    # node Lease renewTimes of the previous live read (the polling loop's), by node: one that moved since
    # is a kubelet renewing, whatever its clock says
    previous_renewals: Mapping[str, datetime] = field(default_factory=dict)

    @classmethod
    def build(cls, snapshot: Snapshot, now: datetime) -> ClusterIndex:
        idx = cls(snapshot, now)
        idx.nodes = {n.metadata.name: n for n in snapshot.nodes}
        for pod in snapshot.pods:
            if o.pod_terminated(pod):
                continue
            idx.pods.append(pod)
            idx.pods_by_namespace[pod.metadata.namespace].append(pod)
            ref = pod.controller
            if ref is not None and ref.kind == "DaemonSet":
                idx.daemon_pods[(pod.metadata.namespace, ref.name)].append(pod)
            elif (ref is None or ref.kind == "Node") and pod.metadata.namespace == "kube-system":
                idx.unowned_system_pods.append(pod)
            if pod.spec.node_name:
                idx.pods_by_node[pod.spec.node_name].append(pod)
        idx.leases = {(lease.metadata.namespace, lease.metadata.name): lease for lease in snapshot.leases}
        idx.daemonsets = {(ds.metadata.namespace, ds.metadata.name): ds for ds in snapshot.daemonsets}
        for rs in snapshot.replicasets:
            ref = rs.controller
            if ref:
                idx.replicaset_owner[(rs.metadata.namespace, rs.metadata.name)] = (ref.kind, ref.name)
        for es in snapshot.endpointslices:
            svc = es.labels.get("kubernetes.io/service-name")
            if svc:
                idx.slices_by_service[(es.metadata.namespace, svc)].append(es)
        return idx

    def has(self, resource: str) -> bool:
        return self.snapshot.has(resource)

    def leases_seen(self, namespace: str) -> bool:
        """Whether the Leases of ``namespace`` were read: each namespace is its own list, and one can
        be forbidden while the other is not (the gap then names it: "leases (kube-system)")."""
        return self.has("leases") and not any(g.source == f"leases ({namespace})" for g in self.snapshot.gaps)

    def lease(self, namespace: str, lease_name: str) -> Lease | None:
        return self.leases.get((namespace, lease_name))

    def workload_of(self, pod: Pod) -> WorkloadKey:
        """The top controller of a pod: ReplicaSet pods belong to their Deployment."""
        ns = pod.metadata.namespace
        ref = pod.controller
        if ref is None:
            return ("Pod", ns, pod.metadata.name)
        if ref.kind == "ReplicaSet":
            parent = self.replicaset_owner.get((ns, ref.name))
            if parent:
                return (parent[0], ns, parent[1])
            template_hash = pod.labels.get("pod-template-hash")
            if not self.has("replicasets") and template_hash and ref.name.endswith("-" + template_hash):
                return ("Deployment", ns, ref.name.removesuffix("-" + template_hash))
        return (ref.kind, ns, ref.name)

    def lease_now(self, namespace: str) -> datetime:
        """The time a Lease of ``namespace`` is judged at (analysis/leases.py lease_now)."""
        return lease_now(self.snapshot, self.now, namespace)

    def seconds_since(self, when: datetime | None) -> float | None:
        return None if when is None else (self.now - when).total_seconds()


def node_renewals(snapshot: Snapshot) -> dict[str, datetime]:
    """The node Leases' renewTimes of a snapshot, for the next read to compare with."""
    return {
        lease.metadata.name: renewed
        for lease in snapshot.leases
        if lease.metadata.namespace == "kube-node-lease"
        for renewed in [lease.spec.renew_time or lease.spec.acquire_time]
        if renewed is not None
    }
