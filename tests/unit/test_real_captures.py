"""Distribution profiles and HA against objects captured from real clusters (../shared/real-captures,
sources in its README): each capture is recognised as its distribution, a healthy one exits 0 with
no warning, a broken one is diagnosed as the README says a correct diagnosis must."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kplanediag.analysis.model import Severity, Status
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.snapshot import HealthCheck, Probe, parse_time
from kplanediag.snapshot.files import load_snapshot
from tests.unit.captures import CAPTURES, Edit, capture, capture_time, needs_captures

pytestmark = needs_captures


def run(name: str, tmp_path: Path | None = None, edit: Edit | None = None) -> Report:
    return analyze(capture(name, tmp_path, edit), capture_time(name))


def statuses(rep: Report, name: str) -> list[Status]:
    return [c.status for c in rep.components if c.name == name]


def codes(rep: Report) -> set[str]:
    return {f.code for f in rep.findings}


def loud(rep: Report) -> list[str]:
    return [f"{f.code} {f.message}" for f in rep.findings if f.severity is not Severity.INFO]


HEALTHY = {
    # capture: (profile, controlPlaneMode or None when the README requires none)
    "eks-1.31-vpc-cni-healthy": ("eks", "managed"),
    "aks-1.16-kubenet-addon-crashloop": ("aks", "managed"),
    "gke-1.10-node-npd-conditions": ("gke", "managed"),
    "oke-managed-flannel-healthy": ("oke", None),
    "openshift-4.8-aws-sdn-healthy": ("openshift", "self-hosted"),
    "k3s-1.31-single-server-embedded-cp": ("k3s", "self-hosted"),
    "rke2-1.33-cilium-static-kube-proxy": ("rke2", "self-hosted"),
    "kind-1.14-endpoints-leader-election": ("kind", "self-hosted"),
    "kubeadm-1.8-aws-calico-kube-dns": ("kubeadm", "self-hosted"),
    "kurl-1.23-weave-3nodes": ("kubeadm", "self-hosted"),
}


# Add-ons the captures' README says are crash-looping (KPD-330 warnings: the planes themselves are healthy).
# AKS: coredns-autoscaler (1569 restarts) and kubernetes-dashboard crash-loop; tunnelfront, Ready, has
# restarted 430 times in 3.6 days (tests/unit/test_addon_restarts.py says why that counts).
ADDONS_FAILING = {
    "aks-1.16-kubenet-addon-crashloop": {
        "kube-system/coredns-autoscaler",
        "kube-system/kubernetes-dashboard",
        "kube-system/tunnelfront",
    }
}


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_a_healthy_cluster_of_each_profile_is_healthy_with_no_warning(name: str) -> None:
    """Healthy planes: no warning but the crash-looping add-ons a capture really has."""
    rep = run(name)
    profile, mode = HEALTHY[name]
    assert rep.cluster.profile == profile, rep.cluster.profile_evidence
    assert rep.cluster.profile_evidence
    if mode:
        assert rep.cluster.control_plane_mode == mode
    addons = ADDONS_FAILING.get(name, set())
    assert rep.status == ("warning" if addons else "healthy"), loud(rep)
    assert {f.subject for f in rep.findings if f.severity is not Severity.INFO} == addons, loud(rep)
    assert all(f.code == "KPD-330" for f in rep.findings if f.severity is not Severity.INFO)
    down = {c.name for c in rep.components if c.status is Status.DOWN}
    assert down <= {a.split("/")[1] for a in addons}, down


def test_k3s_leaders_are_judged_by_effects_and_embedded_parts_are_unknown() -> None:
    rep = run("k3s-1.31-single-server-embedded-cp")
    for name in ("kube-scheduler", "kube-controller-manager"):
        (comp,) = [c for c in rep.components if c.name == name]
        assert comp.status is Status.HEALTHY
        assert any(e.startswith("effect: ") for e in comp.evidence), comp.evidence
        assert any("leader election off" in e for e in comp.evidence), comp.evidence
    for name in ("kube-proxy", "cni"):
        (comp,) = [c for c in rep.components if c.name == name]
        assert comp.status is Status.UNKNOWN and "not visible on k3s" in comp.detail
    assert rep.cluster.single_node


def test_k3s_with_a_waiting_pod_reports_no_scheduler(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        pod = next(i for i in data["items"] if i["kind"] == "Pod" and i["metadata"]["name"].startswith("coredns"))
        pod["metadata"]["creationTimestamp"] = "2025-12-10T17:25:00Z"
        pod["spec"].pop("nodeName")
        pod["status"] = {"phase": "Pending"}

    rep = run("k3s-1.31-single-server-embedded-cp", tmp_path, edit)
    assert "KPD-125" in codes(rep)
    assert statuses(rep, "kube-scheduler") == [Status.DOWN]
    (entry,) = [b for b in rep.blast_radius if b.failure.startswith("kube-scheduler")]
    assert entry.affected.pods == 1


def test_old_endpoints_locks_are_not_a_missing_lease() -> None:
    rep = run("kind-1.14-endpoints-leader-election")
    for name in ("kube-scheduler", "kube-controller-manager"):
        (comp,) = [c for c in rep.components if c.name == name]
        assert comp.status is Status.HEALTHY
        assert any("before 1.20" in e for e in comp.evidence), comp.evidence


def test_rke2_static_kube_proxy_is_found_and_etcd_voter_is_healthy() -> None:
    rep = run("rke2-1.33-cilium-static-kube-proxy")
    assert statuses(rep, "kube-proxy") == [Status.HEALTHY]
    (proxy,) = [c for c in rep.components if c.name == "kube-proxy"]
    assert proxy.evidence[0].startswith("static pods")
    assert "KPD-301" not in codes(rep)
    assert statuses(rep, "kubelet") == [Status.HEALTHY]


def test_openshift_control_plane_pods_dns_and_sdn() -> None:
    rep = run("openshift-4.8-aws-sdn-healthy")
    for name in ("kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager"):
        assert statuses(rep, name) == [Status.HEALTHY] * 3, name
    (dns,) = [c for c in rep.components if c.name == "coredns"]
    assert any("openshift-dns/dns-default" in e for e in dns.evidence)
    assert statuses(rep, "cni").count(Status.HEALTHY) == 6


def test_kurl_components_are_found_from_their_pods_without_daemonset_objects() -> None:
    rep = run("kurl-1.23-weave-3nodes")
    assert statuses(rep, "kube-proxy") == [Status.HEALTHY] * 3
    assert statuses(rep, "cni") == [Status.HEALTHY] * 3


def test_no_cni_blames_the_network_plugin_not_the_runtime() -> None:
    rep = run("kubeadm-1.27-no-cni-nodes-notready")
    assert "KPD-211" in codes(rep) and "KPD-210" not in codes(rep)
    assert Status.DOWN not in statuses(rep, "container-runtime")
    assert set(statuses(rep, "kubelet")) <= {Status.DOWN, Status.DEGRADED}
    assert statuses(rep, "cni") == [Status.DOWN, Status.DOWN]
    assert "cloud-controller-manager" not in {c.name for c in rep.components}
    # one cause on both nodes (the plugin never installed), not a node failure: the kubelets post status
    (entry,) = rep.blast_radius
    assert entry.failure == "network plugin not ready on node1, node2" and entry.component == "cni"
    assert entry.cause is not None and entry.cause.code == "KPD-211"
    assert not [b for b in rep.blast_radius if b.failure.startswith("node failure")]
    # the capture holds no pods: they are said to be not counted, never "0 pods"
    text = " ".join((entry.summary, *entry.breaks, *entry.still_works))
    assert "0 pods" not in text and "pods not observed" in entry.summary, entry


def test_ha_kubeadm_with_one_master_lost() -> None:
    """One cause (k8s-master1's kubelet silent) is one entry, first and critical, with the instances it
    hides under it; the findings on those instances are its effects. CoreDNS at 2/3 is another, independent
    cause (its third pod crash-loops on k8s-worker1, a healthy node)."""
    rep = run("kubeadm-1.8-ha-master-kubelet-unknown")
    kubelets = {c.node: c.status for c in rep.components if c.name == "kubelet"}
    assert kubelets.pop("k8s-master1") is Status.DOWN
    assert Status.DOWN not in kubelets.values() and len(kubelets) == 4
    assert statuses(rep, "coredns") == [Status.DEGRADED]
    assert rep.status == "critical"
    api = {c.node: c.status for c in rep.components if c.name == "kube-apiserver"}
    # its kubelet is silent: what runs there cannot be observed (1.8 has no EndpointSlices to tell)
    assert api == {"k8s-master1": Status.UNKNOWN, "k8s-master2": Status.HEALTHY, "k8s-master3": Status.HEALTHY}
    first = rep.blast_radius[0]
    assert first.severity is Severity.CRITICAL and first.failure.startswith("node failure: k8s-master1")
    assert first.cause is not None and first.cause.key == "KPD-201 k8s-master1"
    assert any("kube-apiserver, kube-controller-manager, kube-scheduler" in e for e in first.effects), first.effects
    assert any("kube-apiserver 2/3" in e for e in first.effects), first.effects
    # no entry of its own for what the node's failure explains, and no "down" for what is unknown
    assert not [b for b in rep.blast_radius if b.failure_class == "redundancy-lost"], rep.blast_radius
    assert not any("down" in line for line in (*first.breaks, *first.effects) if "scheduler" in line)
    for f in rep.findings:
        if f.code in ("KPD-104", "KPD-124"):
            assert f.caused_by == "KPD-201 k8s-master1", f
    (dns,) = [b for b in rep.blast_radius if b.component == "coredns"]
    assert dns.severity is Severity.WARNING and "k8s-worker1 (CrashLoopBackOff)" in dns.breaks[0]
    assert [b.severity for b in rep.blast_radius] == sorted(
        (b.severity for b in rep.blast_radius), key=lambda s: -s.rank
    )
    # the nginx Deployments run on the workers: the master's failure does not reach them
    assert not any(w.name.startswith("nginx") for w in first.affected.workloads)


def _etcd_not_ready(count: int) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        etcd = [i for i in data["items"] if i["kind"] == "Pod" and i["metadata"]["name"].startswith("etcd-ip-")]
        for pod in etcd[:count]:
            for cond in pod["status"]["conditions"]:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond["status"] = "False"

    return edit


def test_etcd_one_member_of_three_down_keeps_quorum(tmp_path: Path) -> None:
    rep = run("openshift-4.8-aws-sdn-healthy", tmp_path, _etcd_not_ready(1))
    assert "KPD-112" in codes(rep) and "KPD-113" not in codes(rep)
    assert sorted(statuses(rep, "etcd")) == sorted([Status.DOWN, Status.HEALTHY, Status.HEALTHY])
    (entry,) = [b for b in rep.blast_radius if b.failure.startswith("etcd")]
    assert "writes work" in entry.still_works[0]
    assert "2 of 3 etcd members healthy" in entry.summary and "1 more failure" in entry.summary
    assert rep.status == "warning"


def test_etcd_two_members_of_three_down_loses_quorum(tmp_path: Path) -> None:
    rep = run("openshift-4.8-aws-sdn-healthy", tmp_path, _etcd_not_ready(2))
    assert "KPD-113" in codes(rep)
    (entry,) = [b for b in rep.blast_radius if b.failure.startswith("etcd")]
    assert entry.breaks[0].startswith("writes fail")
    assert rep.status == "critical"


@pytest.mark.parametrize(("created", "flagged"), [("2025-12-10T17:20:00Z", True), ("2025-12-10T17:26:30Z", False)])
def test_k3s_unobserved_deployment_change_means_no_controller_manager(
    tmp_path: Path, created: str, flagged: bool
) -> None:
    """Scaled and never observed: no controller-manager works; but a Deployment created seconds ago is
    too new to judge (the controller may not have seen it yet)."""

    def edit(data: dict[str, Any]) -> None:
        deploy = next(i for i in data["items"] if i["kind"] == "Deployment")
        deploy["metadata"]["creationTimestamp"] = created
        deploy["metadata"]["generation"] = deploy["status"]["observedGeneration"] + 1

    rep = run("k3s-1.31-single-server-embedded-cp", tmp_path, edit)
    assert ("KPD-126" in codes(rep)) is flagged
    assert statuses(rep, "kube-controller-manager") == [Status.DOWN if flagged else Status.HEALTHY]


def test_a_failed_single_node_reads_as_both_planes(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        node = next(i for i in data["items"] if i["kind"] == "Node")
        for cond in node["status"]["conditions"]:
            if cond["type"] == "Ready":
                cond["status"], cond["reason"] = "Unknown", "NodeStatusUnknown"

    rep = run("k3s-1.31-single-server-embedded-cp", tmp_path, edit)
    assert rep.cluster.single_node
    (entry,) = [b for b in rep.blast_radius if b.failure.startswith("node failure")]
    # the API server answered (it wrote this data): the control plane runs, it does not "go with" the node
    assert any("the API server answered this check, so the control plane runs" in b for b in entry.still_works)
    assert not any("goes with it" in b for b in (*entry.breaks, *entry.still_works)), entry


OURS = Path(__file__).resolve().parent / "data" / "real"  # captures found by this project (SOURCES.md)


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("microk8s-1.32-single-node-calico-healthy", "microk8s"),
        ("minikube-1.34-k8s-1.31-docker-single-node-healthy", "minikube"),
    ],
)
def test_our_captures_single_node_profiles(name: str, profile: str) -> None:
    at = json.loads((OURS / "capture-times.json").read_text())[name]
    rep = analyze(load_snapshot(OURS / f"{name}.json"), parse_time(at))
    assert rep.cluster.profile == profile
    assert rep.cluster.single_node
    assert rep.status == "healthy" and loud(rep) == []
    assert statuses(rep, "kubelet") == [Status.HEALTHY]


def test_an_empty_kube_proxy_daemonset_beside_static_pods_is_not_a_missing_pod(tmp_path: Path) -> None:
    """GKE's kube-proxy DaemonSet selects no node while static kube-proxy pods run (shape of GKE 1.33's
    DaemonSet, kube-proxy-ds-ready nodeSelector): the static pod is the node's kube-proxy."""

    def edit(data: dict[str, Any]) -> None:
        data["items"].append(
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
                "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}}},
                "status": {"desiredNumberScheduled": 0, "currentNumberScheduled": 0, "numberReady": 0},
            }
        )

    rep = run("rke2-1.33-cilium-static-kube-proxy", tmp_path, edit)
    assert statuses(rep, "kube-proxy") == [Status.HEALTHY]


def test_quorum_lost_counts_the_running_member_as_running(tmp_path: Path) -> None:
    """Two etcd members' nodes silent, /readyz's etcd check failing through the load balancer: the one
    member still Ready is running (without quorum), not 'down' with the others (HA kind, two paused)."""
    path = tmp_path / "capture.json"
    data = json.loads((CAPTURES / "openshift-4.8-aws-sdn-healthy.json").read_text())
    _etcd_not_ready(2)(data)
    path.write_text(json.dumps(data))
    readyz = Probe(
        endpoint="/readyz?verbose",
        status=500,
        checks=(HealthCheck(name="etcd", ok=False), HealthCheck(name="ping", ok=True)),
    )
    snap = msgspec.structs.replace(load_snapshot(path), readyz=readyz)
    at = json.loads((CAPTURES / "capture-times.json").read_text())["openshift-4.8-aws-sdn-healthy"]
    rep = analyze(snap, parse_time(at))
    assert "KPD-113" in codes(rep) and "KPD-110" in codes(rep)
    assert sorted(statuses(rep, "etcd")) == sorted([Status.DOWN, Status.DOWN, Status.DEGRADED])
    assert any("1 of 3 etcd members seen running" in f.message for f in rep.findings if f.code == "KPD-113")
    (entry,) = [b for b in rep.blast_radius if b.failure.startswith("etcd")]
    assert entry.breaks[0].startswith("writes fail")
