"""Causes, not symptoms: one root cause per failure with its effects under it, liveness from evidence,
clock skew, time-aware eviction. On the lab's real captures (tests/unit/data, made by
tests/unit/data/capture.py) and the real captures of ../shared/real-captures (sources in its README),
edited where a test says so."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kplanediag.analysis.model import Severity, Status
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.snapshot import format_time, parse_time
from kplanediag.snapshot.files import load_snapshot
from tests.unit.captures import CAPTURES, capture, capture_time, make_unschedulable, needs_captures
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
    report,
)

LAB = sorted(p.stem for p in (Path(__file__).parent / "data").glob("lab-*.json"))


def text(rep: Report) -> list[str]:
    return [line for b in rep.blast_radius for line in (b.summary, *b.effects, *b.breaks, *b.still_works)]


# --- clock skew -----------------------------------------------------------------------------------


def test_a_kubelet_clock_ten_minutes_behind_is_skew_not_a_dead_node() -> None:
    """The worker renews its Lease on time with timestamps 10 min old; the controller-manager leads and
    keeps the node Ready: the kubelet is alive (KPD-212 warning), no node failure, CoreDNS untouched."""
    rep = report("lab-healthy", lambda d: age_lease(d, "kube-node-lease", W1, 600))
    assert codes(rep) == [("KPD-212", W1)]
    f = rep.findings[0]
    assert f.severity is Severity.WARNING and "about 10 min behind" in f.message
    assert component(rep, "kubelet", W1).status is Status.HEALTHY
    assert rep.blast_radius == () and rep.status == "warning"


def test_a_kubelet_clock_thirty_days_ahead_is_skew() -> None:
    def edit(data: Raw) -> None:
        lease = find(data, "leases", W1, "kube-node-lease")
        lease["spec"]["renewTime"] = format_time(collected_at(data) + timedelta(days=30))

    rep = report("lab-healthy", edit)
    assert codes(rep) == [("KPD-212", W1)]
    assert "ahead of" in rep.findings[0].message
    assert component(rep, "kubelet", W1).status is Status.HEALTHY


@pytest.mark.parametrize(
    ("node_age", "kcm_age"),
    [
        (60, 0),  # past the Lease's 40 s but within the controller's grace: it has not marked it yet
        (600, 600),  # the controller-manager is not renewing its own Lease: no one re-judges the node
    ],
)
def test_a_stale_heartbeat_the_lifecycle_controller_cannot_vouch_for_is_a_silent_node(
    node_age: int, kcm_age: int
) -> None:
    def edit(data: Raw) -> None:
        age_lease(data, "kube-node-lease", W1, node_age)
        if kcm_age:
            age_lease(data, "kube-system", "kube-controller-manager", kcm_age)

    rep = report("lab-healthy", edit)
    assert ("KPD-202", W1) in codes(rep) and ("KPD-212", W1) not in codes(rep)
    assert component(rep, "kubelet", W1).status is Status.DOWN


# --- one cause, its effects -----------------------------------------------------------------------


def test_two_faults_are_two_causes_worst_scope_first() -> None:
    """The lab's silenced worker plus a scheduler whose Lease went stale: two independent root causes,
    each its own entry and its own effects; the silenced worker's CoreDNS replica is under the node."""
    rep = report("lab-worker-silenced", lambda d: age_lease(d, "kube-system", "kube-scheduler", 300))
    roots = [(b.cause.code, b.cause.subject) for b in rep.blast_radius if b.cause]
    assert roots == [("KPD-120", "kube-system/kube-scheduler"), ("KPD-201", W1)], roots
    assert [b.severity for b in rep.blast_radius] == [Severity.CRITICAL, Severity.CRITICAL]
    node = rep.blast_radius[1]
    assert any(e.startswith("CoreDNS degraded: 1 replica on") for e in node.effects), node.effects
    dns = next(f for f in rep.findings if f.code == "KPD-321")
    assert dns.caused_by == f"KPD-201 {W1}"


def kind_without_cni(data: dict[str, Any]) -> None:
    """The real kind 1.14 capture as a single-node kubeadm cluster whose CNI was never installed: the node
    NotReady by the kubelet's network check, with the not-ready taints; no kindnet pod; both CoreDNS pods
    Pending for 20 h on the not-ready taint (the scheduler's message of Kubernetes >= 1.24)."""
    items = data["items"]
    data["items"] = [i for i in items if not i["metadata"]["name"].startswith("kindnet")]
    at = parse_time(json.loads((CAPTURES / "capture-times.json").read_text())["kind-1.14-endpoints-leader-election"])
    assert at is not None
    since = format_time(at - timedelta(hours=20))
    for item in data["items"]:
        if item["kind"] == "Node":
            item["spec"]["taints"] = [
                {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": since},
            ]
            for cond in item["status"]["conditions"]:
                if cond["type"] == "Ready":
                    cond.update(
                        status="False",
                        reason="KubeletNotReady",
                        lastTransitionTime=since,
                        message="container runtime network not ready: NetworkReady=false "
                        "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
                    )
        if item["kind"] == "Pod" and item["metadata"]["name"].startswith("coredns-"):
            make_unschedulable(
                item,
                "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. "
                "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
                since,
            )


@needs_captures
def test_a_single_node_cluster_without_cni_is_one_cni_cause(tmp_path: Path) -> None:
    name = "kind-1.14-endpoints-leader-election"
    data = json.loads((CAPTURES / f"{name}.json").read_text())
    kind_without_cni(data)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    at = json.loads((CAPTURES / "capture-times.json").read_text())[name]
    rep = analyze(load_snapshot(path), parse_time(at))
    # the kubelet posts status and the control plane runs on the host network: all observed, none unknown
    for comp in ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "etcd"):
        assert {c.status for c in rep.components if c.name == comp} == {Status.HEALTHY}, comp
    assert {c.status for c in rep.components if c.name == "kubelet"} == {Status.DEGRADED}
    (entry,) = rep.blast_radius
    assert entry.cause is not None and entry.cause.code == "KPD-211" and entry.severity is Severity.CRITICAL
    assert any(e.startswith("CoreDNS down: 2 replicas Pending on the not-ready taint") for e in entry.effects)
    assert any("2 pods Pending on the not-ready taint" in e and "20 h" in e for e in entry.effects), entry.effects
    assert any("hostNetwork pods on them keep running" in s for s in entry.still_works), entry.still_works
    for f in rep.findings:
        if f.code in ("KPD-320", "KPD-233"):
            assert f.caused_by == "KPD-211 kind-control-plane", f
    lines = text(rep)
    assert not any("0 pods" in x or "0 nodes" in x or "goes with it" in x for x in lines), lines


# --- time-aware eviction ----------------------------------------------------------------------------


def test_eviction_is_said_before_and_after_it_is_due() -> None:
    """The silenced worker's pods tolerate the unreachable taint for 300 s (the API server's default)."""
    before = report("lab-worker-silenced")
    (entry,) = before.blast_radius
    assert any(f"pods on {W1} are evicted in" in s and "tolerated for 300s" in s for s in entry.still_works)
    ready = next(c for c in find_node(W1)["status"]["conditions"] if c["type"] == "Ready")
    changed = parse_time(ready["lastTransitionTime"])
    assert changed is not None
    later = changed + timedelta(minutes=20)
    after = report("lab-worker-silenced", now=later)
    (entry,) = after.blast_radius
    assert any(f"pods on {W1} were due for eviction 15 min ago" in s for s in entry.still_works), entry.still_works


def find_node(name: str) -> Raw:
    from tests.unit.factories import raw  # noqa: PLC0415

    return find(raw("lab-worker-silenced"), "nodes", name)


# --- every word consistent with the evidence -------------------------------------------------------


def every_report() -> list[tuple[str, Report]]:
    reports = [(name, report(name)) for name in LAB]
    if CAPTURES.is_dir():
        times = json.loads((CAPTURES / "capture-times.json").read_text())
        reports += [(n, analyze(load_snapshot(CAPTURES / f"{n}.json"), parse_time(at))) for n, at in times.items()]
    return reports


def test_no_report_counts_nothing_as_zero_or_calls_an_unknown_component_down() -> None:
    for name, rep in every_report():
        lines = text(rep)
        assert not any("0 pods on 0 nodes" in x or "for 0 pods in 0 namespaces" in x for x in lines), (name, lines)
        unknown = {(c.name, c.node) for c in rep.components if c.status is Status.UNKNOWN and c.node}
        for comp, node in unknown:
            assert not any(f"{comp} on {node} is down" in x for x in lines), (name, comp, node)
        # one entry per root cause, worst first
        roots = [b.cause.key for b in rep.blast_radius if b.cause and b.failure_class != "quorum-lost"]
        assert len(roots) == len(set(roots)), (name, roots)
        ranks = [b.severity.rank for b in rep.blast_radius]
        assert ranks == sorted(ranks, reverse=True), (name, [b.failure for b in rep.blast_radius])
        # every entry counts what keeps running alike: the pods of failing nodes never among them
        running = {
            re.search(r"(\d+) pods? on (\d+) nodes? keep running", x).groups()  # type: ignore[union-attr]
            for x in lines
            if re.search(r"\d+ pods? on \d+ nodes? keep running", x)
        }
        assert len(running) <= 1, (name, running)
        # a finding explained by another names a root that is itself a finding of the report
        keys = {f.key for f in rep.findings}
        assert all(f.caused_by in keys for f in rep.findings if f.caused_by), name


def test_the_single_api_server_that_answered_is_alive_on_a_silent_node() -> None:
    """The lab has one control-plane node: its kubelet silenced, the API server still answered the lists."""

    def edit(data: Raw) -> None:
        node = find(data, "nodes", CP)
        for cond in node["status"]["conditions"]:
            if cond["type"] == "Ready":
                cond.update(status="Unknown", reason="NodeStatusUnknown")
        age_lease(data, "kube-node-lease", CP, 600)

    rep = report("lab-healthy", edit)
    api = component(rep, "kube-apiserver", CP)
    assert api.status is Status.HEALTHY and "answered this check" in api.detail
    assert component(rep, "kube-scheduler", CP).status is Status.UNKNOWN
    (entry,) = rep.blast_radius
    assert entry.cause is not None and entry.cause.key == f"KPD-201 {CP}"


@needs_captures
def test_a_silent_master_of_three_is_one_entry_with_etcd_and_the_api_server_under_it(tmp_path: Path) -> None:
    """The real OpenShift 4.8 capture (3 masters: static etcd, kube-apiserver, KCM, scheduler pods) with
    one master's Ready condition set Unknown, as the node lifecycle controller leaves a silent node (the
    shape of the HA kind e2e's paused control-plane node)."""
    name = "openshift-4.8-aws-sdn-healthy"
    data = json.loads((CAPTURES / f"{name}.json").read_text())
    master = next(
        i for i in data["items"] if i["kind"] == "Node" and "node-role.kubernetes.io/master" in i["metadata"]["labels"]
    )
    for cond in master["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.")
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    at = json.loads((CAPTURES / "capture-times.json").read_text())[name]
    rep = analyze(load_snapshot(path), parse_time(at))
    node = master["metadata"]["name"]
    first = rep.blast_radius[0]
    assert first.cause is not None and first.cause.key == f"KPD-201 {node}"
    assert any("etcd 2/3 (quorum 2)" in e for e in first.effects), first.effects
    assert any("writes work" in s for s in first.still_works), first.still_works
    assert not [b for b in rep.blast_radius if b.failure.startswith(("etcd", "kube-apiserver"))], rep.blast_radius
    assert [b.severity for b in rep.blast_radius].count(Severity.CRITICAL) == 1
    for f in rep.findings:
        if f.code in ("KPD-112", "KPD-104", "KPD-124"):
            assert f.caused_by == f"KPD-201 {node}", f


def test_kubelets_that_went_silent_together_point_to_a_shared_cause() -> None:
    """The lab's silenced worker, and the second worker's Ready condition made Unknown 20 s later (as
    the node lifecycle controller leaves a silent node): one entry, both nodes, a shared cause named."""

    def edit(data: Raw) -> None:
        first = next(c for c in find(data, "nodes", W1)["status"]["conditions"] if c["type"] == "Ready")
        ready = next(c for c in find(data, "nodes", W2)["status"]["conditions"] if c["type"] == "Ready")
        changed = parse_time(first["lastTransitionTime"])
        assert changed is not None
        ready.update(
            status="Unknown",
            reason="NodeStatusUnknown",
            lastTransitionTime=format_time(changed + timedelta(seconds=20)),
        )
        age_lease(data, "kube-node-lease", W2, 100)

    rep = report("lab-worker-silenced", edit)
    (entry,) = [b for b in rep.blast_radius if b.failure_class == "node-failure"]
    assert entry.affected.nodes == (W1, W2)
    assert any("2 nodes went silent within 20s of each other" in e for e in entry.effects), entry.effects
    alone = report("lab-worker-silenced")
    assert not any("went silent within" in e for b in alone.blast_radius for e in b.effects)


def test_a_lease_renewed_between_two_reads_is_a_live_kubelet_whatever_its_clock() -> None:
    """Two reads of the same node Lease: renewed since the first (10 min behind the API server's clock
    both times) is a live kubelet with a skewed clock, even with the controller-manager silent (nobody
    re-judges Ready); not renewed since is a silent kubelet. (The polling loop passes the renewals.)"""
    from kplanediag.analysis.index import node_renewals  # noqa: PLC0415
    from tests.unit.factories import snap  # noqa: PLC0415

    def behind(seconds: int) -> Callable[[Raw], None]:
        def edit(data: Raw) -> None:
            age_lease(data, "kube-node-lease", W1, seconds)
            age_lease(data, "kube-system", "kube-controller-manager", 600)

        return edit

    first = snap("lab-healthy", behind(610))
    second = snap("lab-healthy", behind(600))
    moved = analyze(second, renewals=node_renewals(first))
    assert ("KPD-212", W1) in codes(moved) and ("KPD-202", W1) not in codes(moved)
    assert component(moved, "kubelet", W1).status is Status.HEALTHY
    still = analyze(second, renewals=node_renewals(second))
    assert ("KPD-202", W1) in codes(still) and component(still, "kubelet", W1).status is Status.DOWN


@needs_captures
def test_an_eviction_that_already_happened_is_said_as_past_with_its_replacements(tmp_path: Path) -> None:
    """The real EKS 1.31 capture with node ip-10-0-10-170 Unknown for 26 min (as the node lifecycle
    controller leaves it), its two CoreDNS pods evicted at 300 s (deletionTimestamp, Terminating on the
    silent node) and one replacement Ready on the other node, as the ReplicaSet controller makes it."""
    lost, other = "ip-10-0-10-170.ec2.internal", "ip-10-0-20-143.ec2.internal"
    at = capture_time("eks-1.31-vpc-cni-healthy")

    def edit(data: dict[str, Any]) -> None:
        since = at - timedelta(minutes=26)
        for item in list(data["items"]):
            if item["kind"] == "Node" and item["metadata"]["name"] == lost:
                for cond in item["status"]["conditions"]:
                    if cond["type"] == "Ready":
                        cond.update(status="Unknown", reason="NodeStatusUnknown", lastTransitionTime=format_time(since))
            if item["kind"] == "Lease" and item["metadata"]["name"] == lost:
                item["spec"]["renewTime"] = format_time(since - timedelta(seconds=40))
            if item["kind"] == "Pod" and item["metadata"]["name"].startswith("coredns-"):
                item["metadata"]["deletionTimestamp"] = format_time(since + timedelta(seconds=300))
                if item["metadata"]["name"].endswith("knmwr"):
                    twin = json.loads(json.dumps(item))
                    twin["metadata"].pop("deletionTimestamp")
                    twin["metadata"].update(name="coredns-789f8477df-r3pl1", uid="replacement")
                    twin["spec"]["nodeName"] = other
                    data["items"].append(twin)

    rep = analyze(capture("eks-1.31-vpc-cni-healthy", tmp_path, edit), at)
    (entry,) = [b for b in rep.blast_radius if b.failure_class == "node-failure"]
    assert entry.cause is not None and entry.cause.key == f"KPD-201 {lost}"
    eviction = next(s for s in entry.still_works if "eviction" in s)
    assert "were due for eviction 21 min ago" in eviction and "2 of 2 pods marked for deletion" in eviction, eviction
    assert not any("evicted in" in s or "after 300" in s for s in entry.still_works)


def test_kube_proxy_down_on_two_nodes_is_one_entry() -> None:
    """The lab's kube-proxy fault (its pod on kplanediag-worker2 not ready), and the same on
    kplanediag-worker (its pod's Ready condition set False): one add-on, one entry, both nodes, as
    after a DaemonSet rolled to an image that cannot start."""

    def edit(data: Raw) -> None:
        pod = next(
            p
            for p in items(data, "pods")
            if p["metadata"]["name"].startswith("kube-proxy") and p["spec"]["nodeName"] == W1
        )
        for cond in pod["status"]["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"

    rep = report("lab-kube-proxy-unready", edit)
    (entry,) = rep.blast_radius
    assert entry.failure == f"kube-proxy down on {W1}, {W2}" and entry.affected.nodes == (W1, W2)
    assert entry.cause is not None and entry.cause.code == "KPD-300"


def test_a_pod_that_cannot_pull_its_image_says_so_and_daemon_pods_are_not_evicted() -> None:
    """The lab's kube-proxy fault, its pod on kplanediag-worker2 waiting with ErrImagePull (as after a
    rollout to an image that cannot be pulled, tests/e2e/test_kind_faults.py); and the silenced worker with
    only its DaemonSet pods left (the application pods edited away): nothing there is evicted."""

    def pull(data: Raw) -> None:
        pod = next(
            p
            for p in items(data, "pods")
            if p["metadata"]["name"].startswith("kube-proxy") and p["spec"]["nodeName"] == W2
        )
        pod["status"]["phase"] = "Pending"
        pod["status"]["containerStatuses"] = [
            {"name": "kube-proxy", "ready": False, "state": {"waiting": {"reason": "ErrImagePull"}}}
        ]

    rep = report("lab-kube-proxy-unready", pull)
    assert component(rep, "kube-proxy", W2).detail == "pod ErrImagePull"

    def daemons_only(data: Raw) -> None:
        data["resources"]["pods"] = [
            p
            for p in items(data, "pods")
            if p["spec"].get("nodeName") != W1 or p["metadata"]["name"].startswith(("kube-proxy", "kindnet"))
        ]

    rep = report("lab-worker-silenced", daemons_only)
    (entry,) = [b for b in rep.blast_radius if b.failure_class == "node-failure"]
    assert any(s.startswith("no pod on the failed nodes is evicted") for s in entry.still_works), entry.still_works


@needs_captures
def test_a_crash_looping_cni_agent_on_a_node_its_kubelet_calls_network_not_ready_is_one_cause(tmp_path: Path) -> None:
    """The real kind 1.14 capture made NotReady by the kubelet's network check (as in the single-node
    case above), its kindnet pod kept and made CrashLoopBackOff: one CNI cause, the agent pod's state
    under it; the node's CNI component is the kubelet's word, not the pod's."""

    def edit(data: dict[str, Any]) -> None:
        kindnet = next(i for i in data["items"] if i["metadata"]["name"].startswith("kindnet"))
        kind_without_cni(data)
        kindnet["status"]["containerStatuses"] = [
            {
                "name": "kindnet-cni",
                "ready": False,
                "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            }
        ]
        for cond in kindnet["status"]["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
        data["items"].append(kindnet)

    name = "kind-1.14-endpoints-leader-election"
    rep = analyze(capture(name, tmp_path, edit), capture_time(name))
    (entry,) = rep.blast_radius
    assert entry.cause is not None and entry.cause.code == "KPD-211"
    assert any("cni pod on kind-control-plane not ready" in e and "CrashLoopBackOff" in e for e in entry.effects)
    (cni,) = [c for c in rep.components if c.name == "cni" and c.node]
    assert cni.detail == "network plugin not ready"
    (agent,) = [f for f in rep.findings if f.code == "KPD-310"]
    assert agent.caused_by == "KPD-211 kind-control-plane"
