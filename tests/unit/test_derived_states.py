"""States the lab cannot produce, made by explicit edits of real captured JSON: managed control
plane, Cilium without kube-proxy, cordoned and autoscaled nodes, conditions, skew, gaps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kplanediag.analysis.dataplane.conditions import problem_polarity
from kplanediag.analysis.model import Plane, Severity, Status
from kplanediag.analysis.report import analyze
from kplanediag.snapshot import Gap, Probe, Snapshot
from tests.unit.factories import (
    CP,
    W1,
    W2,
    Raw,
    age_lease,
    codes,
    collected_at,
    component,
    find,
    items,
    raw,
    remove,
    report,
    set_condition,
    statuses,
)


def make_managed(data: Raw) -> None:
    """EKS-like: no control-plane node or pods, no leader Leases visible, nodegroup labels."""
    remove(
        data,
        "pods",
        lambda p: p["spec"].get("nodeName") == CP or p["metadata"]["labels"].get("tier") == "control-plane",
    )
    remove(data, "nodes", lambda n: n["metadata"]["name"] == CP)
    remove(data, "leases", lambda lease: lease["metadata"]["name"] in ("kube-scheduler", "kube-controller-manager", CP))
    for node in items(data, "nodes"):
        node["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] = "general"


def test_managed_control_plane_is_unknown_not_down() -> None:
    rep = report("lab-healthy", make_managed)
    assert rep.cluster.control_plane_mode == "managed"
    assert any("EKS" in e for e in rep.cluster.mode_evidence)
    assert statuses(rep, "kube-scheduler") == {None: Status.UNKNOWN}
    assert statuses(rep, "kube-controller-manager") == {None: Status.UNKNOWN}
    assert statuses(rep, "kube-apiserver") == {None: Status.HEALTHY}
    assert codes(rep) == [("KPD-130", "control plane")]
    assert rep.status == "healthy"
    assert rep.blast_radius == ()


def test_missing_leader_lease_on_self_hosted_control_plane_is_down() -> None:
    def edit(data: Raw) -> None:
        remove(data, "leases", lambda x: x["metadata"]["name"] == "kube-scheduler")

    rep = report("lab-healthy", edit)
    assert codes(rep) == [("KPD-122", "kube-system/kube-scheduler")]
    assert component(rep, "kube-scheduler", CP).status is Status.DOWN


def make_cilium(data: Raw) -> None:
    """kindnet replaced by a Cilium DaemonSet, kube-proxy gone (kube-proxy replacement)."""
    remove(data, "daemonsets", lambda d: d["metadata"]["name"] == "kube-proxy")
    remove(data, "pods", lambda p: p["metadata"].get("labels", {}).get("k8s-app") == "kube-proxy")
    ds = find(data, "daemonsets", "kindnet", "kube-system")
    ds["metadata"]["name"], ds["metadata"]["labels"] = "cilium", {"k8s-app": "cilium"}
    ds["spec"]["selector"] = {"matchLabels": {"k8s-app": "cilium"}}
    for pod in items(data, "pods"):
        for ref in pod["metadata"].get("ownerReferences", []):
            if ref["kind"] == "DaemonSet" and ref["name"] == "kindnet":
                ref["name"] = "cilium"
                pod["spec"]["containers"][0]["image"] = "quay.io/cilium/cilium:v1.18.3"


def test_cilium_without_kube_proxy_is_a_recognised_absence() -> None:
    rep = report("lab-healthy", make_cilium)
    assert codes(rep) == [("KPD-301", "cluster")]
    assert rep.findings[0].severity is Severity.INFO
    assert "cilium" in rep.findings[0].message
    assert statuses(rep, "kube-proxy") == {}
    assert statuses(rep, "cni") == {CP: Status.HEALTHY, W1: Status.HEALTHY, W2: Status.HEALTHY}
    assert component(rep, "cni", W1).version == "v1.18.3"
    assert rep.status == "healthy"


def test_missing_kube_proxy_without_replacement_is_a_warning() -> None:
    def edit(data: Raw) -> None:
        remove(data, "daemonsets", lambda d: d["metadata"]["name"] == "kube-proxy")
        remove(data, "pods", lambda p: p["metadata"]["name"].startswith("kube-proxy-"))

    rep = report("lab-healthy", edit)
    assert codes(rep) == [("KPD-302", "cluster")]
    assert rep.status == "warning"


def test_cordoned_node_is_info_not_a_failure_but_its_blocked_drain_is_a_warning() -> None:
    """The cordon itself is info; the lab's PodDisruptionBudget shop/queue (2 healthy, needs 2) holds
    queue-0 on it, so the drain that usually follows a cordon cannot finish (KPD-230)."""

    def edit(data: Raw) -> None:
        find(data, "nodes", W2)["spec"]["unschedulable"] = True

    rep = report("lab-healthy", edit)
    assert codes(rep) == [("KPD-207", W2), ("KPD-230", W2)]
    assert rep.status == "warning"
    assert component(rep, "kubelet", W2).status is Status.HEALTHY
    (entry,) = rep.blast_radius
    assert entry.failure_class == "drain-blocked" and entry.cause is not None and entry.cause.code == "KPD-230"
    assert "shop/queue" in entry.cause.message and "queue-0" in entry.cause.message


def test_failing_node_being_removed_by_autoscaler_is_lowered_to_warning() -> None:
    def edit(data: Raw) -> None:
        find(data, "nodes", W1)["spec"]["taints"] = [
            {"key": "ToBeDeletedByClusterAutoscaler", "value": "1700000000", "effect": "NoSchedule"}
        ]

    rep = report("lab-worker-silenced", edit)
    sev = {f.code: f.severity for f in rep.findings}
    assert sev["KPD-201"] is Severity.WARNING
    assert sev["KPD-208"] is Severity.INFO
    assert rep.status == "warning"
    (entry,) = rep.blast_radius
    assert f"expected: {W1} is being removed by cluster-autoscaler" in entry.still_works


@pytest.mark.parametrize(
    ("ctype", "status", "flagged"),
    [
        ("KernelDeadlock", "True", True),
        ("KernelDeadlock", "False", False),
        ("ReadonlyFilesystem", "True", True),
        ("FrequentKubeletRestart", "False", False),
        ("ContainerRuntimeUnhealthy", "True", True),
        ("GPUHealthy", "False", True),
        ("GPUHealthy", "True", False),
        ("CSIDriverReady", "False", True),
        ("MysteryCondition", "True", False),
    ],
)
def test_custom_node_conditions_are_read_with_their_polarity(ctype: str, status: str, flagged: bool) -> None:
    rep = report("lab-healthy", lambda d: set_condition(find(d, "nodes", W2), ctype, status, "NPD", "seen"))
    assert codes(rep) == ([("KPD-206", W2)] if flagged else [])
    assert component(rep, "kubelet", W2).status is Status.HEALTHY


def test_polarity_table() -> None:
    assert problem_polarity("DiskPressure") is True
    assert problem_polarity("NetworkUnavailable") is True
    assert problem_polarity("Unhealthy") is True
    assert problem_polarity("Ready") is False
    assert problem_polarity("Something") is None


def test_not_ready_node_reported_by_its_kubelet() -> None:
    rep = report(
        "lab-healthy",
        lambda d: set_condition(find(d, "nodes", W2), "Ready", "False", "KubeletNotReady", "node is shutting down"),
    )
    assert codes(rep) == [("KPD-200", W2), ("KPD-321", "kube-system/coredns")]
    assert component(rep, "kubelet", W2).status is Status.DOWN
    (entry,) = rep.blast_radius
    assert entry.affected.nodes == (W2,)
    assert {w.name: w.impact.value for w in entry.affected.workloads} == {
        "ledger": "outage",
        "web": "degraded",
        "queue": "degraded",
    }


def test_container_runtime_down() -> None:
    rep = report(
        "lab-healthy",
        lambda d: set_condition(find(d, "nodes", W2), "Ready", "False", "KubeletNotReady", "container runtime is down"),
    )
    assert ("KPD-210", W2) in codes(rep)
    assert component(rep, "container-runtime", W2).status is Status.DOWN
    assert component(rep, "kubelet", W2).status is Status.DEGRADED


def test_pressure_and_network_unavailable() -> None:
    def edit(data: Raw) -> None:
        set_condition(find(data, "nodes", W1), "MemoryPressure", "True", "KubeletHasInsufficientMemory")
        set_condition(find(data, "nodes", W2), "NetworkUnavailable", "True", "NoRouteCreated")

    rep = report("lab-healthy", edit)
    assert codes(rep) == [("KPD-203", W1), ("KPD-204", W2)]


def test_stale_heartbeat_while_ready_still_true() -> None:
    rep = report("lab-healthy", lambda d: age_lease(d, "kube-node-lease", W1, 60))
    assert codes(rep) == [("KPD-202", W1), ("KPD-321", "kube-system/coredns")]
    assert component(rep, "kubelet", W1).status is Status.DOWN
    assert "renewed 60s ago (duration 10s)" in rep.findings[0].message


@pytest.mark.parametrize(
    ("kubelet", "skewed"), [("v1.33.4", False), ("v1.32.0", True), ("v1.37.0", True), ("v1.36.0-eks-1234", False)]
)
def test_kubelet_version_skew(kubelet: str, skewed: bool) -> None:
    def edit(data: Raw) -> None:
        find(data, "nodes", W2)["status"]["nodeInfo"]["kubeletVersion"] = kubelet

    rep = report("lab-healthy", edit)
    assert [c for c in codes(rep) if c[0] == "KPD-205"] == ([("KPD-205", W2)] if skewed else [])


def test_forbidden_leases_make_leader_health_unknown() -> None:
    def edit(data: Raw) -> None:
        del data["resources"]["leases"]
        data["gaps"] = [{"source": "leases (kube-system)", "reason": "forbidden"}]

    rep = report("lab-healthy", edit)
    assert statuses(rep, "kube-scheduler") == {CP: Status.UNKNOWN}
    assert codes(rep) == [("KPD-900", "leases (kube-system)")]
    assert rep.status == "warning"
    assert rep.gaps == ("leases (kube-system): forbidden",)


def test_unreachable_api_server() -> None:
    rep = analyze(
        Snapshot(
            collected_at=collected_at({"collectedAt": "2026-01-01T00:00:00Z"}),
            source="live",
            server="https://10.0.0.1:6443",
            reachable=False,
            livez=Probe(endpoint="/livez?verbose", status=None, error="connection refused"),
            gaps=(Gap(source="all", reason="API server unreachable"),),
        )
    )
    assert codes(rep) == [("KPD-100", "https://10.0.0.1:6443")]
    assert statuses(rep, "kube-apiserver") == {None: Status.DOWN}
    assert rep.status == "critical"
    (entry,) = rep.blast_radius
    assert entry.plane is Plane.CONTROL
    assert entry.still_works[0] == "running pods keep running (not counted: pods not observed)"


def test_later_evaluation_time_makes_leases_stale() -> None:
    data_now = collected_at({"collectedAt": "2026-01-01T00:00:00Z"})
    assert data_now.year == 2026

    at = collected_at(raw("lab-healthy")) + timedelta(seconds=120)
    rep = report("lab-healthy", now=at)
    found = {c for c, _ in codes(rep)}
    assert {"KPD-120", "KPD-202"} <= found


def test_failed_node_with_pods_not_observed_says_so_instead_of_zero() -> None:
    def edit(data: Raw) -> None:
        del data["resources"]["pods"]
        data["gaps"] = [{"source": "pods", "reason": "forbidden"}]

    rep = report("lab-worker-silenced", edit)
    (entry,) = rep.blast_radius
    assert entry.affected.nodes == (W1,)
    assert entry.summary == f"1 node failing ({W1}): impact unknown (pods not observed)"
    assert "pods not observed" in entry.breaks[0]
    assert ("KPD-900", "pods") in codes(rep)


def test_forbidden_health_endpoints_are_unknown_not_failing() -> None:
    """403 on /livez and /readyz (an identity without the nonResourceURLs) says nothing about health."""

    def edit(data: Raw) -> None:
        for probe in ("livez", "readyz"):
            data[probe] = {"endpoint": f"/{probe}?verbose", "status": 403, "checks": [], "error": "forbidden"}
        data["gaps"] = [{"source": "livez", "reason": "forbidden"}, {"source": "readyz", "reason": "forbidden"}]

    rep = report("lab-healthy", edit)
    assert statuses(rep, "kube-apiserver") == {CP: Status.UNKNOWN}
    assert statuses(rep, "etcd") == {CP: Status.UNKNOWN}
    assert codes(rep) == [("KPD-900", "livez"), ("KPD-900", "readyz")]
    assert not rep.blast_radius


def test_each_lease_namespace_is_judged_on_its_own() -> None:
    """kube-system Leases forbidden, kube-node-lease read: leaders unknown, heartbeats still judged."""

    def edit(data: Raw) -> None:
        data["resources"]["leases"] = [x for x in items(data, "leases") if x["metadata"]["namespace"] != "kube-system"]
        data["gaps"] = [{"source": "leases (kube-system)", "reason": "forbidden"}]
        age_lease(data, "kube-node-lease", W1, 60)

    rep = report("lab-healthy", edit)
    assert statuses(rep, "kube-scheduler") == {CP: Status.UNKNOWN}
    assert statuses(rep, "kube-controller-manager") == {CP: Status.UNKNOWN}
    assert statuses(rep, "kubelet")[W1] is Status.DOWN  # its heartbeat Lease, still read, is stale
    # CoreDNS loses the replica on that node
    assert codes(rep) == [("KPD-202", W1), ("KPD-321", "kube-system/coredns"), ("KPD-900", "leases (kube-system)")]


def test_nodes_not_read_is_said_in_the_summary() -> None:
    """A forbidden or failed node list: the data plane is not observed, never "(0 nodes) healthy"."""

    def edit(data: Raw) -> None:
        del data["resources"]["nodes"]
        data["gaps"] = [{"source": "nodes", "reason": "timed out"}]

    rep = report("lab-healthy", edit)
    assert "data plane not observed (nodes not read)" in rep.summary, rep.summary
