"""Blast radius: one entry per current failure, saying what breaks, what is degraded, what still works.

Control-plane failures stop management (scope "management"); node failures hit the pods, workloads
and Services on those nodes (scope "node"); CoreDNS down hits name resolution everywhere ("cluster").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from kplanediag.analysis import objects as o
from kplanediag.analysis.controlplane.instances import Redundancy
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.impact import is_component_pod, node_loss
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import Affected, BlastEntry, Component, Finding, Impact, Impacted, Plane, Status
from kplanediag.snapshot.kinds import DaemonSet, Deployment, Pod, ReplicaSet, StatefulSet

UNREACHABLE_TOLERATION = "node.kubernetes.io/unreachable"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def some(names: list[str], limit: int = 5) -> str:
    """At most ``limit`` names, then how many more: keeps summaries one line on big clusters."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def running_elsewhere(idx: ClusterIndex, failed: set[str]) -> str:
    if not idx.snapshot.reachable or not idx.has("pods"):
        return "running pods keep running (not counted: pods not observed)"
    running = [
        p for p in idx.pods if p.spec.node_name and p.spec.node_name not in failed and p.status.phase == "Running"
    ]
    nodes = {p.spec.node_name for p in running}
    return f"{plural(len(running), 'pod')} on {plural(len(nodes), 'node')} keep running"


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


def control_plane_entry(idx: ClusterIndex, name: str, detail: str) -> BlastEntry:
    still = [running_elsewhere(idx, set()), "Services keep routing to their current endpoints"]
    affected = Affected()
    if name == "kube-apiserver":
        breaks = [
            "all API reads and writes fail: kubectl, deploys, controllers, the scheduler",
            "kubelets cannot report status: node and pod failures go unnoticed and unhandled",
        ]
        if detail != "unreachable":
            breaks = [f"the API server is {detail}: requests may fail or be refused by load balancers"]
    elif name == "etcd":
        breaks = [
            "writes fail: no deploys, scaling, config or status changes",
            "reads are served from the API server's watch cache and may be stale",
            "scheduling and reconciliation stop: controllers cannot write",
        ]
    elif name == "kube-scheduler":
        pending = [p for p in idx.pods if o.pod_pending_unscheduled(p)]
        breaks = [
            f"scheduling stops: {plural(len(pending), 'pod')} pending, new pods stay Pending"
            if idx.has("pods")
            else "scheduling stops: new pods stay Pending (pods not observed)"
        ]
        affected = Affected(
            pods=len(pending),
            workloads=pending_impacts(idx, pending),
            namespaces=tuple(sorted({p.namespace for p in pending})),
        )
    elif name == "kube-controller-manager":
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
    else:
        breaks = ["new nodes are not initialised; LoadBalancer Services and cloud routes are not updated"]
    summary = f"{name} {detail}: {breaks[0]}; {still[0]}"
    return BlastEntry(f"{name} {detail}", Plane.CONTROL, "management", summary, affected, tuple(breaks), tuple(still))


def eviction_note(idx: ClusterIndex, failed: set[str], kcm_ok: bool) -> str:
    if not kcm_ok:
        return "pods on the failed nodes are not evicted or rescheduled: the controller-manager is down"
    seconds = [
        t.toleration_seconds
        for n in failed
        for p in idx.pods_by_node.get(n, [])
        for t in p.spec.tolerations
        if t.key == UNREACHABLE_TOLERATION and t.toleration_seconds is not None
    ]
    when = f"after {min(seconds)}s (their unreachable toleration)" if seconds else "when their tolerations expire"
    return f"controller-managed pods on the failed nodes are evicted and rescheduled {when}"


def node_entry(idx: ClusterIndex, failed: dict[str, str], kcm_ok: bool, removed: dict[str, str]) -> BlastEntry:
    nodes = set(failed)
    what = some([f"{n} ({r})" for n, r in sorted(failed.items())])
    if not idx.has("pods"):
        unknown = (
            f"pods, workloads and Services on {some(sorted(nodes))} are hit, but cannot be counted: pods not observed",
        )
        summary = f"{plural(len(nodes), 'node')} failing ({some(sorted(nodes))}): impact unknown (pods not observed)"
        return BlastEntry(
            f"node failure: {what}",
            Plane.DATA,
            "node",
            summary,
            Affected(nodes=tuple(sorted(nodes))),
            unknown,
            (running_elsewhere(idx, nodes),),
        )
    affected = node_loss(idx, nodes)
    outage = [w for w in affected.workloads if w.impact is Impact.OUTAGE]
    degraded = [w for w in affected.workloads if w.impact is Impact.DEGRADED]
    svc_out = [s for s in affected.services if s.impact is Impact.OUTAGE]
    breaks = [f"{plural(affected.pods, 'pod')} on {some(sorted(nodes))} no longer serve"]
    if outage:
        breaks.append(
            "outage (no ready replica elsewhere): " + some([f"{w.kind} {w.namespace}/{w.name}" for w in outage], 10)
        )
    if degraded:
        breaks.append(
            "degraded (replicas left elsewhere): " + some([f"{w.kind} {w.namespace}/{w.name}" for w in degraded], 10)
        )
    if affected.services:
        services = [
            f"{s.namespace}/{s.name} ({s.impact.value}, {s.ready_elsewhere} ready left)" for s in affected.services
        ]
        breaks.append("Services " + some(services, 10))
    if affected.disruption_budgets:
        breaks.append("PodDisruptionBudgets violated: " + some(list(affected.disruption_budgets), 10))
    still = [running_elsewhere(idx, nodes), eviction_note(idx, nodes, kcm_ok)]
    if removed:
        still.append("expected: " + some([f"{n} is being removed by {who}" for n, who in sorted(removed.items())]))
    summary = (
        f"{plural(len(nodes), 'node')} failing ({some(sorted(nodes))}): {plural(affected.pods, 'pod')} lost, "
        f"{len(outage)} workload outage(s), {len(degraded)} degraded, {len(svc_out)} Service(s) without endpoints"
    )
    return BlastEntry(f"node failure: {what}", Plane.DATA, "node", summary, affected, tuple(breaks), tuple(still))


def addon_entry(idx: ClusterIndex, comp: Component, failed: set[str]) -> BlastEntry:
    node = comp.node or ""
    if comp.name == "cni":
        affected = node_loss(idx, {node})
        breaks = [f"pod networking on {node}: its {plural(affected.pods, 'pod')} cannot reach or be reached"]
        still = [running_elsewhere(idx, {node}), f"pods on {node} keep running but are cut off"]
    else:
        pods = idx.pods_by_node.get(node, [])
        work = {idx.workload_of(p) for p in pods if not is_component_pod(idx, p)}
        affected = Affected(
            nodes=(node,),
            pods=len(pods),
            namespaces=tuple(sorted({p.namespace for p in pods})),
            workloads=tuple(Impacted(k, ns, n, Impact.DEGRADED, 0, 0) for k, ns, n in sorted(work)),
        )
        breaks = [
            f"Service routing from {node}: its {plural(len(pods), 'pod')} cannot reach Services by ClusterIP",
            f"NodePort and LoadBalancer traffic arriving at {node} fails",
        ]
        still = [f"pods on {node} keep running and are reachable by pod IP", "Service routing from the other nodes"]
    summary = f"{comp.name} down on {node}: {breaks[0]}"
    return BlastEntry(f"{comp.name} down on {node}", Plane.DATA, "node", summary, affected, tuple(breaks), tuple(still))


def uses_cluster_dns(pod: Pod) -> bool:
    """ClusterFirst resolves through cluster DNS, except on the host network (there it means Default)."""
    policy = pod.spec.dns_policy or "ClusterFirst"
    if policy == "ClusterFirst":
        return not pod.spec.host_network
    return policy == "ClusterFirstWithHostNet"


def dns_entry(idx: ClusterIndex) -> BlastEntry:
    users = [p for p in idx.pods if p.spec.node_name and uses_cluster_dns(p) and not is_component_pod(idx, p)]
    namespaces = tuple(sorted({p.namespace for p in users}))
    affected = Affected(nodes=tuple(sorted({p.spec.node_name for p in users})), pods=len(users), namespaces=namespaces)
    breaks = [
        f"name resolution fails for {plural(len(users), 'pod')} in {plural(len(namespaces), 'namespace')}: "
        "Service discovery by name fails cluster-wide"
    ]
    still = [
        "traffic by IP (ClusterIP, pod IP) keeps working",
        "connections already open keep working",
        running_elsewhere(idx, set()),
    ]
    return BlastEntry(
        "coredns down", Plane.DATA, "cluster", f"CoreDNS down: {breaks[0]}", affected, tuple(breaks), tuple(still)
    )


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
        still = [f"the leader on {leader} keeps working" if leader else f"{plural(left, 'instance')} left to lead"]
    still.append(running_elsewhere(idx, set()))
    return BlastEntry(
        f"{name} down on {where}",
        Plane.CONTROL,
        "management",
        summary,
        Affected(nodes=red.down_nodes),
        tuple(breaks),
        tuple(still),
    )


def blast_radius(
    idx: ClusterIndex,
    components: tuple[Component, ...],
    findings: tuple[Finding, ...],
    nodes: dict[str, NodeState],
    redundancy: tuple[Redundancy, ...] = (),
    dist: Distribution | None = None,
) -> tuple[BlastEntry, ...]:
    entries: list[BlastEntry] = []
    codes = {f.code for f in findings}
    cp_down: dict[str, str] = {}
    for comp in components:
        if comp.plane is Plane.CONTROL and comp.status is Status.DOWN:
            cp_down.setdefault(comp.name, comp.detail)
    if "KPD-102" in codes and "kube-apiserver" not in cp_down:
        cp_down["kube-apiserver"] = "readyz failing"
    replicated = {r.component: r for r in redundancy}
    whole = {c.name for c in components if c.plane is Plane.CONTROL and c.status is Status.DOWN and not c.node}
    for name in ("kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "cloud-controller-manager"):
        red = replicated.get(name)
        if red is not None and red.partial and red.healthy > 0 and name not in whole and "KPD-120" not in codes:
            entries.append(redundancy_entry(idx, red, components))
            cp_down.pop(name, None)
        elif red is not None and red.quorum_lost and red.total > 1:
            entries.append(control_plane_entry(idx, name, f"quorum lost ({red.healthy}/{red.total} healthy)"))
            cp_down.pop(name, None)
        elif name in cp_down:
            entries.append(control_plane_entry(idx, name, cp_down[name] or "down"))
    failed = {n: s.reason for n, s in nodes.items() if s.failing}
    if failed:
        removed = {n: s.removed_by for n, s in nodes.items() if s.failing and s.removed_by}
        entry = node_entry(idx, failed, "kube-controller-manager" not in cp_down, removed)
        hosted = sorted({c.name for c in components if c.plane is Plane.CONTROL and c.node in failed})
        if dist is not None and dist.single_node:
            lost = f" ({', '.join(hosted)})" if hosted else ""
            extra = f"single-node cluster: the control plane{lost} runs on this node too and goes with it"
            entry = replace(entry, breaks=(*entry.breaks, extra))
        elif hosted:
            entry = replace(
                entry, breaks=(*entry.breaks, f"control-plane instances on it are lost: {', '.join(hosted)}")
            )
        entries.append(entry)
    for comp in components:
        if comp.name in ("cni", "kube-proxy") and comp.status is Status.DOWN:
            entries.append(addon_entry(idx, comp, set(failed)))
        if comp.name == "coredns" and comp.status is Status.DOWN:
            entries.append(dns_entry(idx))
    return tuple(entries)
