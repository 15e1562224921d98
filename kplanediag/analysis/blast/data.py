"""Blast-radius entries for the data plane: failed nodes (their pods, workloads, Services, budgets),
kube-proxy or the CNI down on a node, cluster DNS down."""

from __future__ import annotations

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.dns import DNS_LABEL
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.impact import is_component_pod, node_loss
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import COMPONENT_DOWN, DNS_DEGRADED, DNS_DOWN, NODE_FAILURE
from kplanediag.analysis.model import Affected, BlastEntry, Component, Finding, Impact, Impacted, Plane
from kplanediag.analysis.words import plural, running_elsewhere, some
from kplanediag.snapshot import format_time
from kplanediag.snapshot.kinds import Pod

UNREACHABLE_TOLERATION = "node.kubernetes.io/unreachable"
NOT_READY_TOLERATION = "node.kubernetes.io/not-ready"


def _clock(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def evictable(idx: ClusterIndex, pod: Pod) -> bool:
    """Evicted by the taint manager: not a DaemonSet's or a static (mirror) pod, which tolerate it."""
    kind = idx.workload_of(pod)[0]
    return kind not in ("DaemonSet", "Node")


def eviction_note(idx: ClusterIndex, failed: dict[str, NodeState], kcm_ok: bool) -> str:
    """When the taint-based eviction of the failed nodes' pods happens or happened: the Ready condition's
    transition time plus the pods' tolerationSeconds for the node's taint (read from the pods)."""
    if not kcm_ok:
        return "pods on the failed nodes are not evicted or rescheduled: the controller-manager is down"
    lines = []
    for name, state in sorted(failed.items()):
        key = UNREACHABLE_TOLERATION if state.ready in ("Unknown", "missing") else NOT_READY_TOLERATION
        pods = [p for p in idx.pods_by_node.get(name, []) if evictable(idx, p)]
        seconds = [
            t.toleration_seconds
            for p in pods
            for t in p.spec.tolerations
            if t.key == key and t.effect in ("NoExecute", "") and t.toleration_seconds is not None
        ]
        deleting = sum(1 for p in pods if p.metadata.deletion_timestamp is not None)
        if not pods:
            continue
        if state.since is None or not seconds:
            lines.append(f"controller-managed pods on {name} are evicted when their {key} tolerations expire")
            continue
        due = (state.since - idx.now).total_seconds() + min(seconds)
        if due <= 0:
            marked = (
                f"{deleting} of {plural(len(pods), 'pod')} marked for deletion" if deleting else "no pod marked yet"
            )
            lines.append(
                f"pods on {name} were due for eviction {_clock(-due)} ago ({key} tolerated for {min(seconds)}s): "
                f"{marked}; their controllers start replacements on other nodes"
            )
        else:
            lines.append(
                f"controller-managed pods on {name} are evicted in {_clock(due)} ({key} tolerated for {min(seconds)}s "
                f"since {format_time(state.since)}) and replaced on other nodes"
            )
    if not lines:  # DaemonSet and static pods tolerate the node's taints: nothing to evict or replace
        return "no pod on the failed nodes is evicted: only DaemonSet or static pods run there, which stay"
    return "; ".join(lines[:3]) + (f" and {len(lines) - 3} more nodes" if len(lines) > 3 else "")


def node_entry(idx: ClusterIndex, failed: dict[str, NodeState], kcm_ok: bool, removed: dict[str, str]) -> BlastEntry:
    nodes = set(failed)
    what = some([f"{n} ({s.reason})" for n, s in sorted(failed.items())])
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
            NODE_FAILURE,
            "kubelet",
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
    still = [running_elsewhere(idx, nodes), eviction_note(idx, failed, kcm_ok)]
    if removed:
        still.append("expected: " + some([f"{n} is being removed by {who}" for n, who in sorted(removed.items())]))
    summary = (
        f"{plural(len(nodes), 'node')} failing ({some(sorted(nodes))}): {plural(affected.pods, 'pod')} lost, "
        f"{len(outage)} workload outage(s), {len(degraded)} degraded, {len(svc_out)} Service(s) without endpoints"
    )
    return BlastEntry(
        f"node failure: {what}", Plane.DATA, "node", summary, affected, tuple(breaks), tuple(still), NODE_FAILURE,
        "kubelet",
    )  # fmt: skip


def addon_entry(idx: ClusterIndex, comps: list[Component]) -> BlastEntry:
    """kube-proxy or the CNI agent down on some nodes (their pods not ready): one entry for the nodes it
    is down on, the nodes' kubelets being alive (a silent node's add-ons are its own entry's)."""
    name = comps[0].name
    nodes = sorted({c.node or "" for c in comps})
    where = some(nodes)
    counted = idx.has("pods")
    pods = [p for n in nodes for p in idx.pods_by_node.get(n, [])]
    networked = [p for p in pods if not p.spec.host_network]
    work = {idx.workload_of(p) for p in networked if not is_component_pod(idx, p)}
    affected = Affected(
        nodes=tuple(nodes),
        pods=len(networked),
        namespaces=tuple(sorted({p.namespace for p in networked})),
        workloads=tuple(Impacted(k, ns, n, Impact.DEGRADED, 0, 0) for k, ns, n in sorted(work)),
    )
    states = some([f"{c.node}: {c.detail}" for c in comps], 3)
    if not counted:
        hit = "their pods (not counted: pods not observed)"
    elif networked:
        hit = f"the {plural(len(networked), 'pod')} there on the pod network"
    else:
        hit = "pods started there (none on the pod network runs there now)"
    if name == "cni":
        breaks = [
            f"new pods on {where} may get no network: the network plugin's agent is not ready ({states})",
            f"routes and network policies on {where} stop being updated: {hit} may lose or keep connectivity, "
            "as the plugin's datapath holds",
        ]
        still = [f"hostNetwork pods on {where} keep working", running_elsewhere(idx, set(nodes))]
    else:
        breaks = [
            f"Service routing from {where}: {hit} cannot reach Services by ClusterIP ({states})",
            f"NodePort and LoadBalancer traffic arriving at {where} fails",
        ]
        still = [f"pods on {where} keep running and are reachable by pod IP", "Service routing from the other nodes"]
    summary = f"{name} down on {where}: {breaks[0]}"
    return BlastEntry(
        f"{name} down on {where}", Plane.DATA, "node", summary, affected, tuple(breaks), tuple(still),
        COMPONENT_DOWN, name,
    )  # fmt: skip


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
    counted = (
        f"for {plural(len(users), 'pod')} in {plural(len(namespaces), 'namespace')}"
        if users
        else "for every pod that uses cluster DNS (none running was counted)"
        if idx.has("pods")
        else "for every pod that uses cluster DNS (pods not observed)"
    )
    breaks = [f"name resolution fails {counted}: Service discovery by name fails cluster-wide"]
    still = [
        "traffic by IP (ClusterIP, pod IP) keeps working",
        "connections already open keep working",
        running_elsewhere(idx, set()),
    ]
    return BlastEntry(
        "coredns down", Plane.DATA, "cluster", f"CoreDNS down: {breaks[0]}", affected, tuple(breaks), tuple(still),
        DNS_DOWN, "coredns",
    )  # fmt: skip


def dns_degraded_entry(idx: ClusterIndex, cause: Finding) -> BlastEntry:
    """CoreDNS with some replicas not ready and no node failure to explain it: capacity is reduced."""
    replicas = [p for p in idx.pods_by_namespace.get("kube-system", []) if p.labels.get(DNS_LABEL[0]) == DNS_LABEL[1]]
    down = [f"{p.name} on {p.spec.node_name or 'no node'} ({o.pod_state(p)})" for p in replicas if not o.pod_ready(p)]
    ready = len(replicas) - len(down)
    breaks = [f"DNS capacity reduced: {some(down, 3)} not serving" if down else cause.message]
    still = [
        f"name resolution keeps working through {plural(ready, 'ready replica')}"
        if replicas
        else "name resolution keeps working through the ready replicas",
        running_elsewhere(idx, set()),
    ]
    return BlastEntry(
        "coredns degraded", Plane.DATA, "cluster", f"CoreDNS degraded: {breaks[0]}", Affected(), tuple(breaks),
        tuple(still), DNS_DEGRADED, "coredns", cause.severity, cause,
    )  # fmt: skip
