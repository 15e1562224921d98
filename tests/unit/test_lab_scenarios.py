"""Analysis of snapshots captured from the lab cluster in real failure states: exact codes,
statuses and blast-radius entries."""

from __future__ import annotations

import pytest

from kplanediag.analysis.model import Impact, Plane, Severity, Status
from tests.unit.factories import (
    CP,
    W1,
    W2,
    Raw,
    age_lease,
    codes,
    component,
    find,
    items,
    report,
    set_condition,
    statuses,
)


def test_healthy_lab_cluster_has_no_findings_and_every_component_healthy() -> None:
    rep = report("lab-healthy")
    assert rep.status == "healthy"
    assert rep.findings == ()
    assert rep.blast_radius == ()
    assert rep.cluster.control_plane_mode == "self-hosted"
    assert rep.cluster.version == "v1.36.2"
    assert {(c.name, c.node) for c in rep.components if c.plane is Plane.CONTROL} == {
        ("kube-apiserver", CP),
        ("etcd", CP),
        ("kube-scheduler", CP),
        ("kube-controller-manager", CP),
    }
    for name in ("kubelet", "container-runtime", "kube-proxy", "cni"):
        assert statuses(rep, name) == {CP: Status.HEALTHY, W1: Status.HEALTHY, W2: Status.HEALTHY}, name
    assert statuses(rep, "coredns") == {None: Status.HEALTHY}
    assert {c.status for c in rep.components} == {Status.HEALTHY}
    assert component(rep, "kubelet", W1).version == "v1.36.2"
    assert component(rep, "container-runtime", W1).version == "containerd://2.1.9"
    assert component(rep, "etcd", CP).version == "3.6.16-0"
    assert any("leader Lease kube-system/kube-scheduler" in e for e in component(rep, "kube-scheduler", CP).evidence)
    assert rep.summary == "HEALTHY: control plane (self-hosted) healthy; data plane (3 nodes) healthy"


def test_silenced_worker_is_down_with_exact_blast_radius() -> None:
    rep = report("lab-worker-silenced")
    assert rep.status == "critical"
    assert codes(rep) == [("KPD-201", W1), ("KPD-321", "kube-system/coredns")]
    assert component(rep, "kubelet", W1).status is Status.DOWN
    assert component(rep, "kubelet", W2).status is Status.HEALTHY
    assert component(rep, "kube-proxy", W1).status is Status.UNKNOWN
    assert component(rep, "cni", W1).detail == "not observable: kubelet silent"
    assert component(rep, "coredns").status is Status.DEGRADED

    (entry,) = rep.blast_radius
    assert (entry.plane, entry.scope) == (Plane.DATA, "node")
    a = entry.affected
    assert a.nodes == (W1,)
    assert a.namespaces == ("kube-system", "shop")
    assert {(w.kind, w.namespace, w.name): w.impact for w in a.workloads} == {
        ("Deployment", "shop", "cart"): Impact.OUTAGE,
        ("Pod", "shop", "debug"): Impact.OUTAGE,
        ("Deployment", "shop", "web"): Impact.DEGRADED,
        ("StatefulSet", "shop", "queue"): Impact.DEGRADED,
    }
    assert {(s.namespace, s.name): (s.impact, s.ready_elsewhere) for s in a.services} == {
        ("shop", "cart"): (Impact.OUTAGE, 0),
        ("shop", "web"): (Impact.DEGRADED, 1),
        ("shop", "queue"): (Impact.DEGRADED, 1),
        ("kube-system", "kube-dns"): (Impact.DEGRADED, 1),
    }
    assert a.disruption_budgets == ("shop/queue (1 healthy, needs 2)",)
    assert "payments" not in a.namespaces
    assert any("unreachable tolerated for 300s" in s for s in entry.still_works), entry.still_works
    assert entry.summary.startswith(f"1 node failing ({W1}): {a.pods} pods lost, 2 workload outage(s), 2 degraded")


def test_killed_scheduler_leaves_a_stale_lease_and_pending_pods() -> None:
    rep = report("lab-scheduler-stale")
    assert codes(rep) == [("KPD-120", "kube-system/kube-scheduler")]
    assert component(rep, "kube-scheduler", CP).status is Status.DOWN
    assert component(rep, "kube-controller-manager", CP).status is Status.HEALTHY
    (entry,) = rep.blast_radius
    assert (entry.plane, entry.scope) == (Plane.CONTROL, "management")
    assert entry.breaks[0] == "scheduling stops: 1 pod pending, new pods stay Pending"
    assert entry.affected.pods == 1
    assert [(w.kind, w.name, w.impact) for w in entry.affected.workloads] == [("Pod", "pending-probe", Impact.OUTAGE)]
    assert entry.still_works[0].endswith("pods on 3 nodes keep running")


def test_terminated_scheduler_releases_its_lease() -> None:
    rep = report("lab-scheduler-released")
    assert codes(rep) == [("KPD-121", "kube-system/kube-scheduler")]
    assert "Lease released" in rep.findings[0].message


def test_stopped_controller_manager_stops_reconciliation_and_node_handling() -> None:
    rep = report("lab-controller-manager-stale")
    assert codes(rep) == [("KPD-120", "kube-system/kube-controller-manager")]
    (entry,) = rep.blast_radius
    assert entry.failure == "kube-controller-manager leader Lease stale"
    assert "failed nodes are not marked and their pods are not evicted (node lifecycle controller)" in entry.breaks


def test_etcd_down_fails_readyz_and_writes() -> None:
    rep = report("lab-etcd-down")
    assert rep.status == "critical"
    etcd_findings = [f for f in rep.findings if f.code == "KPD-110"]
    assert len(etcd_findings) == 1 and etcd_findings[0].severity is Severity.CRITICAL
    assert "etcd" in etcd_findings[0].message
    assert component(rep, "etcd", CP).status is Status.DOWN
    assert component(rep, "kube-apiserver", CP).status is Status.DEGRADED
    # leader Leases that lapse while etcd is down are flagged as likely consequences
    for f in rep.findings:
        if f.code in ("KPD-120", "KPD-121"):
            assert f.message.endswith("(the API server or etcd is failing: likely a consequence)")
    etcd_entry = next(b for b in rep.blast_radius if b.failure.startswith("etcd"))
    assert etcd_entry.breaks[0] == "writes fail: no deploys, scaling, config or status changes"
    assert etcd_entry.scope == "management"


@pytest.mark.parametrize("seconds", [30, 90])
def test_etcd_down_longer_than_a_node_lease_keeps_etcd_down_and_no_kubelet_silent(seconds: int) -> None:
    """CI, 2026-12-07: etcd killed on the lab, read 40+ s later: every node Lease is stale because no write
    can succeed, not because the kubelets stopped. The failing etcd check is the evidence: etcd is down (not
    "unknown: kubelet silent"), and no node is reported dead."""

    def age_every_lease(data: Raw) -> None:  # none renewed since etcd stopped (30 s: stale; 90 s: past grace)
        for lease in items(data, "leases"):
            age_lease(data, lease["metadata"]["namespace"], lease["metadata"]["name"], seconds)

    rep = report("lab-etcd-down", age_every_lease)
    assert component(rep, "etcd", CP).status is Status.DOWN
    assert not {c for c, _ in codes(rep)} & {"KPD-201", "KPD-202"}, codes(rep)
    for node in (CP, W1, W2):
        kubelet = component(rep, "kubelet", node)
        assert kubelet.status is Status.UNKNOWN and "writes failing" in kubelet.detail, kubelet
    assert rep.blast_radius[0].failure.startswith("etcd")


def test_etcd_check_failing_on_a_node_marked_unknown_is_down_not_unknown() -> None:
    """The only etcd's check failed through the API server: evidence about that etcd, whatever its node says."""

    def mark_unknown(data: Raw) -> None:
        set_condition(find(data, "nodes", CP), "Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting")

    rep = report("lab-etcd-down", mark_unknown)
    etcd = component(rep, "etcd", CP)
    assert etcd.status is Status.DOWN and "silent" in etcd.detail, etcd


def test_coredns_down_has_cluster_wide_dns_impact() -> None:
    rep = report("lab-coredns-down")
    assert codes(rep) == [("KPD-320", "kube-system/coredns")]
    assert component(rep, "coredns").status is Status.DOWN
    (entry,) = rep.blast_radius
    assert entry.scope == "cluster"
    assert entry.affected.namespaces == ("payments", "shop")
    assert entry.affected.pods == 7  # the application pods; components and host-network pods excluded
    assert entry.breaks[0].startswith("name resolution fails for 7 pods in 2 namespaces")


def test_kube_proxy_not_ready_on_one_node() -> None:
    rep = report("lab-kube-proxy-unready")
    assert codes(rep) == [("KPD-300", W2)]
    assert statuses(rep, "kube-proxy") == {CP: Status.HEALTHY, W1: Status.HEALTHY, W2: Status.DOWN}
    (entry,) = rep.blast_radius
    assert entry.failure == f"kube-proxy down on {W2}"
    assert entry.affected.nodes == (W2,)
    assert entry.affected.services == ()
    assert {w.name for w in entry.affected.workloads} == {"web", "queue", "ledger"}
