"""Which distribution profile a cluster matches, on what evidence; whether its control plane is
self-hosted or managed; and the facts every rule asks of it (API version floor, single node)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.knowledge.profiles import PROFILES, UNKNOWN, Leases, PodRule, Profile, Signal
from kplanediag.snapshot import minor_version
from kplanediag.snapshot.kinds import Node, Pod

ROLE_LABELS = (
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
    "node.kubernetes.io/microk8s-controlplane",  # MicroK8s marks its control-plane nodes its own way
)


@dataclass(frozen=True)
class Distribution:
    profile: Profile
    evidence: tuple[str, ...]
    mode: str  # "self-hosted" | "managed" | "unknown"
    mode_evidence: tuple[str, ...]
    api_minor: tuple[int, int] | None  # from /version, else the newest kubelet's (a floor)
    api_minor_exact: bool
    control_plane_nodes: tuple[str, ...]
    node_count: int
    pods: dict[str, list[Pod]]  # the profile's control-plane pods, by component

    @property
    def single_node(self) -> bool:
        """Both planes on one machine: one node, and it runs the control plane."""
        return len(self.control_plane_nodes) == 1 and self.node_count == 1


def is_control_plane_node(node: Node) -> bool:
    lab = node.labels
    return any(k in lab for k in ROLE_LABELS) or lab.get("kubernetes.io/role") == "master"


@dataclass(frozen=True)
class NodeFacts:
    """The distinct node values signals are matched against, each with a node that has it: one pass
    over the nodes, however many profiles and signals are tried."""

    kubelets: dict[str, str]
    providers: dict[str, str]
    labels: dict[str, str]
    images: dict[str, str]

    @classmethod
    def of(cls, idx: ClusterIndex) -> NodeFacts:
        kubelets: dict[str, str] = {}
        providers: dict[str, str] = {}
        labels: dict[str, str] = {}
        images: dict[str, str] = {}
        for node in idx.nodes.values():
            info = node.status.node_info
            kubelets.setdefault(info.kubelet_version, node.name)
            providers.setdefault(node.spec.provider_id.split("://", 1)[0] + "://", node.spec.provider_id)
            images.setdefault(info.os_image, node.name)
            for key in node.labels:
                labels.setdefault(key, node.name)
        return cls(kubelets, providers, labels, images)


def _signal(idx: ClusterIndex, facts: NodeFacts, s: Signal) -> str | None:
    """Evidence that ``s`` matches, or None."""
    if s.field == "kubelet-version":
        version = next((v for v in facts.kubelets if s.value in v), None)
        return f"kubelet {version} on {facts.kubelets[version]}" if version is not None else None
    if s.field == "provider-id":
        scheme = next((p for p in facts.providers if p.startswith(s.value)), None)
        return f"providerID {facts.providers[scheme]}" if scheme is not None else None
    if s.field == "node-label":
        return f"node label {s.value} on {facts.labels[s.value]}" if s.value in facts.labels else None
    if s.field == "node-label-prefix":
        key = next((k for k in facts.labels if k.startswith(s.value)), None)
        return f"node labels {s.value}* on {facts.labels[key]}" if key is not None else None
    if s.field == "os-image":
        image = next((i for i in facts.images if i.startswith(s.value)), None)
        return f"OS image {image} on {facts.images[image]}" if image is not None else None
    if s.field == "namespace" and idx.pods_by_namespace.get(s.value):
        return f"pods in namespace {s.value}"
    if s.field == "daemon":
        pods = idx.daemon_pods.get(("kube-system", s.value))
        if pods:
            return f"DaemonSet {s.value} pod {pods[0].key}"
    if s.field == "static-pods":
        found = sorted({p.labels["component"] for p in idx.unowned_system_pods if _kubeadm(p)})
        if found:
            return f"static pods with tier=control-plane: {', '.join(found)}"
    return None


def _kubeadm(pod: Pod) -> bool:
    return pod.labels.get("tier") == "control-plane" and "component" in pod.labels


def matches(rule: PodRule, pod: Pod) -> bool:
    lab = pod.labels
    return pod.namespace == rule.namespace and all(lab.get(k) == v for k, v in rule.labels)


def control_plane_pods(idx: ClusterIndex, profile: Profile) -> dict[str, list[Pod]]:
    """The profile's control-plane pods, by component: static (mirror) pods, owned by no controller
    or by their Node; in kube-system only those are looked at (it holds every add-on's pods too)."""
    out: dict[str, list[Pod]] = {}
    for rule in profile.pods:
        candidates = (
            idx.unowned_system_pods
            if rule.namespace == "kube-system"
            else idx.pods_by_namespace.get(rule.namespace, [])
        )
        for pod in candidates:
            if matches(rule, pod) and pod.status.phase not in ("Succeeded", "Failed"):
                out.setdefault(rule.component, []).append(pod)
    return out


def recognise(idx: ClusterIndex) -> Distribution:
    profile: Profile = UNKNOWN
    evidence: tuple[str, ...] = ()
    facts = NodeFacts.of(idx)
    for candidate in PROFILES:
        found = tuple(e for s in candidate.signals if (e := _signal(idx, facts, s)) is not None)
        if found:
            profile, evidence = candidate, found
            break
    cp_nodes = tuple(sorted(n for n, node in idx.nodes.items() if is_control_plane_node(node)))
    pods = control_plane_pods(idx, profile)
    mode_evidence = [f"{len(v)} {k} pod(s): {r}" for k, v in sorted(pods.items()) for r in _rule_text(profile, k)]
    if cp_nodes:
        mode_evidence.append(f"control-plane role on node(s) {', '.join(cp_nodes)}")
    if profile.mode == "managed":
        mode = "managed"
        mode_evidence = [f"{profile.title}: {text}" for text in evidence]
    elif profile.mode == "self-hosted" or mode_evidence:
        mode = "self-hosted"
        mode_evidence = mode_evidence or [f"{profile.title}: {text}" for text in evidence]
    else:
        mode, mode_evidence = "unknown", ["no control-plane pods, nodes or distribution signals"]
    api_minor = minor_version(idx.snapshot.version.git_version) if idx.snapshot.version else None
    kubelets = [m for n in idx.nodes.values() if (m := minor_version(n.status.node_info.kubelet_version))]
    return Distribution(
        profile=profile,
        evidence=evidence,
        mode=mode,
        mode_evidence=tuple(mode_evidence),
        api_minor=api_minor or (max(kubelets) if kubelets else None),
        api_minor_exact=api_minor is not None,
        control_plane_nodes=cp_nodes,
        node_count=len(idx.nodes),
        pods=pods,
    )


def _rule_text(profile: Profile, component: str) -> list[str]:
    return [r.describe() for r in profile.pods if r.component == component][:1]


def leader_lease_expected(dist: Distribution, idx: ClusterIndex) -> tuple[bool, str]:
    """Whether a missing scheduler/controller-manager leader Lease is evidence, and why (not)."""
    profile = dist.profile
    if profile.leader_leases is Leases.NOT_EXPECTED:
        return False, f"no leader Lease is expected on {profile.title}"
    if profile.leader_leases is Leases.IF_ETCD_ROLE:
        etcd = [n for n, node in idx.nodes.items() if "node-role.kubernetes.io/etcd" in node.labels]
        if not etcd:
            return False, f"{profile.title} without embedded etcd runs it with leader election off"
        return True, f"{profile.title} with embedded etcd on {', '.join(sorted(etcd))} elects leaders with Leases"
    since = int(policy("lease_lock_since_minor"))
    if dist.api_minor is None or dist.api_minor < (1, since):
        seen = "unknown" if dist.api_minor is None else f"{dist.api_minor[0]}.{dist.api_minor[1]}"
        floor = "" if dist.api_minor_exact else " (at least, from the kubelets)"
        return False, f"Kubernetes {seen}{floor}: before 1.{since} leaders lock Endpoints or ConfigMaps"
    return True, f"Kubernetes >= 1.{since} locks leader election with Leases"
