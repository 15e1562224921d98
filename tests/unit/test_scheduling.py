"""Scheduling and eviction faults (analysis/scheduling) on real captures (../shared/real-captures,
sources in its README): the HA kubeadm 1.8 capture's 186 Pending pods, the healthy captures saying
nothing, and faults made by editing a real capture in the test (each test says which and how)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import CLASSES
from kplanediag.analysis.model import Severity
from kplanediag.analysis.report import analyze
from kplanediag.analysis.scheduling import Scheduling, Why, assess_scheduling, pending_pods
from kplanediag.analysis.scheduling.messages import parse
from tests.unit.captures import CAPTURES, Edit, capture, capture_index, capture_time, make_unschedulable, needs_captures

pytestmark = needs_captures
TIMES: dict[str, str] = json.loads((CAPTURES / "capture-times.json").read_text()) if CAPTURES.is_dir() else {}
HA = "kubeadm-1.8-ha-master-kubelet-unknown"


def index(name: str, tmp_path: Path | None = None, edit: Edit | None = None) -> ClusterIndex:
    return capture_index(name, tmp_path, edit)


def run(name: str, tmp_path: Path | None = None, edit: Edit | None = None) -> Scheduling:
    return assess_scheduling(index(name, tmp_path, edit))


def items(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [i for i in data["items"] if i["kind"] == kind]


def node(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in items(data, "Node") if n["metadata"]["name"] == name)


def taint(data: dict[str, Any], name: str, key: str, effect: str) -> None:
    node(data, name)["spec"].setdefault("taints", []).append({"key": key, "effect": effect})


def codes(s: Scheduling) -> list[str]:
    return [f.code for f in s.findings]


def test_the_ha_capture_has_186_pods_pending_for_capacity_not_for_its_cordoned_masters() -> None:
    s = run(HA)
    (group,) = s.pending
    assert group.reason is Why.CAPACITY and len(group.pods) == 186
    assert group.detail == "Insufficient pods" and group.on_nodes == 2
    assert group.nodes == ()  # capacity: the message does not say which nodes
    assert group.workloads[0][0] == "Deployment" and len(group.workloads) == 186
    assert group.oldest_seconds is not None and group.oldest_seconds > 300
    (f,) = s.findings
    assert (f.code, f.severity, f.subject) == ("KPD-233", Severity.WARNING, "capacity")
    assert "capacity keeps them Pending (Insufficient pods on 2 nodes" in f.message
    assert "186 pods" in f.message and "and 183 more" in f.message
    assert "No nodes are available that match all of the predicates" in f.message
    assert f.since == group.since
    (b,) = s.blast
    assert b.cause is f and b.scope == "workloads" and b.failure_class in CLASSES
    assert b.affected.pods == 186 and len(b.affected.workloads) == 186
    assert any("cannot reach their desired replicas" in x for x in b.breaks)
    assert any("keep running" in x for x in b.still_works)


def test_pending_pods_younger_than_the_policy_patience_are_grouped_but_not_reported() -> None:
    """The HA capture judged 60 s after its oldest pending pod became Unschedulable."""
    idx = index(HA)
    (group,) = pending_pods(idx)
    assert group.since is not None
    s = assess_scheduling(idx, group.since + timedelta(seconds=60))
    assert codes(s) == [] and s.pending and len(s.pending[0].pods) <= 186


@pytest.mark.parametrize("name", sorted(n for n in TIMES if n != HA))
def test_real_captures_without_a_scheduling_fault_say_nothing(name: str) -> None:
    s = run(name)
    assert (s.findings, s.blast, s.pending) == ((), (), ())


def test_nothing_is_said_when_pods_were_not_read(tmp_path: Path) -> None:
    """gke-1.10-node-npd-conditions is a nodes-only List; edited to cordon its only node, which with
    pods read could be KPD-232: without them nothing is said."""

    def cordon(data: dict[str, Any]) -> None:
        items(data, "Node")[0]["spec"]["unschedulable"] = True

    idx = index("gke-1.10-node-npd-conditions", tmp_path, cordon)
    assert not idx.has("pods") and idx.nodes
    assert assess_scheduling(idx) == Scheduling((), (), ())


def test_the_scheduler_message_of_every_release_is_read() -> None:
    """The HA capture's 1.8 message (verbatim) and the 1.27+ wording the scheduler writes."""
    old = parse(
        "No nodes are available that match all of the predicates: Insufficient pods (2), NodeNotReady (1), "
        "NodeUnschedulable (3)."
    )
    assert [(r.why, r.nodes) for r in old.reasons] == [(Why.CAPACITY, 2), (Why.NOT_READY, 1), (Why.CORDONED, 3)]
    new = parse(
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient "
        "cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption "
        "victims found for incoming pod.."
    )
    assert new.considered == 3
    assert [(r.why, r.nodes, r.taint) for r in new.reasons] == [
        (Why.NOT_READY, 1, "node.kubernetes.io/not-ready"),
        (Why.CAPACITY, 2, ""),
    ]


def test_pods_kept_pending_by_not_ready_nodes_name_those_nodes(tmp_path: Path) -> None:
    """kurl-1.23-weave-3nodes edited: workers 002 and 003 NotReady with the not-ready taint, and the
    velero pods made Pending Unschedulable with the message a 1.23 scheduler writes for that."""
    message = (
        "0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't "
        "tolerate, 2 node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate."
    )

    def edit(data: dict[str, Any]) -> None:
        taint(data, "troubleshoot-demo-001", "node-role.kubernetes.io/master", "NoSchedule")
        for name in ("troubleshoot-demo-002", "troubleshoot-demo-003"):
            taint(data, name, "node.kubernetes.io/not-ready", "NoSchedule")
            for c in node(data, name)["status"]["conditions"]:
                if c["type"] == "Ready":
                    c["status"] = "False"
        for pod in items(data, "Pod"):
            if pod["metadata"]["name"].startswith("velero-"):
                make_unschedulable(pod, message, "2022-04-12T00:40:00Z")

    s = run("kurl-1.23-weave-3nodes", tmp_path, edit)
    (group,) = s.pending
    assert group.reason is Why.NOT_READY and group.taint == "node.kubernetes.io/not-ready"
    assert group.nodes == ("troubleshoot-demo-002", "troubleshoot-demo-003")
    assert {w[2] for w in group.workloads} == {"velero"}
    (f,) = s.findings
    assert f.code == "KPD-233" and "nodes not ready" in f.message and "19 min" in f.message


def cordon_with_budget(data: dict[str, Any], worker: str, hold: bool) -> None:
    """Cordon ``worker`` and, with ``hold``, add a budget with minAvailable equal to the count of the
    pods it selects (the labels of the first Deployment pod on the worker)."""
    node(data, worker)["spec"]["unschedulable"] = True
    if not hold:
        return
    pod = next(
        p
        for p in items(data, "Pod")
        if p["spec"].get("nodeName") == worker
        and any(o.get("kind") == "ReplicaSet" for o in p["metadata"].get("ownerReferences", []))
    )
    labels = dict(pod["metadata"]["labels"])
    matched = [
        p
        for p in items(data, "Pod")
        if p["metadata"]["namespace"] == pod["metadata"]["namespace"]
        and all(p["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())
    ]
    data["items"].append(
        {
            "kind": "PodDisruptionBudget",
            "apiVersion": "policy/v1",
            "metadata": {"name": "hold-all", "namespace": pod["metadata"]["namespace"]},
            "spec": {"selector": {"matchLabels": labels}, "minAvailable": len(matched)},
        }
    )


WORKER = "ip-10-0-151-183.ec2.internal"


def test_a_cordoned_node_whose_pods_a_budget_holds_is_a_blocked_drain(tmp_path: Path) -> None:
    """openshift-4.8-aws-sdn-healthy edited: worker ip-10-0-151-183 cordoned, and a PodDisruptionBudget
    (no status) with minAvailable equal to the count of the pods it selects, over a Deployment pod on it."""
    s = run("openshift-4.8-aws-sdn-healthy", tmp_path, lambda d: cordon_with_budget(d, WORKER, True))
    (f,) = [f for f in s.findings if f.code == "KPD-230"]
    assert f.subject == WORKER and f.severity is Severity.WARNING
    assert "/hold-all" in f.message and "computed from its spec" in f.message
    (b,) = [b for b in s.blast if b.cause is f]
    assert b.affected.nodes == (WORKER,) and b.affected.disruption_budgets[0].endswith("/hold-all")
    assert any("kubectl drain" in x for x in b.breaks) and b.failure_class in CLASSES


def test_a_cordoned_node_whose_budgets_allow_a_disruption_is_not_blocked(tmp_path: Path) -> None:
    """openshift-4.8-aws-sdn-healthy edited: the same worker cordoned; its real budgets (router,
    registry, monitoring) each allow one disruption (currentHealthy 2, desiredHealthy 1)."""
    s = run("openshift-4.8-aws-sdn-healthy", tmp_path, lambda d: cordon_with_budget(d, WORKER, False))
    assert "KPD-230" not in codes(s)


def test_a_budget_status_allowing_nothing_blocks_the_drain_of_its_pods_node(tmp_path: Path) -> None:
    """openshift-4.8-aws-sdn-healthy edited: router-default's status says currentHealthy 1 (of
    desiredHealthy 1), and the node of one router pod is cordoned."""
    nodes: list[str] = []

    def edit(data: dict[str, Any]) -> None:
        pdb = next(p for p in items(data, "PodDisruptionBudget") if p["metadata"]["name"] == "router-default")
        pdb["status"]["currentHealthy"] = 1
        router = next(p for p in items(data, "Pod") if p["metadata"]["namespace"] == "openshift-ingress")
        nodes.append(router["spec"]["nodeName"])
        node(data, nodes[0])["spec"]["unschedulable"] = True

    s = run("openshift-4.8-aws-sdn-healthy", tmp_path, edit)
    (f,) = [f for f in s.findings if f.code == "KPD-230"]
    assert f.subject == nodes[0] and "openshift-ingress/router-default (1 healthy, needs 1)" in f.message


def test_no_schedule_on_every_node_leaves_no_node_for_new_pods(tmp_path: Path) -> None:
    """kurl-1.23-weave-3nodes edited: a NoSchedule taint example.com/reserved on all three nodes."""

    def edit(data: dict[str, Any]) -> None:
        for n in items(data, "Node"):
            taint(data, n["metadata"]["name"], "example.com/reserved", "NoSchedule")

    s = run("kurl-1.23-weave-3nodes", tmp_path, edit)
    (f,) = s.findings
    assert (f.code, f.severity, f.subject) == ("KPD-232", Severity.CRITICAL, "cluster")
    assert "troubleshoot-demo-002 taint example.com/reserved:NoSchedule" in f.message
    assert "Deployment minio/minio" in f.message or "and " in f.message
    (b,) = s.blast
    assert b.scope == "cluster" and len(b.affected.nodes) == 3
    assert {w.name for w in b.affected.workloads} >= {"minio", "registry", "velero"}
    assert "coredns" not in {w.name for w in b.affected.workloads}  # a component (cluster DNS), not ordinary
    assert any("running pods keep running" in x for x in b.still_works)


def test_a_control_plane_taint_with_workers_free_is_normal(tmp_path: Path) -> None:
    """kurl-1.23-weave-3nodes edited: the control-plane taint on 001 and a cordon on 002; 003 is free."""

    def edit(data: dict[str, Any]) -> None:
        taint(data, "troubleshoot-demo-001", "node-role.kubernetes.io/control-plane", "NoSchedule")
        node(data, "troubleshoot-demo-002")["spec"]["unschedulable"] = True

    assert codes(run("kurl-1.23-weave-3nodes", tmp_path, edit)) == []


def test_a_no_execute_taint_evicting_pods_with_nowhere_to_go_is_critical(tmp_path: Path) -> None:
    """kurl-1.23-weave-3nodes edited: NoExecute example.com/maintenance on 001 (where nearly every
    Deployment runs) and NoSchedule example.com/reserved on 002 and 003."""

    def edit(data: dict[str, Any]) -> None:
        taint(data, "troubleshoot-demo-001", "example.com/maintenance", "NoExecute")
        for name in ("troubleshoot-demo-002", "troubleshoot-demo-003"):
            taint(data, name, "example.com/reserved", "NoSchedule")

    s = run("kurl-1.23-weave-3nodes", tmp_path, edit)
    (f,) = [f for f in s.findings if f.code == "KPD-231"]
    assert f.subject == "troubleshoot-demo-001" and f.severity is Severity.CRITICAL
    assert "example.com/maintenance:NoExecute" in f.message and "no ready replica left" in f.message
    (b,) = [b for b in s.blast if b.cause is f]
    names = {w.name for w in b.affected.workloads}
    assert {"minio", "registry", "contour"} <= names
    assert "kube-proxy" not in names and "etcd-troubleshoot-demo-001" not in names  # DaemonSet, mirror pod
    assert "coredns" in names  # it tolerates the control-plane taints, not these
    assert "KPD-232" in codes(s)


def test_a_no_execute_taint_with_other_nodes_open_strands_only_what_is_pinned(tmp_path: Path) -> None:
    """kurl-1.23-weave-3nodes edited: NoExecute example.com/maintenance on 001 only. The workloads it
    evicts reschedule on 002 and 003 (ordinary), except kurl's ekc-operator, whose nodeSelector
    (node-role.kubernetes.io/master) only 001 matches: it alone is stranded (KPD-231)."""
    s = run(
        "kurl-1.23-weave-3nodes",
        tmp_path,
        lambda d: taint(d, "troubleshoot-demo-001", "example.com/maintenance", "NoExecute"),
    )
    assert codes(s) == ["KPD-231"]
    (b,) = [b for b in s.blast if b.cause is s.findings[0]]
    assert {(w.kind, w.namespace, w.name) for w in b.affected.workloads} == {("Deployment", "kurl", "ekc-operator")}


def test_the_1_36_message_without_a_taint_key_is_read_and_the_key_told_by_the_nodes(tmp_path: Path) -> None:
    """Kubernetes 1.36's scheduler (the lab's, verbatim) names no key ("had untolerated taint(s)") and adds a
    sentence after the node reasons: the key comes from the nodes' taints the pod does not tolerate.
    kurl-1.23-weave-3nodes edited: NoSchedule example.com/reserved on every node, velero's pod Pending with
    that message for 19 min; then analyzed whole: the Pending pods are an effect of KPD-232."""
    message = (
        "0/3 nodes are available: 3 node(s) had untolerated taint(s). no new claims to deallocate, preemption: "
        "0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )
    verdict = parse(message)
    assert [(r.why, r.nodes, r.text) for r in verdict.reasons] == [(Why.TAINT, 3, "node(s) had untolerated taint(s)")]

    def edit(data: dict[str, Any]) -> None:
        for n in items(data, "Node"):
            taint(data, n["metadata"]["name"], "example.com/reserved", "NoSchedule")
        pod = next(p for p in items(data, "Pod") if p["metadata"]["name"].startswith("velero-"))
        make_unschedulable(pod, message, "2022-04-12T00:40:00Z")

    s = run("kurl-1.23-weave-3nodes", tmp_path, edit)
    (group,) = [g for g in s.pending if g.reason is Why.TAINT]
    assert group.taint == "example.com/reserved" and len(group.nodes) == 3
    rep = analyze(capture("kurl-1.23-weave-3nodes", tmp_path, edit), capture_time("kurl-1.23-weave-3nodes"))
    pending = next(f for f in rep.findings if f.code == "KPD-233")
    assert pending.subject == "taint example.com/reserved" and pending.caused_by == "KPD-232 cluster"
    (entry,) = [b for b in rep.blast_radius if b.cause and b.cause.code in ("KPD-232", "KPD-233")]
    assert entry.cause is not None and entry.cause.code == "KPD-232"
    assert any("Deployment velero/velero" in e for e in entry.effects), entry.effects
