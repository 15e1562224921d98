"""what-if (issue 25) on real data: the kubeadm 1.8 HA capture (../shared/real-captures: one master
already silent), the EKS and kURL captures, and the lab's own snapshot (tests/unit/data/lab-healthy.json,
captured from `make cluster-up`). A hypothesis is made real in a copy of the snapshot and judged by the
same analysis; the result is marked hypothetical everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kplanediag.analysis.whatif import HypothesisError, rank, what_if
from kplanediag.render.whatif import whatif_lines
from kplanediag.snapshot import parse_time
from kplanediag.snapshot.files import load_snapshot
from tests.unit.factories import DATA, snap

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "real-captures"
needs_captures = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"{CAPTURES} not present")
HA = "kubeadm-1.8-ha-master-kubelet-unknown"
LAB = str(DATA / "lab-healthy.json")


def capture(name: str) -> tuple[Any, Any]:
    at = json.loads((CAPTURES / "capture-times.json").read_text())[name]
    return load_snapshot(CAPTURES / f"{name}.json"), parse_time(at)


def kpd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, timeout=120, check=False
    )


@needs_captures
def test_losing_a_second_master_leaves_one_of_three_api_servers() -> None:
    """The issue's case: on the HA capture (k8s-master1 already silent) losing k8s-master2 as well
    leaves 1 of 3 API servers; etcd, which that capture does not show, is said to be unknown."""
    snapshot, at = capture(HA)
    report = what_if(snapshot, ["node/k8s-master2"], at)
    assert report.what_if is not None and report.what_if.baseline_status == "critical"
    assert report.summary.startswith("WHAT-IF node k8s-master2 fails (kubelet silent): CRITICAL (hypothetical")
    (entry,) = report.blast_radius
    assert "k8s-master2" in entry.affected.nodes
    assert any("kube-apiserver 1/3" in e for e in entry.effects), entry.effects
    assert ("KPD-201", "k8s-master2") in {(f.code, f.subject) for f in report.findings}
    assert not any(f.subject == "k8s-master1" and f.code == "KPD-201" for f in report.findings)  # already so
    etcd = [c for c in report.components if c.name == "etcd"]
    assert etcd and all(c.status.value == "unknown" for c in etcd)


@needs_captures
def test_all_nodes_ranks_single_points_of_failure_first() -> None:
    snapshot, at = capture(HA)
    report = rank(snapshot, "nodes", at)
    assert report.what_if is not None and report.what_if.ranked == "nodes"
    rows = {r.target: r for r in report.what_if.ranking}
    assert rows["k8s-master2"].control_plane == ("1 of 3 API servers left",)
    assert len(rows["k8s-worker1"].workloads_outage) > 100  # single-replica nginx Deployments
    assert report.what_if.ranking[0].target in ("k8s-master2", "k8s-master3")  # control plane first
    assert report.blast_radius == () and report.status == "critical"
    lines = whatif_lines(report)
    assert (
        "worst first; workload pods: the add-ons (CoreDNS, kube-proxy, the CNI) and static pods are not counted"
        in lines
    )
    assert any(line.startswith("3. k8s-worker") and line.endswith(" workload pods there") for line in lines), lines


@needs_captures
@pytest.mark.parametrize("name", ["eks-1.31-vpc-cni-healthy", "kurl-1.23-weave-3nodes"])
def test_every_node_of_a_real_capture_has_a_row(name: str) -> None:
    snapshot, at = capture(name)
    report = rank(snapshot, "nodes", at)
    assert report.what_if is not None
    assert {r.target for r in report.what_if.ranking} == {n.metadata.name for n in snapshot.nodes}
    for node in snapshot.nodes:  # and each node's own what-if runs, hypothetical
        one = what_if(snapshot, [f"node/{node.metadata.name}"], at)
        assert one.summary.startswith(f"WHAT-IF node {node.metadata.name} fails")
        assert any(node.metadata.name in b.affected.nodes for b in one.blast_radius), one.blast_radius


@needs_captures
def test_zones_of_eks_and_none_elsewhere() -> None:
    snapshot, at = capture("eks-1.31-vpc-cni-healthy")
    report = rank(snapshot, "zones", at)
    assert report.what_if is not None
    zones = {r.target for r in report.what_if.ranking}
    assert zones == {"us-east-1a", "us-east-1b"}
    ha, at = capture(HA)
    with pytest.raises(HypothesisError, match="no node has a zone label"):
        rank(ha, "zones", at)


def test_drain_verdict_and_eviction_order_on_the_lab() -> None:
    """The lab: shop/queue's budget (2 healthy, needs 2) holds a pod on each worker; shop/cart has
    its only ready replica on kplanediag-worker."""
    report = what_if(snap("lab-healthy"), ["drain/kplanediag-worker"])
    assert report.what_if is not None
    (verdict,) = report.what_if.verdicts
    assert verdict.startswith("blocked: PodDisruptionBudget shop/queue (2 healthy, needs 2) holds shop/queue-1")
    assert "outage of Deployment shop/cart" in verdict and "shop/debug; drain needs --force" in verdict
    order = report.what_if.eviction_order
    assert any(s.startswith("never, until shop/queue allows a disruption: shop/queue-1") for s in order)
    assert report.status == "critical"
    assert {b.failure_class for b in report.blast_radius} >= {"drain", "drain-blocked"}


def test_single_etcd_lost_fails_writes_and_a_single_node_takes_the_api() -> None:
    report = what_if(snap("lab-healthy"), ["etcd@kplanediag-control-plane"])
    assert [b.failure for b in report.blast_radius] == ["etcd checks failing"]
    assert "KPD-110" in {f.code for f in report.findings}
    cp = what_if(snap("lab-healthy"), ["node/kplanediag-control-plane"])
    assert cp.blast_radius[0].failure.startswith("kube-apiserver unreachable")


def test_bad_hypotheses_name_what_exists() -> None:
    with pytest.raises(HypothesisError, match="no node 'nope'; the nodes: kplanediag-control-plane"):
        what_if(snap("lab-healthy"), ["node/nope"])
    with pytest.raises(HypothesisError, match="is not a hypothesis"):
        what_if(snap("lab-healthy"), ["frobnicate"])
    with pytest.raises(HypothesisError, match="no kube-scheduler instance on node 'kplanediag-worker'"):
        what_if(snap("lab-healthy"), ["scheduler@kplanediag-worker"])


def test_cli_marks_it_hypothetical_and_exits_by_the_hypothesis() -> None:
    """Headline, JSON field, JUnit suite names: hypothetical. Exit codes: the hypothesis's verdict
    (2 here: an outage), never the cluster's state (healthy); 3 with the nodes named on a bad one."""
    done = kpd("what-if", "node/kplanediag-worker", "--from", LAB, "-o", "json")
    assert done.returncode == 2, done.stderr
    doc = json.loads(done.stdout)
    assert doc["whatIf"]["hypothetical"] is True and doc["whatIf"]["clusterNow"]["status"] == "healthy"
    assert doc["summary"]["text"].startswith("WHAT-IF ")
    table = kpd("what-if", "node/kplanediag-worker", "--from", LAB)
    assert table.stdout.startswith("WHAT-IF ") and "== What if (hypothetical, not a current failure)" in table.stdout


def test_cli_junit_names_it_hypothetical_and_a_safe_cordon_exits_0() -> None:
    junit = kpd("what-if", "node/kplanediag-worker", "--from", LAB, "-o", "junit")
    assert 'name="kplanediag what-if (hypothetical)"' in junit.stdout and 'name="what-if: data-plane"' in junit.stdout
    safe = kpd("what-if", "cordon/kplanediag-control-plane", "--from", LAB)
    assert safe.returncode == 0, safe.stdout


def test_cli_bad_hypotheses_are_usage_errors_naming_what_exists() -> None:
    bad = kpd("what-if", "node/nope", "--from", LAB, "-o", "json")
    assert bad.returncode == 3 and json.loads(bad.stdout)["error"]["class"] == "usage"
    assert "the nodes: kplanediag-control-plane, kplanediag-worker, kplanediag-worker2" in bad.stderr
    none = kpd("what-if", "--from", LAB)
    assert none.returncode == 3 and "give one or more hypotheses, or --all" in none.stderr


def test_blast_radius_if_is_what_if() -> None:
    alias = kpd("blast-radius", "--if", "node/kplanediag-worker", "--from", LAB, "-o", "json")
    same = kpd("what-if", "node/kplanediag-worker", "--from", LAB, "-o", "json")
    assert alias.returncode == same.returncode == 2
    assert json.loads(alias.stdout)["whatIf"] == json.loads(same.stdout)["whatIf"]


def test_workloads_with_nowhere_to_go() -> None:
    """Both lab workers lost: the control-plane node's NoSchedule taint is tolerated by no workload
    pod, so their replacements have nowhere to go, and the StatefulSets' pods are not replaced while
    their nodes are unreachable; the control plane's worker-tolerating CoreDNS moves there. One
    worker lost: cart (a nodeSelector for that worker) and web (one replica per node) stay Pending."""
    both = what_if(snap("lab-healthy"), ["node/kplanediag-worker", "node/kplanediag-worker2"])
    assert both.what_if is not None
    (note,) = [n for n in both.what_if.notes if n.startswith("nowhere to go")]
    assert "Deployment shop/cart" in note and "Deployment shop/web: 2 pods" in note and "Pod shop/debug" not in note
    (waiting,) = [n for n in both.what_if.notes if n.startswith("not replaced")]
    assert "StatefulSet shop/queue" in waiting and "shop/queue" not in note
    one = what_if(snap("lab-healthy"), ["node/kplanediag-worker"])
    assert one.what_if is not None
    (note,) = [n for n in one.what_if.notes if n.startswith("nowhere to go")]
    assert "Deployment shop/cart: 1 pod" in note and "Deployment shop/web: 1 pod" in note


def test_prediction_on_the_healthy_lab_matches_the_lab_with_the_worker_silenced() -> None:
    """Two real captures of the lab (tests/unit/data): healthy, and with kplanediag-worker silenced.
    `what-if node/kplanediag-worker` on the first predicts the second's blast radius exactly."""
    from kplanediag.analysis.report import analyze  # noqa: PLC0415

    def impacts(report: Any) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], str]:
        b = next(b for b in report.blast_radius if b.failure.startswith("node failure"))
        work: list[tuple[str, ...]] = sorted(
            (w.kind, w.namespace, w.name, w.impact.value) for w in b.affected.workloads
        )
        return work, sorted((s.namespace, s.name, s.impact.value) for s in b.affected.services), b.summary

    predicted = impacts(what_if(snap("lab-healthy"), ["node/kplanediag-worker"]))
    real = impacts(analyze(snap("lab-worker-silenced")))
    assert predicted == real
    summary = "1 node failing (kplanediag-worker): 7 pods lost, 2 workload outage(s), 2 degraded, "
    assert predicted[2] == real[2] == summary + "1 Service(s) without endpoints"
