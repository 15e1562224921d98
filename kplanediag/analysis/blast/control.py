"""Blast-radius entries for the control plane: a component failed (management stops) or some of its
instances (redundancy, quorum left)."""

from __future__ import annotations

from collections import Counter

from kplanediag.analysis import objects as o
from kplanediag.analysis.controlplane.instances import Redundancy
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import CONTROL_PLANE_DOWN, QUORUM_LOST, REDUNDANCY_LOST
from kplanediag.analysis.lastknown import LastKnown
from kplanediag.analysis.model import Affected, BlastEntry, Component, Impact, Impacted, Plane
from kplanediag.analysis.words import plural, running_elsewhere, some
from kplanediag.snapshot.kinds import DaemonSet, Deployment, Pod, ReplicaSet, StatefulSet

Workload = Deployment | StatefulSet | DaemonSet | ReplicaSet


def lags(w: Workload) -> bool:
    """The controller has not caught up with the spec: a new generation, or replicas off target."""
    if isinstance(w, DaemonSet):
        desired, have = w.status.desired_number_scheduled, w.status.current_number_scheduled
    else:
        desired = 1 if w.spec.replicas is None else w.spec.replicas
        have = w.status.replicas
    return w.status.observed_generation < w.metadata.generation or have != desired


def lagging_workloads(idx: ClusterIndex) -> list[Workload]:
    snap = idx.snapshot
    standalone_rs = [rs for rs in snap.replicasets if rs.controller is None]  # others count through their owner
    workloads: list[Workload] = [*snap.deployments, *snap.statefulsets, *snap.daemonsets, *standalone_rs]
    return [w for w in workloads if lags(w)]


def pending_impacts(idx: ClusterIndex, pending: list[Pod]) -> tuple[Impacted, ...]:
    counts = Counter(idx.workload_of(p) for p in pending)
    ready = Counter(idx.workload_of(p) for p in idx.pods if o.pod_ready(p))
    return tuple(
        Impacted(
            kind,
            ns,
            name,
            Impact.OUTAGE if ready[(kind, ns, name)] == 0 else Impact.DEGRADED,
            ready[(kind, ns, name)],
            n,
        )
        for (kind, ns, name), n in sorted(counts.items())
    )


def control_plane_entry(idx: ClusterIndex, name: str, detail: str, known: LastKnown | None = None) -> BlastEntry:
    """``known``: with the API server unreachable, the last known state (dated, never as current)."""
    running = running_elsewhere(idx, set())
    if known is not None and name == "kube-apiserver":
        running = f"running pods keep running ({known.pods_running} when last seen, {known.when})"
    still = [running, "Services keep routing to their current endpoints"]
    breaks, affected = _breaks(idx, name, detail)
    summary = f"{name} {detail}: {breaks[0]}; {still[0]}"
    if known is not None and name == "kube-apiserver":
        still = [*known.lines(), still[1]]
    cls = QUORUM_LOST if detail.startswith("quorum lost") else CONTROL_PLANE_DOWN
    return BlastEntry(
        f"{name} {detail}", Plane.CONTROL, "management", summary, affected, tuple(breaks), tuple(still), cls, name
    )


def _breaks(idx: ClusterIndex, name: str, detail: str) -> tuple[list[str], Affected]:
    """What stops with the control-plane component ``name`` down, and what it affects already."""
    if name == "kube-apiserver":
        if detail != "unreachable":
            return [f"the API server is {detail}: requests may fail or be refused by load balancers"], Affected()
        return [
            "all API reads and writes fail: kubectl, deploys, controllers, the scheduler",
            "kubelets cannot report status: node and pod failures go unnoticed and unhandled",
        ], Affected()
    if name == "etcd":
        return [
            "writes fail: no deploys, scaling, config or status changes",
            "reads are served from the API server's watch cache and may be stale",
            "scheduling and reconciliation stop: controllers cannot write",
        ], Affected()
    if name == "kube-scheduler":
        return _scheduler_breaks(idx)
    if name == "kube-controller-manager":
        return _controller_manager_breaks(idx)
    return ["new nodes are not initialised; LoadBalancer Services and cloud routes are not updated"], Affected()


def _scheduler_breaks(idx: ClusterIndex) -> tuple[list[str], Affected]:
    pending = [p for p in idx.pods if o.pod_pending_unscheduled(p)]
    breaks = [
        f"scheduling stops: {plural(len(pending), 'pod')} pending, new pods stay Pending"
        if idx.has("pods") and pending
        else "scheduling stops: no pod is pending yet, new pods stay Pending"
        if idx.has("pods")
        else "scheduling stops: new pods stay Pending (pods not observed)"
    ]
    affected = Affected(
        pods=len(pending),
        workloads=pending_impacts(idx, pending),
        namespaces=tuple(sorted({p.namespace for p in pending})),
    )
    return breaks, affected


def _controller_manager_breaks(idx: ClusterIndex) -> tuple[list[str], Affected]:
    lagging = lagging_workloads(idx)
    seen = all(idx.has(k) for k in ("deployments", "statefulsets", "daemonsets", "replicasets"))
    names = some([f"{type(w).__name__} {w.key}" for w in lagging])
    breaks = [
        (
            f"reconciliation stops: {plural(len(lagging), 'workload')} lag their spec ({names})"
            if lagging
            else "reconciliation stops: no workload lags its spec yet, but no change will be acted on"
            if seen
            else "reconciliation stops: no change will be acted on (workloads not observed)"
        ),
        "failed nodes are not marked and their pods are not evicted (node lifecycle controller)",
        "ReplicaSets, Jobs, EndpointSlices and garbage collection stop updating",
    ]
    affected = Affected(
        workloads=tuple(Impacted(type(w).__name__, w.namespace, w.name, Impact.DEGRADED, 0, 0) for w in lagging),
        namespaces=tuple(sorted({w.namespace for w in lagging})),
    )
    return breaks, affected


def redundancy_entry(idx: ClusterIndex, red: Redundancy, components: tuple[Component, ...]) -> BlastEntry:
    """Some instances of a replicated control-plane component are down, enough are left."""
    name, where = red.component, ", ".join(red.down_nodes)
    left = red.healthy
    if name == "etcd":
        spare = left - (red.quorum or 0)
        summary = (
            f"{left} of {red.total} etcd members healthy: writes work; {plural(spare + 1, 'more failure')} "
            "stop all writes"
        )
        breaks = [f"etcd on {where} is down: {left}/{red.total} members, quorum {red.quorum}"]
        if spare == 0:
            breaks.append("no failure tolerance left: one more member down stops every write")
        still = ["writes work: a quorum of etcd members is healthy", "reads and the API keep working"]
    elif name == "kube-apiserver":
        summary = f"{left} of {red.total} API servers healthy: the API keeps serving through them"
        breaks = [f"clients pointed straight at {where} fail (load balancers drop it by its /readyz)"]
        still = [f"the other {plural(left, 'API server')} serve reads and writes"]
    else:
        leader = next((c.node for c in components if c.name == name and c.role == "leader" and c.node), None)
        summary = f"{left} of {red.total} {name} instances healthy: redundancy reduced"
        breaks = [f"{name} on {where} is down: one failover fewer"]
        still = [
            f"{name}: the leader on {leader} keeps working"
            if leader
            else f"{name}: {plural(left, 'instance')} left to lead"
        ]
    still.append(running_elsewhere(idx, set()))
    return BlastEntry(
        f"{name} down on {where}",
        Plane.CONTROL,
        "management",
        summary,
        Affected(nodes=red.down_nodes),
        tuple(breaks),
        tuple(still),
        REDUNDANCY_LOST,
        name,
    )
