"""Control-plane instances: one Component per pod of a component (static or mirror pods), judged by
its node and its readiness on top of what the API-level evidence says; and the redundancy left."""

from __future__ import annotations

from collections.abc import Callable
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
    name: str,
    base: Base,
    pods: list[Pod],
    nodes: dict[str, NodeState],
    leader: str | None = None,
    serving: Callable[[str], bool | None] | None = None,
    cluster_wide: bool = False,
    answered: bool = False,
) -> list[Component]:
    """One Component per pod. Among several instances, each is judged by its own pod, node and (API
    servers) whether it serves; a cluster-level failure (a failing check answered through a load
    balancer, by an unknown instance; ``cluster_wide``) degrades the running ones instead of downing
    them all. An
    instance on a node whose kubelet is silent cannot be observed: unknown, unless ``serving`` knows, or
    ``answered`` (the API server answered this check, or wrote the file's objects) and it is the only one:
    evidence outranks inference. A node NotReady with a kubelet still posting: its pods' states are current."""
    if not pods:
        return [Component(name, Plane.CONTROL, base.status, None, base.version, base.evidence, base.detail)]
    out = []
    several = len(pods) > 1
    for pod in sorted(pods, key=lambda p: p.spec.node_name):
        node, state = pod.spec.node_name, o.pod_state(pod)
        evidence = [*base.evidence, f"pod {pod.key} ({state})"]
        serves = serving(node) if serving is not None else None
        status, detail = _instance(
            base, node, state, nodes.get(node), serves, evidence, several, cluster_wide, answered
        )
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


def _instance(
    base: Base,
    node: str,
    state: str,
    node_state: NodeState | None,
    serves: bool | None,
    evidence: list[str],
    several: bool,
    cluster_wide: bool,
    answered: bool,
) -> tuple[Status, str]:
    """One instance's status and detail, as ``judge`` says; what it relied on is added to ``evidence``."""
    status, detail = base.status, base.detail
    if cluster_wide and several and status in (Status.DOWN, Status.DEGRADED):
        status, detail = Status.DEGRADED, f"{base.detail} (cluster-wide: which instance is not known)"
    if serves is False:
        evidence.append("the API servers' lease-based endpoint reconciler lists only live ones")
        return Status.DOWN, "not serving: missing from the kubernetes Service endpoints"
    if node_state is not None and node_state.silent:
        if serves:
            return Status.HEALTHY, f"serving (in the kubernetes Service endpoints); node {node} failing"
        if answered and not several:
            evidence.append("the API server served the lists: it was alive then")
            return Status.HEALTHY, f"answered this check (the only API server); kubelet on {node} silent"
        if cluster_wide and not several and base.status is Status.DOWN:
            # the only instance, and a check that reaches it failed: that is evidence, the silence is not
            return Status.DOWN, f"{base.detail}; kubelet on {node} silent"
        return Status.UNKNOWN, f"not observable: kubelet on {node} silent ({node_state.reason})"
    if state != "Ready":
        if several:
            return Status.DOWN, f"pod {state}"
        if status in (Status.HEALTHY, Status.UNKNOWN):
            return Status.DEGRADED, f"pod {state}"
    elif status is Status.UNKNOWN and base.lift_on_ready:
        evidence.append("pod Ready: the kubelet's probes pass")
        return Status.HEALTHY, ""
    return status, detail


RUNNING = (Status.HEALTHY, Status.DEGRADED)


def redundancy(name: str, instances: list[Component], with_quorum: bool = False) -> Redundancy:
    """Instances running (healthy, or degraded by a cluster-wide failure) and those not seen running."""
    placed = [c for c in instances if c.node]
    healthy = sum(1 for c in placed if c.status in RUNNING)
    down = tuple(sorted(c.node or "" for c in placed if c.status not in RUNNING))
    quorum = len(placed) // 2 + 1 if with_quorum and placed else None
    return Redundancy(name, len(placed), healthy, down, quorum)
