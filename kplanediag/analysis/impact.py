"""What losing a set of nodes does to application workloads, Services and PodDisruptionBudgets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.addons import Daemon, is_kube_proxy, recognise_cni
from kplanediag.analysis.dataplane.dns import DNS_LABEL
from kplanediag.analysis.index import ClusterIndex, WorkloadKey
from kplanediag.analysis.model import Affected, Impact, Impacted
from kplanediag.snapshot.kinds import Pod, PodDisruptionBudget, Service

Backend = tuple[str, str, bool]  # (identity, node, ready)


def is_component_pod(idx: ClusterIndex, pod: Pod) -> bool:
    """Control-plane static pods, kube-proxy, CNI and CoreDNS pods: components, not workloads."""
    lab = pod.labels
    if pod.namespace == "kube-system" and (lab.get("tier") == "control-plane" or lab.get(DNS_LABEL[0]) == DNS_LABEL[1]):
        return True
    kind, ns, owner = idx.workload_of(pod)
    if kind == "Node":
        return True  # a mirror pod: static pods are node components
    if kind != "DaemonSet":
        return False
    ds = idx.daemonsets.get((ns, owner))
    labels = frozenset(lab.items()) | (frozenset(ds.labels.items()) if ds else frozenset())
    daemon = Daemon(f"DaemonSet {ns}/{owner}", owner, labels, {})
    return is_kube_proxy(daemon) or recognise_cni(daemon) is not None


def usable(pod: Pod, failed: set[str]) -> bool:
    return o.pod_ready(pod) and pod.spec.node_name not in failed


def workload_impacts(idx: ClusterIndex, pods_hit: Iterable[Pod], failed: set[str]) -> tuple[Impacted, ...]:
    hit: dict[WorkloadKey, int] = defaultdict(int)
    for pod in pods_hit:
        if not is_component_pod(idx, pod):
            hit[idx.workload_of(pod)] += 1
    if not hit:
        return ()
    ready_elsewhere: dict[WorkloadKey, int] = defaultdict(int)
    for pod in idx.pods:
        if usable(pod, failed):
            ready_elsewhere[idx.workload_of(pod)] += 1
    out = [
        Impacted(
            kind, ns, name, Impact.OUTAGE if ready_elsewhere[key] == 0 else Impact.DEGRADED, ready_elsewhere[key], lost
        )
        for key, lost in hit.items()
        for kind, ns, name in [key]
    ]
    return tuple(sorted(out, key=lambda w: (w.impact is not Impact.OUTAGE, w.namespace, w.kind, w.name)))


def service_backends(idx: ClusterIndex, svc: Service) -> list[Backend]:
    """A Service's endpoints from its EndpointSlices, or from its selector when slices are a gap."""
    ns, name = svc.namespace, svc.name
    if idx.has("endpointslices"):
        seen: dict[str, Backend] = {}
        for es in idx.slices_by_service.get((ns, name), []):
            for ep in es.endpoints:
                ident = (ep.target_ref.name if ep.target_ref else "") or ",".join(ep.addresses)
                seen[ident] = (ident, ep.node_name, ep.conditions.ready is not False)
        return list(seen.values())
    selector = svc.spec.selector
    return [
        (p.name, p.spec.node_name, o.pod_ready(p))
        for p in idx.pods_by_namespace.get(ns, [])
        if o.labels_match(selector, p.labels)
    ]


def service_impacts(idx: ClusterIndex, failed: set[str]) -> tuple[Impacted, ...]:
    out = []
    for svc in idx.snapshot.services:
        if (svc.namespace, svc.name) == ("default", "kubernetes"):
            continue
        backends = service_backends(idx, svc)
        lost = sum(1 for _, node, _ in backends if node in failed)
        if lost:
            remaining = sum(1 for _, node, ready in backends if ready and node not in failed)
            impact = Impact.OUTAGE if remaining == 0 else Impact.DEGRADED
            out.append(Impacted("Service", svc.namespace, svc.name, impact, remaining, lost))
    return tuple(sorted(out, key=lambda s: (s.impact is not Impact.OUTAGE, s.namespace, s.name)))


def desired_healthy(pdb: PodDisruptionBudget, expected: int) -> int:
    if pdb.status is not None and pdb.status.desired_healthy is not None:
        return pdb.status.desired_healthy

    def resolve(value: int | str) -> int:
        if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
            return -(-int(value[:-1]) * expected // 100)  # rounded up, as the disruption controller does
        return int(value) if str(value).isdigit() else 0

    if pdb.spec.min_available is not None:
        return resolve(pdb.spec.min_available)
    if pdb.spec.max_unavailable is not None:
        return max(0, expected - resolve(pdb.spec.max_unavailable))
    return 0


def violated_budgets(idx: ClusterIndex, failed: set[str]) -> tuple[str, ...]:
    lost: dict[str, list[Pod]] = defaultdict(list)
    for node in failed:
        for pod in idx.pods_by_node.get(node, []):
            lost[pod.namespace].append(pod)
    out = []
    for pdb in idx.snapshot.poddisruptionbudgets:
        ns, selector = pdb.namespace, pdb.spec.selector
        # cheap test first: does the budget cover any pod on the failed nodes at all?
        if not any(o.selector_matches(selector, p.labels) for p in lost.get(ns, [])):
            continue
        matched = [p for p in idx.pods_by_namespace.get(ns, []) if o.selector_matches(selector, p.labels)]
        healthy = sum(1 for p in matched if usable(p, failed))
        expected = pdb.status.expected_pods if pdb.status and pdb.status.expected_pods is not None else len(matched)
        need = desired_healthy(pdb, expected)
        if healthy < need:
            out.append(f"{pdb.key} ({healthy} healthy, needs {need})")
    return tuple(sorted(out))


def node_loss(idx: ClusterIndex, failed: set[str], *, services: bool = True) -> Affected:
    """The impact of the pods on ``failed`` nodes no longer serving."""
    pods = [p for n in sorted(failed) for p in idx.pods_by_node.get(n, [])]
    return Affected(
        nodes=tuple(sorted(failed)),
        pods=len(pods),
        workloads=workload_impacts(idx, pods, failed),
        services=service_impacts(idx, failed) if services else (),
        namespaces=tuple(sorted({p.namespace for p in pods})),
        disruption_budgets=violated_budgets(idx, failed) if services else (),
    )
