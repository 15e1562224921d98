"""``analyze``: a Snapshot and a "now" in, one Report out (components, findings, blast radius, summary)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from kplanediag.analysis.blast import attach, blast_radius, order, plural, some
from kplanediag.analysis.blast.cross import cross_plane_entries
from kplanediag.analysis.causes import Causes, link
from kplanediag.analysis.clock import AT, CAPTURE, SERVER, Clock, judge_clock
from kplanediag.analysis.controlplane import ControlPlane, assess_control_plane
from kplanediag.analysis.crossplane import CrossPlane, assess_cross_plane
from kplanediag.analysis.crossplane.webhook_calls import assess_webhook_calls
from kplanediag.analysis.crossplane.writes import WritesStalled, etcd_checks_failing, writes_stalled
from kplanediag.analysis.dataplane.addons import assess_node_addons
from kplanediag.analysis.dataplane.crashloop import addon_components as addon_failing_components
from kplanediag.analysis.dataplane.crashloop import assess_addon_restarts
from kplanediag.analysis.dataplane.dns import assess_dns
from kplanediag.analysis.dataplane.nodes import NodeState, assess_nodes
from kplanediag.analysis.distribution import Distribution, recognise
from kplanediag.analysis.fit import Fit, Fitted, apply_fit
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.components import COMPONENTS
from kplanediag.analysis.knowledge.policy import overridden
from kplanediag.analysis.lastknown import LastKnown, last_known
from kplanediag.analysis.model import STATUS_RANK, BlastEntry, ClusterInfo, Component, Finding, Plane, Severity, Status
from kplanediag.analysis.results import Report
from kplanediag.analysis.scheduling import assess_scheduling
from kplanediag.analysis.timeline import since, timeline
from kplanediag.snapshot import Snapshot

PLANE_ORDER = {Plane.CONTROL: 0, Plane.CROSS: 1, Plane.DATA: 2}
SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def component_order(c: Component) -> tuple[int, int, str, str, str]:
    return (PLANE_ORDER[c.plane], STATUS_RANK[c.status], c.name, c.node or "", c.detail)


def gap_findings(snapshot: Snapshot) -> list[Finding]:
    """Lists or endpoints that failed to be read. What an input format cannot hold is no finding."""
    return [
        finding(
            "KPD-900",
            gap.source,
            f"could not observe {gap.source}: {gap.reason}; what depends on it is reported unknown",
        )
        for gap in snapshot.gaps
        if not gap.input_limit and snapshot.reachable
    ]


def overall_status(findings: tuple[Finding, ...]) -> str:
    worst = max((f.severity.rank for f in findings), default=0)
    return {0: "healthy", 1: "warning", 2: "critical"}[worst]


HIDDEN = "not visible on "  # the words of every profile's reason for a component it hides (profiles.py)


def expected_unknown(c: Component) -> bool:
    """Unknown only because the distribution's profile hides it (a managed control plane, kube-proxy
    built into k3s): expected, not 'partly unknown'. Any other reason beside it (health endpoints
    not in the input) keeps it unknown."""
    return c.status is Status.UNKNOWN and bool(c.detail) and all(HIDDEN in part for part in c.detail.split("; "))


def plane_word(components: tuple[Component, ...], plane: Plane) -> str:
    # an add-on down (not one of the plane's own components) degrades the plane, it does not fail it;
    # what the profile says cannot be seen is expected, not unknown
    statuses = {
        Status.DEGRADED if c.status is Status.DOWN and c.name not in COMPONENTS else c.status
        for c in components
        if c.plane is plane and not expected_unknown(c)
    }
    if plane is Plane.CONTROL and Status.DOWN in statuses:
        # an instance down among healthy ones of the same component is lost redundancy, not failure
        healthy = {c.name for c in components if c.plane is plane and c.status is Status.HEALTHY}
        down = {c.name for c in components if c.plane is plane and c.status is Status.DOWN}
        if down <= healthy:
            statuses = (statuses - {Status.DOWN}) | {Status.DEGRADED}
    for status in (Status.DOWN, Status.DEGRADED, Status.UNKNOWN):
        if status in statuses:
            return {"down": "failing", "degraded": "degraded", "unknown": "partly unknown"}[status.value]
    return "healthy" if statuses else "not observed"


def summarize(
    status: str,
    mode: str,
    components: tuple[Component, ...],
    findings: tuple[Finding, ...],
    nodes: int | None,
    failing: list[str],
) -> str:
    """One line; ``nodes`` None: the node list was not read. A plane with a critical finding is failing
    even when its instances only show degraded (a check failed through a load balancer)."""
    words = {}
    for plane in (Plane.CONTROL, Plane.DATA):
        critical = any(f.plane is plane and f.severity is Severity.CRITICAL for f in findings)
        words[plane] = "failing" if critical else plane_word(components, plane)
    where = f" on {plural(len(failing), 'node')} ({some(failing)})" if failing else ""
    cross = [f for f in findings if f.plane is Plane.CROSS and f.severity is not Severity.INFO]
    if cross:
        word = "failing" if any(f.severity is Severity.CRITICAL for f in cross) else "degraded"
        where += f"; cross-plane {word} ({some(sorted({f.subject for f in cross}), 3)})"
    data = (
        f"data plane ({plural(nodes, 'node')}) {words[Plane.DATA]}"
        if nodes is not None
        else ("data plane not observed (nodes not read)")
    )
    return f"{status.upper()}: control plane ({mode}) {words[Plane.CONTROL]}; {data}{where}"


def analyze(
    snapshot: Snapshot,
    now: datetime | None = None,
    etcd_quota: int | None = None,
    baseline: tuple[Snapshot, str] | None = None,
    fit: Fit | None = None,
    renewals: Mapping[str, datetime] | None = None,
) -> Report:
    """``etcd_quota``: etcd's --quota-backend-bytes where the user knows it (etcd does not tell the
    API server); else the profile's default, if it has one. ``baseline``: an earlier snapshot of the
    same cluster and where it came from, used only when the API server is unreachable now. ``fit``:
    the cluster's config (analysis/fit.py): its policy thresholds hold for this analysis.
    ``renewals``: the node Lease renewTimes of the previous live read (index.node_renewals), from a
    polling loop: a Lease renewed since is a live kubelet, whatever its clock says."""
    with overridden(dict(fit.policy) if fit is not None else {}):
        return _analyze(snapshot, now, etcd_quota, baseline, fit, renewals or {})


def _in_order(*groups: Iterable[Component]) -> tuple[Component, ...]:
    return tuple(sorted((c for g in groups for c in g), key=component_order))


def _worst_first(*groups: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(
        sorted(
            (f for g in groups for f in g),
            key=lambda f: (SEVERITY_ORDER[f.severity], PLANE_ORDER[f.plane], f.code, f.subject),
        )
    )


def _fitted(
    fit: Fit | None, components: tuple[Component, ...], findings: tuple[Finding, ...]
) -> tuple[tuple[Component, ...], tuple[Finding, ...], Fitted | None, tuple[Finding, ...]]:
    """The cluster's config applied (components, findings, what it accepted), and the findings the
    blast radius sees: accepted findings still break what they break."""
    if fit is None:
        return components, findings, None, findings
    components, findings, fitted = apply_fit(fit, components, findings)
    return (
        tuple(sorted(components, key=component_order)),
        findings,
        fitted,
        (*findings, *(a.finding for a in fitted.accepted)),
    )


def _mark_writes(idx: ClusterIndex) -> WritesStalled | None:
    """Whether writes stall (or etcd's checks fail, so none can succeed): said on the index for the
    judges that read heartbeats, returned for those that need the evidence."""
    etcd_failing = etcd_checks_failing(idx)
    stalled = writes_stalled(idx)
    idx.writes_stalled = (
        stalled.describe()
        if stalled
        else f"etcd checks failing ({', '.join(etcd_failing)}): no write, no Lease renewal, can succeed"
        if etcd_failing
        else ""
    )
    return stalled


def _blast(
    idx: ClusterIndex,
    components: tuple[Component, ...],
    judged: tuple[Finding, ...],
    node_states: dict[str, NodeState],
    cp: ControlPlane,
    dist: Distribution,
    causes: Causes,
    known: LastKnown | None,
    cross: CrossPlane,
    others: tuple[BlastEntry, ...],
) -> tuple[BlastEntry, ...]:
    """The blast radius, one entry per root cause, worst first."""
    return order(
        [
            *blast_radius(idx, components, judged, node_states, cp.redundancy, dist, causes, known),
            *attach(cross_plane_entries(idx, cross), judged, causes.links),
            # an entry whose cause another explains is said under that cause instead
            *attach(
                [b for b in others if not (b.cause and b.cause.key in causes.links.caused_by)],
                judged,
                causes.links,
            ),
        ]
    )


def _cluster_info(
    snapshot: Snapshot,
    api_version: str | None,
    cp: ControlPlane,
    clock: Clock,
    dist: Distribution,
    observations: tuple[str, ...],
) -> ClusterInfo:
    return ClusterInfo(
        server=snapshot.server,
        version=api_version,
        control_plane_mode=cp.mode,
        collected_at=snapshot.collected_at,
        collected_at_from=snapshot.collected_at_from,
        evaluated_at=clock.now,
        judged_by=clock.by,
        clock_note=f"judged by {clock.by}" if clock.by not in (SERVER, CAPTURE, AT) else "",
        mode_evidence=cp.mode_evidence,
        profile=dist.profile.name,
        profile_evidence=dist.evidence,
        single_node=dist.single_node,
        observations=observations,
    )


def _analyze(
    snapshot: Snapshot,
    now: datetime | None,
    etcd_quota: int | None,
    baseline: tuple[Snapshot, str] | None,
    fit: Fit | None,
    renewals: Mapping[str, datetime],
) -> Report:
    clock = judge_clock(snapshot, now)
    now = clock.now
    idx = ClusterIndex.build(snapshot, now)
    idx.previous_renewals = renewals
    dist = recognise(idx)
    stalled = _mark_writes(idx)
    api_version = snapshot.version.git_version or None if snapshot.version else None
    node_states, node_components, node_findings = assess_nodes(idx, api_version, dist)
    idx.failing_nodes = frozenset(n for n, s in node_states.items() if s.failing)
    cp = assess_control_plane(idx, dist, node_states, stalled is not None)
    addon_components, addon_findings = assess_node_addons(idx, dist, node_states)
    dns_components, dns_findings = assess_dns(idx, dist, node_states)
    cross = assess_cross_plane(idx, dist, node_states, etcd_quota, stalled)
    sched = assess_scheduling(idx)
    call_failures, call_blast = assess_webhook_calls(idx)
    addon_failures, addon_blast = assess_addon_restarts(idx, dist)
    others = (*sched.blast, *addon_blast, *call_blast)
    extra, told = addon_failing_components(idx, dist), (clock.finding,) if clock.finding else ()
    components = _in_order(cp.components, node_components, addon_components, dns_components, cross.components, extra)
    judged_here = (cp.findings, node_findings, addon_findings, dns_findings, cross.findings, sched.findings)
    findings = _worst_first(*judged_here, call_failures, addon_failures, gap_findings(snapshot), told)
    findings = tuple(replace(f, since=f.since or since(idx, f)) for f in findings)
    # the linking pass sees every judged finding (an accepted one still explains what it causes)
    causes = link(idx, components, findings, node_states, cp.redundancy, cross, sched)
    findings = causes.links.apply(findings)
    components, findings, fitted, judged = _fitted(fit, components, findings)
    known = last_known(baseline[0], now, baseline[1]) if baseline is not None and not snapshot.reachable else None
    blast = _blast(idx, components, judged, node_states, cp, dist, causes, known, cross, others)
    status = overall_status(findings)
    nodes = len(node_states) if snapshot.has("nodes") else None
    said = summarize(status, cp.mode, components, findings, nodes, sorted(idx.failing_nodes))
    if fitted and fitted.accepted:
        said += f"; {len(fitted.accepted)} accepted finding(s) not counted"
    cluster = _cluster_info(snapshot, api_version, cp, clock, dist, cross.observations)
    return Report(
        timeline=tuple(timeline(idx)),
        last_known=known,
        cluster=cluster,
        components=components,
        findings=findings,
        blast_radius=blast,
        status=status,
        summary=said
        + (f"; {len(fitted.accepted)} accepted finding(s) not counted" if fitted and fitted.accepted else ""),
        fit=fitted,
        gaps=tuple(str(g) for g in snapshot.gaps),
    )
