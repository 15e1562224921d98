"""Node-level add-ons: the CNI and kube-proxy per node, found from their DaemonSets or their pods
(DaemonSet pods whose DaemonSet object is not in the input, static kube-proxy pods), and what their
absence means on the recognised distribution profile."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.profiles import Expect
from kplanediag.analysis.model import Component, Finding, Plane, Status
from kplanediag.snapshot.kinds import Pod


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
    CniKind("openshift-sdn", frozenset({"sdn"}), frozenset({("app", "sdn")})),
)
KUBE_PROXY_LABELS = frozenset({("k8s-app", "kube-proxy"), ("component", "kube-proxy")})


@dataclass(frozen=True)
class Daemon:
    """A per-node add-on: a DaemonSet (its object, or only its pods), or static pods of one kind."""

    key: str  # "DaemonSet kube-system/kube-proxy" | "static pods kube-system/kube-proxy-<node>"
    name: str
    labels: frozenset[tuple[str, str]]
    pods: dict[str, Pod]  # by node


def daemons(idx: ClusterIndex) -> list[Daemon]:
    """Every DaemonSet with its pods by node, from the objects and from pods' owner references."""
    found: dict[tuple[str, str], Daemon] = {}
    for ds in idx.snapshot.daemonsets:
        selector = ds.spec.selector.match_labels.items() if ds.spec.selector else ()
        labels = frozenset(ds.labels.items()) | frozenset(selector)
        found[(ds.namespace, ds.name)] = Daemon(f"DaemonSet {ds.key}", ds.name, labels, {})
    static: dict[str, Pod] = {}
    for (namespace, name), pods in idx.daemon_pods.items():
        daemon = found.get((namespace, name))
        if daemon is None:
            daemon = Daemon(f"DaemonSet {namespace}/{name} (its pods)", name, frozenset(pods[0].labels.items()), {})
            found[(namespace, name)] = daemon
        daemon.pods.update((p.spec.node_name, p) for p in pods if p.spec.node_name)
    for pod in idx.unowned_system_pods:
        if pod.spec.node_name and KUBE_PROXY_LABELS & set(pod.labels.items()):
            static[pod.spec.node_name] = pod
    out = list(found.values())
    if static:
        out.append(Daemon("static pods kube-system/kube-proxy-<node>", "kube-proxy", KUBE_PROXY_LABELS, static))
    return out


def recognise_cni(daemon: Daemon) -> CniKind | None:
    by_name = next((c for c in CNIS if daemon.name in c.daemonsets), None)
    return by_name or next((c for c in CNIS if c.labels & daemon.labels), None)


def is_kube_proxy(daemon: Daemon) -> bool:
    return daemon.name == "kube-proxy" or bool(KUBE_PROXY_LABELS & daemon.labels)


def per_node(
    nodes: dict[str, NodeState], daemon: Daemon, component: str, code: str, what_breaks: str
) -> tuple[list[Component], list[Finding]]:
    components: list[Component] = []
    findings: list[Finding] = []
    for node_name in sorted(nodes):
        pod = daemon.pods.get(node_name)
        evidence = [daemon.key]
        version = o.image_tag(pod) if pod else None
        told = component == "cni" and nodes[node_name].network_down
        if nodes[node_name].silent:  # the kubelet posts nothing: its pods' states are not current
            status, detail = Status.UNKNOWN, "not observable: kubelet silent"
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
        if not told:  # else the kubelet's word that the network plugin is not ready is the node's CNI component
            components.append(Component(component, Plane.DATA, status, node_name, version, tuple(evidence), detail))
    return components, findings


def unseen(component: str, detail: str, evidence: str) -> Component:
    """A component not observed: listed as unknown, never dropped."""
    return Component(component, Plane.DATA, Status.UNKNOWN, None, None, (evidence,), detail)


def assess_node_addons(
    idx: ClusterIndex, dist: Distribution, nodes: dict[str, NodeState]
) -> tuple[list[Component], list[Finding]]:
    components: list[Component] = []
    findings: list[Finding] = []
    if not idx.has("pods") or not nodes:
        return components, findings  # a gap, recorded by the report, or no node to say anything of
    profile = dist.profile
    where = f"profile {profile.name}: {', '.join(dist.evidence) or 'no distribution signal'}"
    found = daemons(idx)
    cnis = [(d, kind) for d in found if (kind := recognise_cni(d))]
    for daemon, _kind in cnis:
        comps, more = per_node(nodes, daemon, "cni", "KPD-310", "pod networking")
        components += comps
        findings += more
    if not cnis and profile.cni is Expect.EMBEDDED:
        components.append(
            unseen("cni", f"embedded in the {profile.title} process: not visible on {profile.title}", where)
        )
    elif not cnis:
        components.append(unseen("cni", "no recognised CNI pods: pod networking is not verified", where))
        findings.append(finding("KPD-311", "cluster", "no recognised CNI DaemonSet: pod networking is not verified"))
    proxies = [d for d in found if is_kube_proxy(d)]
    if proxies:
        # one kube-proxy per node, whichever way it runs: GKE keeps an empty kube-proxy DaemonSet (its
        # nodeSelector matches no node) beside the static pods that do the work
        pods = {node: pod for d in proxies for node, pod in d.pods.items()}
        merged = Daemon(
            "; ".join(d.key for d in proxies if d.pods) or proxies[0].key, "kube-proxy", KUBE_PROXY_LABELS, pods
        )
        comps, more = per_node(nodes, merged, "kube-proxy", "KPD-300", "Service routing from pods")
        components += comps
        findings += more
    if proxies:
        return components, findings
    replacement = next((kind.name for _, kind in cnis if kind.replaces_kube_proxy), None)
    if replacement:
        findings.append(
            finding(
                "KPD-301",
                "cluster",
                f"no kube-proxy: Service routing is done by {replacement} (kube-proxy replacement)",
            )
        )
    elif profile.kube_proxy is Expect.EMBEDDED:
        components.append(
            unseen("kube-proxy", f"embedded or replaced on {profile.title}: not visible on {profile.title}", where)
        )
    elif profile.kube_proxy is Expect.OPTIONAL:
        components.append(unseen("kube-proxy", f"no kube-proxy pods: not required on {profile.title}", where))
    else:
        findings.append(
            finding(
                "KPD-302",
                "cluster",
                "no kube-proxy DaemonSet and no CNI known to replace it: Service routing is not verified",
            )
        )
    return components, findings
