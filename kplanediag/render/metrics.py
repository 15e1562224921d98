"""The Prometheus exposition of one report and of the runs that made it (``serve``'s /metrics):
kube-state-metrics style gauges, bounded for clusters of thousands of nodes (docs/metrics.md)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from kplanediag.analysis.knowledge.codes import CODES
from kplanediag.analysis.model import STATUS_RANK, Component, Plane, Status
from kplanediag.analysis.results import Report
from kplanediag.render.escape import label
from kplanediag.snapshot.server import RequestTime

if TYPE_CHECKING:
    from kplanediag.snapshot.server import WatchStatus

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""Every name here is a legacy (non-UTF-8) one, so the 0.0.4 text format that every Prometheus reads."""
PREFIX = "kplanediag_"
STATUSES = tuple(s.value for s in Status)
REPORT_STATUSES = ("healthy", "warning", "critical")
PER_NODE = ("kubelet", "container-runtime", "kube-proxy", "cni")
"""Data-plane components with one instance per node: their healthy instances are counted, not listed."""
DETAIL_LIMIT = 1000
"""At most this many not-healthy per-node instances get series of their own (worst first)."""
FAILURE_CLASSES = (
    "configuration",
    "credentials",
    "tls",
    "authentication",
    "unreachable",
    "deadline",
    "interrupted",
    "list",
    "error",
    "internal",
)
"""The classes of collect/errors.py and CannotAssess.kind, plus ``internal`` (a check that raised
no error of that hierarchy, serve/state.py): failed checks are counted by these, each from zero."""


@dataclass(frozen=True)
class RunStats:
    """What the process knows about its own checks (``serve`` keeps it; a one-off check has one run).

    ``failures_total`` and ``api_*`` are counters since the process started, by class;
    ``stale``: the latest check failed, so the report shown is an older one."""

    checks_total: int = 0
    failures_total: Mapping[str, int] = field(default_factory=dict)
    last_success_timestamp: float | None = None
    last_duration_seconds: float | None = None
    stale: bool = False
    api_requests: Mapping[str, int] = field(default_factory=dict)
    api_errors: Mapping[str, int] = field(default_factory=dict)
    interval_seconds: float | None = None
    watches: tuple[WatchStatus, ...] = ()  # serve's watch caches (collect/watch), by list call


def request_classes(requests: Iterable[RequestTime]) -> tuple[dict[str, int], dict[str, int]]:
    """One run's API requests by kind (get, list, list-namespaced) and its errors by HTTP status
    class (4xx, 5xx), to add to RunStats' counters."""
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in requests:
        counts[r.kind] += 1
        if r.status is not None and r.status >= 400:
            errors[f"{r.status // 100}xx"] += 1
    return dict(counts), dict(errors)


def _gauge(name: str, doc: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc)


def _counter(name: str, doc: str) -> CounterMetricFamily:
    return CounterMetricFamily(PREFIX + name, doc)


def _add(metric: Metric, labels: Mapping[str, str | None], value: float, suffix: str = "") -> None:
    """A sample; a label whose value is None is left out (as kube-state-metrics leaves out none);
    every value through escape.label (prometheus_client escapes backslash, quote and newline)."""
    metric.add_sample(metric.name + suffix, {k: label(v) for k, v in labels.items() if v is not None}, value)


def _states(metric: Metric, labels: Mapping[str, str | None], current: str, states: Iterable[str]) -> None:
    for state in states:
        _add(metric, {**labels, "status": state}, 1.0 if state == current else 0.0)


def _detailed(components: tuple[Component, ...]) -> list[Component]:
    """Every instance but the healthy per-node data-plane ones (those only counted), capped."""
    per_node = [c for c in components if c.plane is Plane.DATA and c.name in PER_NODE and c.node]
    sick = sorted(
        (c for c in per_node if c.status is not Status.HEALTHY), key=lambda c: (STATUS_RANK[c.status], c.node)
    )
    listed = {id(c) for c in sick[:DETAIL_LIMIT]}
    return [c for c in components if id(c) in listed or not (c.plane is Plane.DATA and c.name in PER_NODE and c.node)]


def component_families(report: Report) -> Iterator[Metric]:
    status = _gauge("component_status", "Status of a component instance (1 for its current status)")
    for c in _detailed(report.components):
        _states(status, {"plane": c.plane.value, "component": c.name, "node": c.node}, c.status.value, STATUSES)
    yield status
    counts = Counter((c.plane.value, c.name, c.status.value) for c in report.components)
    instances = _gauge("component_instances", "Instances of a component in each status")
    for plane, name in sorted({(c.plane.value, c.name) for c in report.components}):
        for state in STATUSES:
            _add(instances, {"plane": plane, "component": name, "status": state}, counts[plane, name, state])
    yield instances
    leader = _gauge("component_leader", "1 for the leader of a leader-elected component, 0 for a standby")
    for c in report.components:
        if c.role is not None:
            _add(leader, {"plane": c.plane.value, "component": c.name, "node": c.node}, float(c.role == "leader"))
    yield leader
    worst: dict[str, Status] = {}
    for c in report.components:
        if c.plane is Plane.DATA and c.name in PER_NODE and c.node:
            now = worst.get(c.node)
            if now is None or STATUS_RANK[c.status] < STATUS_RANK[now]:
                worst[c.node] = c.status
    nodes = _gauge("node_status", "Data-plane status of a node: the worst of its kubelet, runtime, kube-proxy and CNI")
    for node in sorted(worst):
        _states(nodes, {"node": node}, worst[node].value, STATUSES)
    yield nodes


def finding_families(report: Report) -> Iterator[Metric]:
    counts = Counter((f.code, f.severity.value, f.plane.value) for f in report.findings)
    keys = {(c.code, c.severity.value, c.plane.value) for c in CODES.values()} | set(counts)
    findings = _gauge("findings", "Current findings by code and severity")
    for code, severity, plane in sorted(keys):
        _add(findings, {"code": code, "severity": severity, "plane": plane}, counts[code, severity, plane])
    yield findings


def blast_families(report: Report) -> Iterator[Metric]:
    entries = defaultdict(list)
    for b in report.blast_radius:
        entries[b.failure_class, b.component, b.plane.value, b.scope].append(b)
    failures = _gauge("blast_radius_failures", "Current failures of a class (blast-radius entries)")
    nodes = _gauge("blast_radius_nodes", "Nodes hit by the current failures of a class")
    pods = _gauge("blast_radius_pods", "Pods hit by the current failures of a class")
    workloads = _gauge("blast_radius_workloads", "Workloads hit by the current failures of a class, by impact")
    services = _gauge("blast_radius_services", "Services hit by the current failures of a class, by impact")
    spaces = _gauge("blast_radius_namespaces", "Namespaces hit by the current failures of a class")
    per_ns: Counter[tuple[str, str]] = Counter()
    seen_ns: set[tuple[str, str, str]] = set()
    for (cls, component, plane, scope), group in sorted(entries.items()):
        labels = {"failure": cls, "component": component}
        _add(failures, {**labels, "plane": plane, "scope": scope}, len(group))
        _add(nodes, labels, len({n for b in group for n in b.affected.nodes}))
        _add(pods, labels, sum(b.affected.pods for b in group))
        _add(spaces, labels, len({n for b in group for n in b.affected.namespaces}))
        work = {(w.kind, w.namespace, w.name): w.impact.value for b in group for w in b.affected.workloads}
        svc = {(s.namespace, s.name): s.impact.value for b in group for s in b.affected.services}
        for impact in ("outage", "degraded"):
            _add(workloads, {**labels, "impact": impact}, sum(1 for i in work.values() if i == impact))
            _add(services, {**labels, "impact": impact}, sum(1 for i in svc.values() if i == impact))
        for (kind, ns, name), impact in work.items():
            if (kind, ns, name) not in seen_ns:
                seen_ns.add((kind, ns, name))
                per_ns[ns, impact] += 1
    yield from (failures, nodes, pods, workloads, services, spaces)
    affected = _gauge("namespace_affected_workloads", "Workloads of a namespace hit by any current failure")
    for (ns, impact), count in sorted(per_ns.items()):
        _add(affected, {"namespace": ns, "impact": impact}, count)
    yield affected


def report_families(report: Report) -> Iterator[Metric]:
    c = report.cluster
    info = _gauge("cluster_info", "The cluster's distribution profile, control-plane mode and version")
    _add(info, {"profile": c.profile, "control_plane_mode": c.control_plane_mode, "version": c.version}, 1)
    yield info
    status = _gauge("report_status", "The report's overall status (1 for the current one)")
    _states(status, {}, report.status, REPORT_STATUSES)
    yield status
    collected = _gauge("report_collected_timestamp_seconds", "When the report's data was collected")
    _add(collected, {}, c.collected_at.timestamp())
    yield collected
    gaps = _gauge("report_gaps", "Things the report could not observe (its gaps)")
    _add(gaps, {}, len(report.gaps))
    yield gaps
    yield from component_families(report)
    yield from finding_families(report)
    yield from blast_families(report)


def run_families(stats: RunStats) -> Iterator[Metric]:
    checks = _counter("checks", "Checks run since the process started")
    _add(checks, {}, stats.checks_total, "_total")
    yield checks
    failed = _counter("check_failures", "Checks that could not assess the cluster, by failure class")
    for cls in sorted(set(FAILURE_CLASSES) | set(stats.failures_total)):
        _add(failed, {"class": cls}, stats.failures_total.get(cls, 0), "_total")
    yield failed
    stale = _gauge("stale", "1 when the latest check failed and the results shown are older")
    _add(stale, {}, float(stats.stale))
    yield stale
    if stats.last_success_timestamp is not None:
        last = _gauge("last_success_timestamp_seconds", "When the latest successful check ended")
        _add(last, {}, stats.last_success_timestamp)
        yield last
    if stats.last_duration_seconds is not None:
        duration = _gauge("check_duration_seconds", "How long the latest check took")
        _add(duration, {}, stats.last_duration_seconds)
        yield duration
    if stats.interval_seconds is not None:
        interval = _gauge("check_interval_seconds", "Seconds between two checks (--interval)")
        _add(interval, {}, stats.interval_seconds)
        yield interval
    requests = _counter("api_requests", "Requests made to the API server, by class")
    for cls, n in sorted(stats.api_requests.items()):
        _add(requests, {"class": cls}, n, "_total")
    yield requests
    errors = _counter("api_errors", "Requests to the API server that failed, by class")
    for cls, n in sorted(stats.api_errors.items()):
        _add(errors, {"class": cls}, n, "_total")
    yield errors
    if stats.watches:
        yield from watch_families(stats.watches)


def watch_families(watches: tuple[WatchStatus, ...]) -> Iterator[Metric]:
    """serve's watch caches, one series per list call in each family."""
    stale = _gauge("watch_stale", "1 when a watch cache is not listed yet or has had no word for its window")
    silent = _gauge("watch_silent_seconds", "Seconds since a watch cache last heard from the API server")
    objects = _gauge("watch_objects", "Objects a watch cache holds")
    events = _counter("watch_events", "Watch events received (bookmarks included)")
    lists = _counter("watch_lists", "Full lists made by a watch cache (the first, and each after 410 Gone)")
    restarts = _counter("watch_restarts", "Watches or lists retried after a failure")
    requests = _counter("watch_requests", "Requests a watch cache made: list pages and watches")
    for w in watches:
        labels = {"list": w.label}
        _add(stale, labels, float(w.stale))
        if w.silent_for is not None:
            _add(silent, labels, round(w.silent_for, 3))
        _add(objects, labels, w.objects)
        _add(events, labels, w.events, "_total")
        _add(lists, labels, w.lists, "_total")
        _add(restarts, labels, w.restarts, "_total")
        _add(requests, labels, w.requests, "_total")
    yield from (stale, silent, objects, events, lists, restarts, requests)


class ReportCollector(Collector):
    """A one-shot collector: the families of one report and one RunStats."""

    def __init__(self, report: Report | None, stats: RunStats) -> None:
        self.report, self.stats = report, stats

    def collect(self) -> Iterator[Metric]:
        if self.report is not None:
            yield from report_families(self.report)
        yield from run_families(self.stats)


def exposition(report: Report | None, stats: RunStats) -> bytes:
    """The Prometheus text format of ``report`` (None before the first check) and ``stats``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportCollector(report, stats))
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "RunStats", "exposition", "request_classes"]
