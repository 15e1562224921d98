"""Root causes and their effects on the real lab cluster (a real control plane, kwok kubelets): every
worker's kubelet silenced, a kubelet whose clock is skewed, a drain a PodDisruptionBudget blocks, a
NoExecute taint under a pinned workload, NoSchedule on every node (lab/node_faults.py).

Each test asserts the root cause (the first blast-radius entry: its cause's code, subject and plane),
the effects linked to it, and that nothing else is blamed: no other critical entry, no control-plane
component down. Workloads live in namespace kpd-causes, taints use kpd-test/* keys; every fault is
undone on exit (the ``lab`` fixture restores the shared lab before and after). ``-s`` prints times.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kplanediag.analysis.knowledge.policy import policy
from lab import labctl
from lab import node_faults as nf
from tests.e2e.conftest import Cluster

pytestmark = pytest.mark.timeout(240)

Doc = dict[str, Any]
WORKER = "kplanediag-worker"
SHIFT = 600  # seconds the skewed kubelet's clock is behind


@pytest.fixture(autouse=True)
def timed(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    start = time.monotonic()
    yield
    with capsys.disabled():
        print(f"\n[time] {request.node.name}: {time.monotonic() - start:.1f}s")


def codes(doc: Doc) -> set[str]:
    """The codes of the findings, another test's concurrent cross-plane faults left out."""
    return {f["code"] for f in doc["findings"] if not concurrent(f)}


def summary(doc: Doc) -> str | None:
    """The report's status, or None while another test's fault is in it too (it counts in the status)."""
    return None if any(concurrent(f) for f in doc["findings"]) else str(doc["summary"]["status"])


def findings(doc: Doc, code: str) -> list[Doc]:
    return [f for f in doc["findings"] if f["code"] == code]


def status(doc: Doc, name: str, node: str | None = None) -> str | None:
    return next((c["status"] for c in doc["components"] if c["name"] == name and c["node"] == node), None)


def entries(doc: Doc) -> list[Doc]:
    """The blast radius, worst first, another test's concurrent faults left out."""
    return [b for b in doc["blastRadius"] if not concurrent(b)]


def root(doc: Doc) -> Doc:
    """The first blast-radius entry: the worst root cause."""
    assert entries(doc), f"no blast-radius entry; findings: {[f['code'] for f in doc['findings']]}"
    return entries(doc)[0]


def concurrent(item: Doc) -> bool:
    """A finding or blast-radius entry of another test's cross-plane fault on the shared lab
    (tests/e2e/test_cross_plane_faults.py: its webhooks and APIServices are all named kpd-test*)."""
    subject = item["subject"] if "subject" in item else (item.get("cause") or {}).get("subject")
    return item["plane"] == "cross-plane" and "kpd-test" in str(subject)


def others_critical(doc: Doc) -> list[str]:
    """Critical blast-radius entries after the first: other causes blamed."""
    return [f"{b['failure']} ({b['cause']})" for b in entries(doc)[1:] if b["severity"] == "critical"]


def control_plane_down(doc: Doc) -> list[str]:
    return [
        f"{c['name']}@{c['node']}" for c in doc["components"] if c["plane"] == "control-plane" and c["status"] == "down"
    ]


def workloads(entry: Doc) -> dict[tuple[str, str, str], str]:
    return {(w["kind"], w["namespace"], w["name"]): w["impact"] for w in entry["affected"]["workloads"]}


def save(doc: Doc, name: str) -> Path:
    """Keep the report beside the test's temporary files (and under /tmp/h/ when it exists) for a reader."""
    where = Path("/tmp/h") if Path("/tmp/h").is_dir() else Path("/tmp")
    path = where / f"causes-{name}.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def poll(cluster: Cluster, what: str, predicate: Callable[[Doc], bool], *extra: str, timeout: float = 60) -> Doc:
    """Like Cluster.wait_report, with extra arguments for `check` (a --config)."""
    deadline = time.monotonic() + timeout
    doc: Doc = {}
    while time.monotonic() < deadline:
        _, doc = cluster.report("check", *extra)
        if predicate(doc):
            return doc
        time.sleep(1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last report saved in {save(doc, 'timeout')}")


def patience(tmp_path: Path, seconds: float) -> str:
    """A per-cluster config (docs/config.md) shortening KPD-233's patience from the policy's 300 s."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"default": {"policy": {"unschedulable_patience": seconds}}}))
    return str(path)


# --- 1. every worker's kubelet at once -------------------------------------------------------------


def test_every_worker_silenced_is_one_node_failure_not_the_control_plane(cluster: Cluster, lab: labctl.Lab) -> None:
    """kwok stops heartbeating both workers at once: after the lab's 20 s grace the node lifecycle
    controller marks them Unknown. One cause: one node-failure entry naming both, rooted on a worker's
    KPD-201/202; CoreDNS losing its replica there and the add-ons there are its effects, not causes."""
    names = nf.workers(lab)
    assert len(names) >= 2, names
    with nf.silenced(lab, names):
        doc = cluster.wait_report(
            "every worker's kubelet down in one node-failure entry",
            lambda d: (
                all(status(d, "kubelet", n) == "down" for n in names)
                and bool(entries(d))
                and sorted(entries(d)[0]["affected"]["nodes"]) == names
            ),
        )
    save(doc, "all-workers")
    entry = root(doc)
    assert entry["failure"].startswith("node failure"), entry["failure"]
    assert entry["class"] == "node-failure" and entry["severity"] == "critical" and entry["plane"] == "data-plane"
    assert entry["cause"]["code"] in ("KPD-201", "KPD-202") and entry["cause"]["subject"] in names, entry["cause"]
    assert not [b for b in entries(doc)[1:] if b["class"] == "node-failure"], "one entry for one cause"
    assert others_critical(doc) == []
    assert control_plane_down(doc) == [] and status(doc, "kubelet", "kplanediag-control-plane") == "healthy"
    assert {f["subject"] for f in doc["findings"] if f["code"] in ("KPD-201", "KPD-202")} == set(names)
    # everything else said is explained by the root: linked to it, and listed as its effects
    label = f"{entry['cause']['code']} {entry['cause']['subject']}"
    roots = ("KPD-200", "KPD-201", "KPD-202")
    effects = [f for f in doc["findings"] if f["code"] not in roots and f["severity"] != "info" and not concurrent(f)]
    assert [f"{f['code']} {f['subject']}" for f in effects if f["causedBy"] != label] == []
    assert any(e.startswith("CoreDNS") for e in entry["effects"]), entry["effects"]
    assert any(n in e and "kube-proxy" in e for e in entry["effects"] for n in names), entry["effects"]
    impact = workloads(entry)
    assert impact[("Deployment", "shop", "web")] == "outage"  # its replicas were on the two workers
    assert impact[("StatefulSet", "payments", "ledger")] == "outage"
    assert summary(doc) in ("critical", None)


# --- 2. a kubelet whose clock is behind ------------------------------------------------------------


def lab_grace_seconds(lab: labctl.Lab) -> float:
    """The controller-manager's --node-monitor-grace-period in the lab (lab/kwokctl.yaml.in)."""
    doc = yaml.safe_load(labctl.kwokctl_config(lab, lab.root / "audit-policy.yaml"))
    patch = next(p for p in doc["componentsPatches"] if p["name"] == "kube-controller-manager")
    value = next(a["value"] for a in patch["extraArgs"] if a["key"] == "node-monitor-grace-period")
    assert str(value).endswith("s"), value
    return float(str(value)[:-1])


def test_kubelet_clock_behind_is_skew_not_a_dead_node(cluster: Cluster, lab: labctl.Lab) -> None:
    """kwok stops heartbeating one worker; the test renews its Lease every 2 s, renewTime and
    acquireTime 10 min in the past (a kubelet skewed since before the controller-manager, restarted
    for that, started watching: lab/node_faults.skewed_kubelet says why). The node lifecycle controller
    sees renewTime move forward and keeps the node Ready past its grace period: the kubelet is alive,
    its clock is wrong (KPD-212)."""
    grace = lab_grace_seconds(lab)
    duration = nf.lease(lab, "kube-node-lease", WORKER)["spec"]["leaseDurationSeconds"]
    assert 10 * (duration + grace) <= SHIFT, (SHIFT, duration, grace)  # 600 s against 10 s + 20 s
    assert 10 * (duration + policy("node_monitor_grace")) <= SHIFT  # and kplanediag's assumed grace (50 s)
    with nf.skewed_kubelet(lab, WORKER, SHIFT) as kubelet:
        time.sleep(max(0.0, grace + 5 - (time.monotonic() - kubelet.leading_since)))  # Unknown by now if not taken
        doc = cluster.wait_report("KPD-212 on the skewed kubelet", lambda d: "KPD-212" in codes(d), timeout=30)
        ready = labctl.node_ready(lab, WORKER)
        renew = nf.lease(lab, "kube-node-lease", WORKER)["spec"]["renewTime"]
    save(doc, "clock-skew")
    assert kubelet.renewals >= 5 and not kubelet.errors, (kubelet.renewals, kubelet.errors[-3:])
    assert ready, f"{WORKER} was marked not Ready: the controller did not take the skewed renewals"
    behind = time.time() - datetime.fromisoformat(renew).timestamp()
    assert SHIFT - 30 < behind < SHIFT + 30, behind
    (skew,) = findings(doc, "KPD-212")
    assert skew["subject"] == WORKER and skew["severity"] == "warning" and skew["plane"] == "data-plane"
    assert "about 10 min behind" in skew["message"], skew["message"]
    assert not codes(doc) & {"KPD-200", "KPD-201", "KPD-202"}, codes(doc)
    assert status(doc, "kubelet", WORKER) == "healthy"
    assert not [b for b in entries(doc) if b["failure"].startswith("node failure") or b["class"] == "node-failure"]
    assert [b for b in entries(doc) if b["severity"] == "critical"] == []
    if entries(doc):
        assert root(doc)["cause"] == {"code": "KPD-212", "component": "kubelet", "subject": WORKER}
    assert control_plane_down(doc) == []
    assert summary(doc) in ("warning", None)


# --- 3. a drain a PodDisruptionBudget blocks ---------------------------------------------------------


def test_drain_blocked_by_a_disruption_budget(cluster: Cluster, lab: labctl.Lab) -> None:
    """Deployment kpd-causes/held (2 replicas) with a budget of minAvailable 2: none may be evicted.
    The worker one of them runs on is cordoned; a real drain of that pod is refused. Both workers also
    hold a pod of the seed's StatefulSet shop/queue, whose budget (minAvailable 2 of 2) allows no
    disruption either: the finding names it too, the cause is the same (KPD-230 on the node)."""
    with nf.namespace(lab) as ns:
        nf.deployment(lab, ns, "held", 2)
        nf.disruption_budget(lab, ns, "held", "held", 2)
        nf.wait_ready(lab, ns, "held", 2)
        labctl.wait_for("budget kpd-causes/held to allow 0", lambda: nf.disruptions_allowed(lab, ns, "held") == 0, 30)
        pod = nf.pods(lab, ns, "held")[0]
        node, name = pod["spec"]["nodeName"], pod["metadata"]["name"]
        with nf.cordoned(lab, node):
            drain = ("drain", node, "--pod-selector=app=held", "--ignore-daemonsets", "--timeout=4s")
            refused = labctl.kubectl(lab, *drain, check=False, timeout=30)
            doc = cluster.wait_report(f"KPD-230 on {node}", lambda d: "KPD-230" in codes(d), timeout=30)
    save(doc, "drain")
    assert refused.returncode != 0 and "disruption budget" in refused.stdout + refused.stderr, refused.stderr[-400:]
    entry = root(doc)
    assert entry["cause"] == {"code": "KPD-230", "component": "eviction", "subject": node}, entry["cause"]
    assert entry["class"] == "drain-blocked" and entry["severity"] == "warning" and entry["plane"] == "data-plane"
    assert entry["failure"] == f"drain blocked by a PodDisruptionBudget: {node}"
    assert f"{ns}/held" in entry["affected"]["podDisruptionBudgets"] and entry["affected"]["nodes"] == [node]
    (blocked,) = findings(doc, "KPD-230")
    assert f"PodDisruptionBudget {ns}/held (2 healthy, needs 2) holds {name}" in blocked["message"], blocked["message"]
    assert [b for b in entries(doc) if b["severity"] == "critical"] == []
    assert control_plane_down(doc) == []
    assert codes(doc) <= {"KPD-230", "KPD-207"}, codes(doc)  # KPD-207: the cordon itself, info
    assert summary(doc) in ("warning", None)


# --- 4. a NoExecute taint under a pinned workload ------------------------------------------------------


def test_noexecute_taint_under_a_pinned_workload_is_blamed(cluster: Cluster, lab: labctl.Lab, tmp_path: Path) -> None:
    """Deployment kpd-causes/pinned (1 replica, nodeSelector hostname=kpd-test-worker, a throwaway kwok
    worker so that no pod of the shared lab is evicted); the node is tainted kpd-test/evict:NoExecute.

    The report blames the taint with KPD-233, not KPD-231: the taint manager evicts the untolerating
    pod at once, so no pod of it is left on the node for KPD-231 (which judges the pods still there,
    not those being deleted). Its
    replacement stays Pending Unschedulable on the taint: KPD-233, once pending past the policy's
    patience (300 s; a per-cluster config shortens it to 2 s here, and the default report is checked
    to wait)."""
    config = patience(tmp_path, 2)
    with nf.extra_worker(lab) as node, nf.namespace(lab) as ns:
        nf.deployment(lab, ns, "pinned", 1, node)
        nf.wait_ready(lab, ns, "pinned", 1)
        (evicted,) = (p["metadata"]["name"] for p in nf.pods(lab, ns, "pinned"))
        with nf.tainted(lab, [node], "kpd-test/evict", "NoExecute"):
            pending = nf.wait_pending(lab, ns, "pinned")
            _, young = cluster.report()
            doc = poll(cluster, "KPD-233 for the pinned pod", lambda d: "KPD-233" in codes(d), "--config", config)
    save(doc, "noexecute")
    assert pending["metadata"]["name"] != evicted  # the replacement: the taint manager evicted the first
    assert "KPD-233" not in codes(young), "a pod Pending for seconds was reported past a 300 s patience"
    entry = root(doc)
    assert entry["cause"]["code"] == "KPD-233" and entry["plane"] == "data-plane", entry["cause"]
    assert entry["class"] == "pods-unschedulable"
    assert workloads(entry) == {("Deployment", ns, "pinned"): "outage"}
    assert others_critical(doc) == [] and control_plane_down(doc) == []
    (stuck,) = findings(doc, "KPD-233")
    assert stuck["subject"] == entry["cause"]["subject"]
    # the taint is what it blames: by key, on the node that carries it
    assert "kpd-test/evict" in stuck["subject"] + stuck["message"], (stuck["subject"], stuck["message"])
    assert node in entry["affected"]["nodes"], entry["affected"]["nodes"]


# --- 5. NoSchedule on every node -----------------------------------------------------------------------


def test_noschedule_on_every_node_leaves_no_room_and_keeps_new_pods_pending(
    cluster: Cluster, lab: labctl.Lab, tmp_path: Path
) -> None:
    """Every node (workers and control plane) tainted kpd-test/closed:NoSchedule: KPD-232 at once (no
    Deployment pod of the cluster tolerates it; running pods stay). A new Deployment's pod then stays
    Pending on that taint: an effect of the same cause, counted in its entry and linked to it."""
    config = patience(tmp_path, 2)
    nodes = sorted(
        n["metadata"]["name"] for n in json.loads(labctl.kubectl(lab, "get", "nodes", "-o", "json").stdout)["items"]
    )
    with nf.namespace(lab) as ns, nf.tainted(lab, nodes, "kpd-test/closed", "NoSchedule"):
        closed = cluster.wait_report("KPD-232", lambda d: "KPD-232" in codes(d), timeout=30)
        nf.deployment(lab, ns, "newcomer", 1)
        pending = nf.wait_pending(lab, ns, "newcomer")
        doc = poll(
            cluster,
            "the new pod Pending under KPD-232",
            lambda d: "KPD-233" in codes(d) and bool(entries(d)) and entries(d)[0]["affected"]["pods"] >= 1,
            "--config",
            config,
        )
    save(closed, "noschedule")
    save(doc, "noschedule-pending")
    for report in (closed, doc):
        entry = root(report)
        assert entry["cause"] == {"code": "KPD-232", "component": "scheduling", "subject": "cluster"}, entry["cause"]
        assert entry["class"] == "no-schedulable-node" and entry["severity"] == "critical"
        assert entry["plane"] == "data-plane" and sorted(entry["affected"]["nodes"]) == nodes
        (room,) = findings(report, "KPD-232")
        assert all(f"{n} taint kpd-test/closed:NoSchedule" in room["message"] for n in nodes), room["message"]
        assert others_critical(report) == [] and control_plane_down(report) == []
    entry = root(doc)
    assert workloads(entry)[("Deployment", ns, "newcomer")] == "outage"
    (scheduled,) = (c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled")
    assert "untolerated taint" in scheduled["message"], scheduled["message"]
    # the Pending pod is this cause's effect: linked to it, not a second root beside it
    (stuck,) = findings(doc, "KPD-233")
    assert stuck["causedBy"] == "KPD-232 cluster", save(doc, "noschedule-pending")
    assert [b["cause"]["code"] for b in entries(doc) if b["cause"]] == ["KPD-232"], [b["failure"] for b in entries(doc)]
