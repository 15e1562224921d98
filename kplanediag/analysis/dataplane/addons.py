"""Node-level add-ons: kube-proxy and the CNI DaemonSet per node, and cluster DNS (CoreDNS)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Plane, Status
from kplanediag.snapshot.kinds import DaemonSet, Pod


@dataclass(frozen=True)
class CniKind:
    name: str
    daemonsets: frozenset[str]
    labels: frozenset[tuple[str, str]]
    replaces_kube_proxy: bool = False


CNIS = (
    CniKind("kindnet", frozenset({"kindnet"}), frozenset({("app", "kindnet")})),
    CniKind("calico", frozenset({"calico-node"}), frozenset({("k8s-app", "calico-node")})),
    CniKind("cilium", frozenset({"cilium", "anetd"}), frozenset({("k8s-app", "cilium")}), replaces_kube_proxy=True),
    CniKind("flannel", frozenset({"kube-flannel-ds", "kube-flannel"}), frozenset({("app", "flannel")})),
    CniKind("canal", frozenset({"canal"}), frozenset({("k8s-app", "canal")})),
    CniKind("weave", frozenset({"weave-net"}), frozenset({("name", "weave-net")})),
    CniKind("aws-node", frozenset({"aws-node"}), frozenset({("k8s-app", "aws-node")})),
    CniKind("azure-cni", frozenset({"azure-cns", "azure-cni"}), frozenset({("k8s-app", "azure-cns")})),
    CniKind(
        "antrea", frozenset({"antrea-agent"}), frozenset({("component", "antrea-agent")}), replaces_kube_proxy=True
    ),
    CniKind(
        "kube-router", frozenset({"kube-router"}), frozenset({("k8s-app", "kube-router")}), replaces_kube_proxy=True
    ),
    CniKind("ovn-kubernetes", frozenset({"ovnkube-node"}), frozenset({("app", "ovnkube-node")})),
)
DNS_LABEL = ("k8s-app", "kube-dns")


def recognise_cni(ds: DaemonSet) -> CniKind | None:
    selector = ds.spec.selector.match_labels.items() if ds.spec.selector else ()
    lab = set(ds.labels.items()) | set(selector)
    by_name = next((c for c in CNIS if ds.name in c.daemonsets), None)
    return by_name or next((c for c in CNIS if c.labels & lab), None)


def is_kube_proxy(ds: DaemonSet) -> bool:
    return ds.name == "kube-proxy" or ds.labels.get("k8s-app") == "kube-proxy"


def daemon_pods(idx: ClusterIndex, ds: DaemonSet) -> dict[str, Pod]:
    """The DaemonSet's pods by node."""
    out = {}
    for pod in idx.pods_by_namespace.get(ds.namespace, []):
        ref = pod.controller
        if ref and ref.kind == "DaemonSet" and ref.name == ds.name and pod.spec.node_name:
            out[pod.spec.node_name] = pod
    return out


def per_node(
    idx: ClusterIndex, nodes: dict[str, NodeState], ds: DaemonSet, component: str, code: str, what_breaks: str
) -> tuple[list[Component], list[Finding]]:
    components: list[Component] = []
    findings: list[Finding] = []
    pods = daemon_pods(idx, ds)
    for node_name in sorted(nodes):
        pod = pods.get(node_name)
        evidence = [f"DaemonSet {ds.key}"]
        version = o.image_tag(pod) if pod else None
        if nodes[node_name].failing:
            status, detail = Status.UNKNOWN, "node failing"
        elif pod is None:
            status, detail = Status.UNKNOWN, "no pod on this node"
        else:
            state = o.pod_state(pod)
            evidence.append(f"pod {pod.key} ({state})")
            if state == "Ready":
                status, detail = Status.HEALTHY, ""
            else:
                status, detail = Status.DOWN, f"pod {state}"
                findings.append(
                    finding(
                        code,
                        node_name,
                        f"{component} pod {pod.key} on {node_name} is {state}: {what_breaks} on that node fails",
                        component=component,
                    )
                )
        components.append(Component(component, Plane.DATA, status, node_name, version, tuple(evidence), detail))
    return components, findings


def assess_node_addons(idx: ClusterIndex, nodes: dict[str, NodeState]) -> tuple[list[Component], list[Finding]]:
    components: list[Component] = []
    findings: list[Finding] = []
    if not idx.has("daemonsets") or not idx.has("pods"):
        return components, findings  # a gap, recorded by the report; nothing can be said per node
    daemonsets = idx.snapshot.daemonsets
    cnis = [(ds, kind) for ds in daemonsets if (kind := recognise_cni(ds))]
    for ds, _kind in cnis:
        comps, found = per_node(idx, nodes, ds, "cni", "KPD-310", "pod networking")
        components += comps
        findings += found
    if not cnis:
        findings.append(finding("KPD-311", "cluster", "no recognised CNI DaemonSet: pod networking is not verified"))
    proxies = [ds for ds in daemonsets if is_kube_proxy(ds)]
    for ds in proxies:
        comps, found = per_node(idx, nodes, ds, "kube-proxy", "KPD-300", "Service routing from pods")
        components += comps
        findings += found
    if not proxies:
        replacement = next((kind.name for _, kind in cnis if kind.replaces_kube_proxy), None)
        if replacement:
            findings.append(
                finding(
                    "KPD-301",
                    "cluster",
                    f"no kube-proxy: Service routing is done by {replacement} (kube-proxy replacement)",
                )
            )
        else:
            findings.append(
                finding(
                    "KPD-302",
                    "cluster",
                    "no kube-proxy DaemonSet and no CNI known to replace it: Service routing is not verified",
                )
            )
    return components, findings


def dns_ready_endpoints(idx: ClusterIndex, nodes: dict[str, NodeState]) -> int | None:
    slices = idx.slices_by_service.get(("kube-system", "kube-dns"))
    if not idx.has("endpointslices") or slices is None:
        return None
    seen = set()
    for es in slices:
        for ep in es.endpoints:
            node = ep.node_name
            if ep.conditions.ready is not False and not (node in nodes and nodes[node].failing):
                seen.add(ep.addresses)
    return len(seen)


def assess_dns(idx: ClusterIndex, nodes: dict[str, NodeState]) -> tuple[list[Component], list[Finding]]:
    if not idx.has("pods"):
        return [], []
    pods = [p for p in idx.pods_by_namespace.get("kube-system", []) if p.labels.get(DNS_LABEL[0]) == DNS_LABEL[1]]
    deploys = [
        d
        for d in idx.snapshot.deployments
        if d.namespace == "kube-system" and (d.name == "coredns" or d.labels.get(DNS_LABEL[0]) == DNS_LABEL[1])
    ]
    if not pods and not deploys:
        return [], [
            finding("KPD-322", "kube-system", "no CoreDNS (k8s-app=kube-dns) found: cluster DNS is not verified")
        ]
    desired = sum(1 if d.spec.replicas is None else d.spec.replicas for d in deploys) if deploys else len(pods)
    ready = sum(
        1 for p in pods if o.pod_ready(p) and not (p.spec.node_name in nodes and nodes[p.spec.node_name].failing)
    )
    endpoints = dns_ready_endpoints(idx, nodes)
    evidence = [f"Deployment {d.key}" for d in deploys] + [f"{ready}/{desired} replicas ready on healthy nodes"]
    if endpoints is not None:
        evidence.append(f"Service kube-system/kube-dns: {endpoints} ready endpoint(s)")
    version = o.image_tag(pods[0]) if pods else None
    findings = []
    if ready == 0 or endpoints == 0:
        status, detail = Status.DOWN, "no ready replica" if ready == 0 else "no ready endpoint"
        findings.append(
            finding(
                "KPD-320",
                "kube-system/coredns",
                f"CoreDNS is down ({ready}/{desired} ready, "
                f"{endpoints if endpoints is not None else 'unknown'} ready endpoints): "
                "name resolution fails for every workload",
            )
        )
    elif ready < desired:
        status, detail = Status.DEGRADED, f"{ready}/{desired} ready"
        findings.append(finding("KPD-321", "kube-system/coredns", f"CoreDNS has {ready}/{desired} replicas ready"))
    else:
        status, detail = Status.HEALTHY, ""
    return [Component("coredns", Plane.DATA, status, None, version, tuple(evidence), detail)], findings
