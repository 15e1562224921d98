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

    @property
    def single_node(self) -> bool:
        """Both planes on one machine: one node, and it runs the control plane."""
        return len(self.control_plane_nodes) == 1 and self.node_count == 1


def is_control_plane_node(node: Node) -> bool:
    lab = node.labels
    return any(k in lab for k in ROLE_LABELS) or lab.get("kubernetes.io/role") == "master"


def _signal(idx: ClusterIndex, s: Signal) -> str | None:
    """Evidence that ``s`` matches, or None."""
    for node in idx.nodes.values():
        info, lab = node.status.node_info, node.labels
        if s.field == "kubelet-version" and s.value in info.kubelet_version:
            return f"kubelet {info.kubelet_version} on {node.name}"
        if s.field == "provider-id" and node.spec.provider_id.startswith(s.value):
            return f"providerID {node.spec.provider_id}"
        if s.field == "node-label" and s.value in lab:
            return f"node label {s.value} on {node.name}"
        if s.field == "node-label-prefix" and any(k.startswith(s.value) for k in lab):
            return f"node labels {s.value}* on {node.name}"
        if s.field == "os-image" and info.os_image.startswith(s.value):
            return f"OS image {info.os_image} on {node.name}"
    if s.field == "namespace" and idx.pods_by_namespace.get(s.value):
        return f"pods in namespace {s.value}"
    if s.field == "daemon":
        pod = next((p for p in idx.pods_by_namespace.get("kube-system", []) if _daemon_name(p) == s.value), None)
        if pod is not None:
            return f"DaemonSet {s.value} pod {pod.key}"
    if s.field == "static-pods":
        found = sorted({p.labels["component"] for p in idx.pods_by_namespace.get("kube-system", []) if _kubeadm(p)})
        if found:
            return f"static pods with tier=control-plane: {', '.join(found)}"
    return None


def _daemon_name(pod: Pod) -> str:
    ref = pod.controller
    return ref.name if ref and ref.kind == "DaemonSet" else ""


def _kubeadm(pod: Pod) -> bool:
    return pod.labels.get("tier") == "control-plane" and "component" in pod.labels


def matches(rule: PodRule, pod: Pod) -> bool:
    lab = pod.labels
    return pod.namespace == rule.namespace and all(lab.get(k) == v for k, v in rule.labels)


def control_plane_pods(idx: ClusterIndex, profile: Profile) -> dict[str, list[Pod]]:
    """The profile's control-plane pods, by component."""
    out: dict[str, list[Pod]] = {}
    for rule in profile.pods:
        for pod in idx.pods_by_namespace.get(rule.namespace, []):
            if matches(rule, pod) and pod.status.phase not in ("Succeeded", "Failed"):
                out.setdefault(rule.component, []).append(pod)
    return out


def recognise(idx: ClusterIndex) -> Distribution:
    profile: Profile = UNKNOWN
    evidence: tuple[str, ...] = ()
    for candidate in PROFILES:
        found = tuple(e for s in candidate.signals if (e := _signal(idx, s)) is not None)
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
