"""What losing a set of nodes does to application workloads, Services and PodDisruptionBudgets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kplanediag.analysis import objects as o
from kplanediag.analysis.addons import DNS_LABEL, is_kube_proxy, recognise_cni
from kplanediag.analysis.index import ClusterIndex, WorkloadKey
from kplanediag.analysis.model import Affected, Impact, Impacted
from kplanediag.snapshot import Obj

Backend = tuple[str, str, bool]  # (identity, node, ready)


def is_component_pod(idx: ClusterIndex, pod: Obj) -> bool:
    """Control-plane static pods, kube-proxy, CNI and CoreDNS pods: components, not workloads."""
    lab = o.labels(pod)
    if o.namespace(pod) == "kube-system" and (
        lab.get("tier") == "control-plane" or lab.get(DNS_LABEL[0]) == DNS_LABEL[1]
    ):
        return True
    kind, ns, owner = idx.workload_of(pod)
    if kind != "DaemonSet":
        return False
    ds = next((d for d in idx.snapshot.items("daemonsets") if o.namespace(d) == ns and o.name(d) == owner), None)
    return ds is not None and (is_kube_proxy(ds) or recognise_cni(ds) is not None)


def usable(pod: Obj, failed: set[str]) -> bool:
    return o.pod_ready(pod) and o.pod_node(pod) not in failed


def workload_impacts(idx: ClusterIndex, pods_hit: Iterable[Obj], failed: set[str]) -> tuple[Impacted, ...]:
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


def service_backends(idx: ClusterIndex, svc: Obj) -> list[Backend]:
    """A Service's endpoints from its EndpointSlices, or from its selector when slices are a gap."""
    ns, name = o.namespace(svc), o.name(svc)
    if idx.has("endpointslices"):
        seen: dict[str, Backend] = {}
        for es in idx.slices_by_service.get((ns, name), []):
            for ep in es.get("endpoints") or []:
                ident = str((ep.get("targetRef") or {}).get("name") or ",".join(ep.get("addresses") or []))
                ready = bool((ep.get("conditions") or {}).get("ready"))
                seen[ident] = (ident, str(ep.get("nodeName") or ""), ready)
        return list(seen.values())
    selector = o.spec(svc).get("selector")
    if not selector:
        return []
    return [
        (o.name(p), o.pod_node(p), o.pod_ready(p))
        for p in idx.pods_by_namespace.get(ns, [])
        if o.selector_matches({"matchLabels": selector}, o.labels(p))
    ]


def service_impacts(idx: ClusterIndex, failed: set[str]) -> tuple[Impacted, ...]:
    out = []
    for svc in idx.snapshot.items("services"):
        if (o.namespace(svc), o.name(svc)) == ("default", "kubernetes"):
            continue
        backends = service_backends(idx, svc)
        lost = sum(1 for _, node, _ in backends if node in failed)
        if lost:
            remaining = sum(1 for _, node, ready in backends if ready and node not in failed)
            impact = Impact.OUTAGE if remaining == 0 else Impact.DEGRADED
            out.append(Impacted("Service", o.namespace(svc), o.name(svc), impact, remaining, lost))
    return tuple(sorted(out, key=lambda s: (s.impact is not Impact.OUTAGE, s.namespace, s.name)))


def desired_healthy(pdb: Obj, expected: int) -> int:
    st, sp = o.status(pdb), o.spec(pdb)
    if "desiredHealthy" in st:
        return o.int_field(st, "desiredHealthy")

    def resolve(value: object) -> int:
        if isinstance(value, str) and value.endswith("%"):
            return -(-int(value[:-1]) * expected // 100)  # rounded up, as the disruption controller does
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0

    if "minAvailable" in sp:
        return resolve(sp["minAvailable"])
    if "maxUnavailable" in sp:
        return max(0, expected - resolve(sp["maxUnavailable"]))
    return 0


def violated_budgets(idx: ClusterIndex, failed: set[str]) -> tuple[str, ...]:
    lost: dict[str, list[Obj]] = defaultdict(list)
    for node in failed:
        for pod in idx.pods_by_node.get(node, []):
            lost[o.namespace(pod)].append(pod)
    out = []
    for pdb in idx.snapshot.items("poddisruptionbudgets"):
        ns, selector = o.namespace(pdb), o.spec(pdb).get("selector")
        # cheap test first: does the budget cover any pod on the failed nodes at all?
        if not any(o.selector_matches(selector, o.labels(p)) for p in lost.get(ns, [])):
            continue
        matched = [p for p in idx.pods_by_namespace.get(ns, []) if o.selector_matches(selector, o.labels(p))]
        healthy = sum(1 for p in matched if usable(p, failed))
        need = desired_healthy(pdb, o.int_field(o.status(pdb), "expectedPods", len(matched)))
        if healthy < need:
            out.append(f"{o.key(pdb)} ({healthy} healthy, needs {need})")
    return tuple(sorted(out))


def node_loss(idx: ClusterIndex, failed: set[str], *, services: bool = True) -> Affected:
    """The impact of the pods on ``failed`` nodes no longer serving."""
    pods = [p for n in sorted(failed) for p in idx.pods_by_node.get(n, [])]
    return Affected(
        nodes=tuple(sorted(failed)),
        pods=len(pods),
        workloads=workload_impacts(idx, pods, failed),
        services=service_impacts(idx, failed) if services else (),
        namespaces=tuple(sorted({o.namespace(p) for p in pods})),
        disruption_budgets=violated_budgets(idx, failed) if services else (),
    )
