"""One pass over a Snapshot into lookup tables that every health rule and the blast radius share."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from kplanediag.analysis import objects as o
from kplanediag.snapshot import Obj, Snapshot

WorkloadKey = tuple[str, str, str]
"""(kind, namespace, name) of the workload that owns a pod; kind "Pod" for a bare pod."""


@dataclass
class ClusterIndex:
    snapshot: Snapshot
    now: datetime
    nodes: dict[str, Obj] = field(default_factory=dict)
    pods: list[Obj] = field(default_factory=list)
    pods_by_node: dict[str, list[Obj]] = field(default_factory=lambda: defaultdict(list))
    pods_by_namespace: dict[str, list[Obj]] = field(default_factory=lambda: defaultdict(list))
    leases: dict[tuple[str, str], Obj] = field(default_factory=dict)
    replicaset_owner: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    slices_by_service: dict[tuple[str, str], list[Obj]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def build(cls, snapshot: Snapshot, now: datetime) -> ClusterIndex:
        idx = cls(snapshot, now)
        idx.nodes = {o.name(n): n for n in snapshot.items("nodes")}
        for pod in snapshot.items("pods"):
            if o.pod_terminated(pod):
                continue
            idx.pods.append(pod)
            idx.pods_by_namespace[o.namespace(pod)].append(pod)
            if o.pod_node(pod):
                idx.pods_by_node[o.pod_node(pod)].append(pod)
        idx.leases = {(o.namespace(lease), o.name(lease)): lease for lease in snapshot.items("leases")}
        for rs in snapshot.items("replicasets"):
            ref = o.controller_ref(rs)
            if ref:
                idx.replicaset_owner[(o.namespace(rs), o.name(rs))] = (str(ref.get("kind")), str(ref.get("name")))
        for es in snapshot.items("endpointslices"):
            svc = o.labels(es).get("kubernetes.io/service-name")
            if svc:
                idx.slices_by_service[(o.namespace(es), svc)].append(es)
        return idx

    def has(self, resource: str) -> bool:
        return self.snapshot.has(resource)

    def lease(self, namespace: str, lease_name: str) -> Obj | None:
        return self.leases.get((namespace, lease_name))

    def workload_of(self, pod: Obj) -> WorkloadKey:
        """The top controller of a pod: ReplicaSet pods belong to their Deployment."""
        ns = o.namespace(pod)
        ref = o.controller_ref(pod)
        if not ref:
            return ("Pod", ns, o.name(pod))
        kind, owner = str(ref.get("kind")), str(ref.get("name"))
        if kind == "ReplicaSet":
            parent = self.replicaset_owner.get((ns, owner))
            if parent:
                return (parent[0], ns, parent[1])
            template_hash = o.labels(pod).get("pod-template-hash")
            if not self.has("replicasets") and template_hash and owner.endswith("-" + template_hash):
                return ("Deployment", ns, owner.removesuffix("-" + template_hash))
        return (kind, ns, owner)

    def seconds_since(self, when: datetime | None) -> float | None:
        return None if when is None else (self.now - when).total_seconds()
