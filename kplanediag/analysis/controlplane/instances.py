"""Control-plane instances: one Component per pod of a component (static or mirror pods), judged by
its node and its readiness on top of what the API-level evidence says; and the redundancy left."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import Component, Plane, Status
from kplanediag.snapshot.kinds import Pod


@dataclass(frozen=True)
class Redundancy:
    """How many instances of a component there are and how many are healthy; etcd also has a quorum."""

    component: str
    total: int
    healthy: int
    down_nodes: tuple[str, ...]
    quorum: int | None = None

    @property
    def quorum_lost(self) -> bool:
        return self.quorum is not None and self.healthy < self.quorum

    @property
    def partial(self) -> bool:
        return self.total > 1 and len(self.down_nodes) > 0 and not self.quorum_lost


@dataclass(frozen=True)
class Base:
    """What the API-level evidence (probes, Lease, effects) says of a component as a whole."""

    status: Status
    detail: str
    evidence: tuple[str, ...] = ()
    version: str | None = None
    lift_on_ready: bool = False  # an unknown status becomes healthy on a Ready pod (the kubelet probes it)


def offline(idx: ClusterIndex) -> bool:
    """Input from a file: health endpoints cannot be in it, so a Ready pod is the best evidence left.
    Live, a refused endpoint or list stays a named gap and its component unknown."""
    return idx.snapshot.source != "live"


def leader_node(holder: str) -> str:
    """Leader-election identities are ``<hostname>_<uuid>``."""
    return holder.split("_", 1)[0] if holder else ""


def judge(
    name: str, base: Base, pods: list[Pod], nodes: dict[str, NodeState], leader: str | None = None
) -> list[Component]:
    if not pods:
        return [Component(name, Plane.CONTROL, base.status, None, base.version, base.evidence, base.detail)]
    out = []
    several = len(pods) > 1
    for pod in sorted(pods, key=lambda p: p.spec.node_name):
        node, state = pod.spec.node_name, o.pod_state(pod)
        status, detail = base.status, base.detail
        evidence = [*base.evidence, f"pod {pod.key} ({state})"]
        node_state = nodes.get(node)
        if node_state is not None and node_state.failing:
            status, detail = Status.DOWN, f"node {node} failing ({node_state.reason})"
        elif state != "Ready":
            if several:
                status, detail = Status.DOWN, f"pod {state}"
            elif status in (Status.HEALTHY, Status.UNKNOWN):
                status, detail = Status.DEGRADED, f"pod {state}"
        elif status is Status.UNKNOWN and base.lift_on_ready:
            status, detail = Status.HEALTHY, ""
            evidence.append("pod Ready: the kubelet's probes pass")
        role = None
        if leader is not None:
            role = "leader" if leader and node == leader else "standby"
        out.append(
            Component(
                name,
                Plane.CONTROL,
                status,
                node or None,
                base.version or o.image_tag(pod),
                tuple(evidence),
                detail,
                role,
            )
        )
    return out


def redundancy(name: str, instances: list[Component], with_quorum: bool = False) -> Redundancy:
    placed = [c for c in instances if c.node]
    healthy = sum(1 for c in placed if c.status is Status.HEALTHY)
    down = tuple(sorted(c.node or "" for c in placed if c.status is Status.DOWN))
    quorum = len(placed) // 2 + 1 if with_quorum and placed else None
    return Redundancy(name, len(placed), healthy, down, quorum)
