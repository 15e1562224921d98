"""Who serves an in-cluster Service a webhook or an APIService points at: its ready endpoints, the
nodes they run on, and whether any of them is on a node that is not failing."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.objects import pod_ready
from kplanediag.snapshot.api_kinds import ServiceReference
from kplanediag.snapshot.kinds import Pod


@dataclass(frozen=True)
class Backends:
    """``known`` False: the Services or EndpointSlices were not read, so nothing can be said."""

    service: str  # namespace/name
    known: bool
    exists: bool = False
    ready: tuple[tuple[str, str], ...] = ()  # (pod or address, node) of ready endpoints
    on_failing_nodes: tuple[str, ...] = ()  # nodes of ready endpoints that are failing
    external: str = ""  # an ExternalName Service: the host it names (never has endpoints)
    pods: tuple[str, ...] | None = None  # its selector's pods, with their state; None: not known

    @property
    def serving(self) -> int:
        """Ready endpoints on nodes that are not failing (a node that stopped reporting keeps its
        endpoints ready until the controller-manager notices: they are not counted)."""
        failing = set(self.on_failing_nodes)
        return sum(1 for _, node in self.ready if node not in failing)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(sorted({node for _, node in self.ready if node}))

    def _pods(self) -> str:
        if self.pods is None:
            return ""
        if not self.pods:
            return " (no pod matches its selector)"
        return f" (its pods: {', '.join(self.pods[:5])}{' ...' if len(self.pods) > 5 else ''})"

    def describe(self) -> str:
        if not self.known:
            return f"Service {self.service}: endpoints not observed"
        if not self.exists:
            return f"Service {self.service} does not exist"
        if self.external:
            return f"ExternalName Service {self.service} -> {self.external} (outside the cluster: not verifiable)"
        if not self.ready:
            return f"Service {self.service} has no ready endpoint{self._pods()}"
        if not self.serving:
            return (
                f"Service {self.service}: its only ready endpoints are on failing node(s) "
                f"{', '.join(self.on_failing_nodes)}"
            )
        return f"Service {self.service}: {self.serving} ready endpoint(s) on {', '.join(self.nodes) or 'unknown nodes'}"


def backends(idx: ClusterIndex, ref: ServiceReference, nodes: dict[str, NodeState]) -> Backends:
    name = f"{ref.namespace}/{ref.name}"
    if not (idx.has("services") and idx.has("endpointslices")):
        return Backends(name, known=False)
    svc = next(
        (s for s in idx.snapshot.services if s.metadata.namespace == ref.namespace and s.metadata.name == ref.name),
        None,
    )
    if svc is not None and svc.spec.type == "ExternalName":
        return Backends(name, known=True, exists=True, external=svc.spec.external_name or "?")
    exists = svc is not None
    ready: list[tuple[str, str]] = []
    for es in idx.slices_by_service.get((ref.namespace, ref.name), []):
        for ep in es.endpoints:
            if ep.conditions.ready is False:
                continue
            who = ep.target_ref.name if ep.target_ref else (ep.addresses[0] if ep.addresses else "?")
            ready.append((who, ep.node_name))
    failing = tuple(sorted({n for _, n in ready if n and nodes.get(n) is not None and nodes[n].failing}))
    pods = None
    if svc is not None and svc.spec.selector and idx.has("pods"):
        wanted = svc.spec.selector.items()
        pods = tuple(_pod_state(p) for p in idx.pods_by_namespace.get(ref.namespace, []) if wanted <= p.labels.items())
    return Backends(
        name, known=True, exists=exists, ready=tuple(sorted(set(ready))), on_failing_nodes=failing, pods=pods
    )


def _pod_state(pod: Pod) -> str:
    """``name (phase[, waiting reason][, not ready])``."""
    reasons = [
        s.state.waiting.reason for s in pod.status.container_statuses if s.state.waiting and s.state.waiting.reason
    ]
    parts = [pod.status.phase or "unknown phase", *reasons[:1]]
    if not pod_ready(pod):
        parts.append("not ready")
    return f"{pod.metadata.name} ({', '.join(parts)})"
