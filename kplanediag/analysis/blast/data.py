"""Blast-radius entries for the data plane: failed nodes (their pods, workloads, Services, budgets),
kube-proxy or the CNI down on a node, cluster DNS down."""

from __future__ import annotations

from kplanediag.analysis.blast.classes import COMPONENT_DOWN, DNS_DOWN, NODE_FAILURE
from kplanediag.analysis.blast.text import plural, running_elsewhere, some
from kplanediag.analysis.impact import is_component_pod, node_loss
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import Affected, BlastEntry, Component, Impact, Impacted, Plane
from kplanediag.snapshot.kinds import Pod

UNREACHABLE_TOLERATION = "node.kubernetes.io/unreachable"


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
    still = [running_elsewhere(idx, nodes), eviction_note(idx, nodes, kcm_ok)]
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


def addon_entry(idx: ClusterIndex, comp: Component, failed: set[str]) -> BlastEntry:
    node = comp.node or ""
    counted = idx.has("pods")
    if comp.name == "cni":
        affected = node_loss(idx, {node}) if counted else Affected(nodes=(node,))
        its = f"its {plural(affected.pods, 'pod')}" if counted else "its pods (not counted: pods not observed)"
        breaks = [f"pod networking on {node}: {its} cannot reach or be reached"]
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
        its = f"its {plural(len(pods), 'pod')}" if counted else "its pods (not counted: pods not observed)"
        breaks = [
            f"Service routing from {node}: {its} cannot reach Services by ClusterIP",
            f"NodePort and LoadBalancer traffic arriving at {node} fails",
        ]
        still = [f"pods on {node} keep running and are reachable by pod IP", "Service routing from the other nodes"]
    summary = f"{comp.name} down on {node}: {breaks[0]}"
    return BlastEntry(
        f"{comp.name} down on {node}", Plane.DATA, "node", summary, affected, tuple(breaks), tuple(still),
        COMPONENT_DOWN, comp.name,
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
        "coredns down", Plane.DATA, "cluster", f"CoreDNS down: {breaks[0]}", affected, tuple(breaks), tuple(still),
        DNS_DOWN, "coredns",
    )  # fmt: skip
