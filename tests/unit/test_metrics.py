"""render/metrics.py on real reports (the lab captures of tests/unit/data, the webhook capture of
tests/unit/data/real/lab-webhook-down, a live run's request timings in lab-metrics): the exposition
parsed back with prometheus_client's parser, values compared with the reports; and the series
bound on the offline bench's synthetic 5,000-node cluster (docs/metrics.md)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.offline import synthesize
from kplanediag.analysis.knowledge.classes import BETWEEN_OBJECTS, CLASSES
from kplanediag.analysis.knowledge.codes import CODES
from kplanediag.analysis.model import Impact, Plane, Status
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.render.metrics import (
    CONTENT_TYPE,
    DETAIL_LIMIT,
    FAILURE_CLASSES,
    PER_NODE,
    RunStats,
    exposition,
    request_classes,
)
from kplanediag.snapshot import load_bytes
from kplanediag.snapshot.files import load_snapshot
from tests.unit.factories import CP, W1, W2, report, snapshot_from_dict

REAL = Path(__file__).parent / "data" / "real"
CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "real-captures"  # ../shared, where CI has it too
Key = tuple[str, frozenset[tuple[str, str]]]


def parse(data: bytes) -> dict[Key, float]:
    out: dict[Key, float] = {}
    for family in text_string_to_metric_families(data.decode()):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = s.value
    return out


def get(series: dict[Key, float], name: str, **labels: str) -> float:
    return series[name, frozenset(labels.items())]


def named(series: dict[Key, float], name: str) -> list[dict[str, str]]:
    return [dict(labels) for n, labels in series if n == name]


def webhook(name: str) -> Report:
    d = REAL / "lab-webhook-down" / name
    items = []
    for f in ("cluster.json", "validatingwebhookconfigurations.json", "mutatingwebhookconfigurations.json"):
        items += json.loads((d / f).read_text())["items"]
    return analyze(load_bytes(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}).encode()))


def test_silenced_worker_shows_as_down_per_node_and_in_the_blast_radius() -> None:
    rep = report("lab-worker-silenced")
    s = parse(exposition(rep, RunStats()))
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    assert get(s, "kplanediag_cluster_info", profile="kind", control_plane_mode="self-hosted", version="v1.36.2") == 1
    assert get(s, "kplanediag_report_status", status="critical") == 1
    assert get(s, "kplanediag_report_status", status="healthy") == 0
    kubelet = {"plane": "data-plane", "component": "kubelet", "node": W1}
    assert get(s, "kplanediag_component_status", **kubelet, status="down") == 1
    assert get(s, "kplanediag_component_status", **kubelet, status="healthy") == 0
    assert get(s, "kplanediag_component_status", **{**kubelet, "component": "cni"}, status="unknown") == 1
    # healthy per-node instances are counted, not listed; the node itself is listed
    listed = {(x["component"], x.get("node")) for x in named(s, "kplanediag_component_status")}
    assert ("kubelet", W2) not in listed and ("kube-proxy", CP) not in listed
    assert ("etcd", CP) in listed and ("coredns", None) in listed
    assert get(s, "kplanediag_component_instances", plane="data-plane", component="kubelet", status="healthy") == 2
    assert get(s, "kplanediag_component_instances", plane="data-plane", component="kubelet", status="down") == 1
    assert get(s, "kplanediag_node_status", node=W1, status="down") == 1
    assert get(s, "kplanediag_node_status", node=W2, status="healthy") == 1
    assert get(s, "kplanediag_component_status", plane="data-plane", component="coredns", status="degraded") == 1

    assert get(s, "kplanediag_findings", code="KPD-201", severity="critical", plane="data-plane") == 1
    assert get(s, "kplanediag_findings", code="KPD-321", severity="warning", plane="data-plane") == 1
    assert get(s, "kplanediag_findings", code="KPD-100", severity="critical", plane="control-plane") == 0
    assert len(named(s, "kplanediag_findings")) == len(CODES)

    (entry,) = rep.blast_radius
    cls = {"failure": "node-failure", "component": "kubelet"}
    a = entry.affected
    assert get(s, "kplanediag_blast_radius_failures", **cls, plane="data-plane", scope="node") == 1
    assert get(s, "kplanediag_blast_radius_nodes", **cls) == len(a.nodes) == 1
    assert get(s, "kplanediag_blast_radius_pods", **cls) == a.pods
    for impact in Impact:
        want = sum(1 for w in a.workloads if w.impact is impact)
        assert get(s, "kplanediag_blast_radius_workloads", **cls, impact=impact.value) == want
        assert get(s, "kplanediag_blast_radius_services", **cls, impact=impact.value) == sum(
            1 for x in a.services if x.impact is impact
        )
    assert get(s, "kplanediag_blast_radius_namespaces", **cls) == len(a.namespaces)
    assert get(s, "kplanediag_namespace_affected_workloads", namespace="shop", impact="outage") == 2
    assert get(s, "kplanediag_namespace_affected_workloads", namespace="shop", impact="degraded") == 2


def test_healthy_lab_has_no_failure_series_and_every_node_healthy() -> None:
    s = parse(exposition(report("lab-healthy"), RunStats()))
    assert get(s, "kplanediag_report_status", status="healthy") == 1
    assert named(s, "kplanediag_blast_radius_failures") == []
    assert sum(v for (n, _), v in s.items() if n == "kplanediag_findings") == 0
    assert {x["node"] for x in named(s, "kplanediag_node_status") if get(s, "kplanediag_node_status", **x) == 1} == {
        CP,
        W1,
        W2,
    }
    assert all(
        x["status"] == "healthy" for x in named(s, "kplanediag_node_status") if get(s, "kplanediag_node_status", **x)
    )
    assert {x["component"] for x in named(s, "kplanediag_component_status")}.isdisjoint(PER_NODE)


def test_webhook_failures_are_classed_by_policy_and_kind_without_their_names() -> None:
    s = parse(exposition(webhook("fail-validating"), RunStats()))
    labels = {"failure": "webhook-rejecting-writes", "component": "validating-webhook"}
    assert get(s, "kplanediag_blast_radius_failures", **labels, plane="cross-plane", scope="cluster") == 1
    assert (
        get(s, "kplanediag_component_status", plane="cross-plane", component="validating-webhook", status="down") == 1
    )
    assert get(s, "kplanediag_findings", code="KPD-400", severity="critical", plane="cross-plane") == 1
    assert not any("kpd-test" in v for _, labels_ in s for _, v in labels_)
    ignore = parse(exposition(webhook("ignore-mutating"), RunStats()))
    assert named(ignore, "kplanediag_blast_radius_failures") == [
        {"failure": "webhook-not-enforced", "component": "mutating-webhook", "plane": "cross-plane", "scope": "cluster"}
    ]


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("lab-scheduler-stale", ("control-plane-down", "kube-scheduler")),
        ("lab-scheduler-released", ("control-plane-down", "kube-scheduler")),
        ("lab-controller-manager-stale", ("control-plane-down", "kube-controller-manager")),
        ("lab-etcd-down", ("control-plane-down", "etcd")),
        ("lab-coredns-down", ("dns-down", "coredns")),
        ("lab-kube-proxy-unready", ("component-down", "kube-proxy")),
        ("lab-worker-silenced", ("node-failure", "kubelet")),
    ],
)
def test_each_lab_fault_gets_its_failure_class(name: str, cls: tuple[str, str]) -> None:
    rep = report(name)
    assert [(b.failure_class, b.component) for b in rep.blast_radius] == [cls]
    assert cls[0] in CLASSES
    s = parse(exposition(rep, RunStats()))
    entry = rep.blast_radius[0]
    assert get(s, "kplanediag_blast_radius_pods", failure=cls[0], component=cls[1]) == entry.affected.pods


def every_report() -> list[tuple[str, Report]]:
    """Every report the unit data gives: the lab faults, the real captures, the webhook faults."""
    reports = [(p.stem, report(p.stem)) for p in sorted((Path(__file__).parent / "data").glob("lab-*.json"))]
    reports += [
        (p.name, analyze(load_snapshot(p))) for p in sorted(CAPTURES.glob("*.json")) if p.name != "capture-times.json"
    ]
    reports += [(n, webhook(n)) for n in ("fail-validating", "ignore-mutating")]
    return reports


def test_every_blast_entry_has_a_known_class_and_its_component() -> None:
    """The class is set where the entry is made: each is one of the fixed vocabulary, its component a
    component a report names, and a webhook's class follows its finding (KPD-400 Fail, KPD-401 Ignore)."""
    seen = set()
    for name, rep in every_report():
        components = {c.name for c in rep.components} | {"kubelet", *BETWEEN_OBJECTS}
        for b in rep.blast_radius:
            assert b.failure_class in CLASSES, (name, b.failure)
            assert b.component in components, (name, b.failure, b.component)
            seen.add(b.failure_class)
            if b.failure_class.startswith("webhook-"):
                code = {"webhook-rejecting-writes": "KPD-400", "webhook-not-enforced": "KPD-401"}[b.failure_class]
                assert any(f.code == code and f.component == b.component for f in rep.findings), (name, b.failure)
    assert len(seen) >= 6, seen  # the data exercises most classes, not only one


def test_run_stats_counters_and_gauges() -> None:
    requests, errors = request_classes(load_snapshot(REAL / "lab-metrics" / "snapshot.json").requests)
    assert requests == {"get": 4, "list": 14, "list-namespaced": 2} and errors == {}
    stats = RunStats(
        checks_total=7,
        failures_total={"unreachable": 2, "authentication": 1},
        last_success_timestamp=1_795_472_422.5,
        last_duration_seconds=0.75,
        stale=True,
        api_requests=requests,
        api_errors={"5xx": 3},
        interval_seconds=60,
    )
    s = parse(exposition(None, stats))
    assert get(s, "kplanediag_checks_total") == 7
    assert {x["class"] for x in named(s, "kplanediag_check_failures_total")} == set(FAILURE_CLASSES)
    assert get(s, "kplanediag_check_failures_total", **{"class": "unreachable"}) == 2
    assert get(s, "kplanediag_check_failures_total", **{"class": "tls"}) == 0
    assert get(s, "kplanediag_stale") == 1
    assert get(s, "kplanediag_last_success_timestamp_seconds") == 1_795_472_422.5
    assert get(s, "kplanediag_check_duration_seconds") == 0.75
    assert get(s, "kplanediag_check_interval_seconds") == 60
    assert get(s, "kplanediag_api_requests_total", **{"class": "list"}) == 14
    assert get(s, "kplanediag_api_errors_total", **{"class": "5xx"}) == 3
    assert not any(n.startswith(("kplanediag_component", "kplanediag_cluster")) for n, _ in s)
    types = {f.name: f.type for f in text_string_to_metric_families(exposition(None, stats).decode())}
    assert types["kplanediag_checks"] == types["kplanediag_api_requests"] == "counter"
    assert types["kplanediag_stale"] == "gauge"
    fresh = parse(exposition(None, RunStats()))
    assert not any(n == "kplanediag_last_success_timestamp_seconds" for n, _ in fresh)
    assert get(fresh, "kplanediag_stale") == 0


@pytest.mark.timeout(120)  # builds and analyses 5,000 nodes (bench/offline.py): seconds, not the unit 10
def test_series_stay_bounded_on_the_5000_node_bench_cluster() -> None:
    nodes = 5000
    rep = analyze(snapshot_from_dict(synthesize(nodes, 0, 500)))
    total = sum(1 for line in exposition(rep, RunStats()).decode().splitlines() if not line.startswith("#"))
    per_family = Counter(
        line.split("{")[0].split(" ")[0]
        for line in exposition(rep, RunStats()).decode().splitlines()
        if line[:1] != "#"
    )
    all_nodes = {c.node for c in rep.components if c.plane is Plane.DATA and c.name in PER_NODE and c.node}
    assert per_family["kplanediag_node_status"] == 4 * len(all_nodes) >= 4 * nodes
    sick = [c for c in rep.components if c.name in PER_NODE and c.node and c.status is not Status.HEALTHY]
    others = [c for c in rep.components if not (c.plane is Plane.DATA and c.name in PER_NODE and c.node)]
    assert len(sick) > DETAIL_LIMIT  # the synthetic nodes have no CNI pod: every one is not healthy
    assert per_family["kplanediag_component_status"] == 4 * (DETAIL_LIMIT + len(others))
    assert total <= 4 * len(all_nodes) + 4 * DETAIL_LIMIT + 500
    assert total < 30_000


def test_leader_and_standby_instances() -> None:
    """Derived: the lab's scheduler given the leader role and a second, standby instance on a worker
    (as an HA cluster's Leases show them; the lab has one control-plane node)."""
    rep = report("lab-healthy")
    (sched,) = [c for c in rep.components if c.name == "kube-scheduler"]
    standby = replace(sched, node=W1, role="standby")
    rep = replace(rep, components=(*rep.components, standby))
    rep = replace(rep, components=tuple(replace(c, role="leader") if c is sched else c for c in rep.components))
    s = parse(exposition(rep, RunStats()))
    leader = {"plane": "control-plane", "component": "kube-scheduler"}
    assert get(s, "kplanediag_component_leader", **leader, node=CP) == 1
    assert get(s, "kplanediag_component_leader", **leader, node=W1) == 0
    assert len(named(s, "kplanediag_component_leader")) == 2
    assert get(s, "kplanediag_component_instances", **leader, status="healthy") == 2


def test_every_failure_class_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    assert [c for c in CLASSES if f"`{c}`" not in text] == []
