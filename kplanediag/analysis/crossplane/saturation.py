"""A slow or saturated API server: kplanediag's own requests timed against the Kubernetes API
latency SLOs (KPD-440), and API Priority and Fairness queueing or rejecting requests at the API
server that answered (KPD-441). Both slow management only: running workloads are not affected."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.model import Finding
from kplanediag.snapshot.server import PriorityLevel

EXEMPT = "exempt"  # never queued nor limited
SINGLE_GETS = ("version", "livez", "readyz")


@dataclass(frozen=True)
class Saturation:
    slow: tuple[str, ...] = ()  # what was slow, in words
    queued: tuple[str, ...] = ()  # priority levels queueing or rejecting, in words
    throttled: tuple[str, ...] = ()  # kplanediag's own calls answered 429

    @property
    def any(self) -> bool:
        return bool(self.slow or self.queued or self.throttled)


def _slow(idx: ClusterIndex) -> list[str]:
    requests = idx.snapshot.requests
    out: list[str] = []
    gets = [r.seconds for r in requests if r.source in SINGLE_GETS and r.status is not None]
    limit = policy("slo_get_seconds")
    if gets and statistics.median(gets) > limit:
        out.append(f"single GETs took {statistics.median(gets):.1f}s (median of {len(gets)}; SLO {limit:g}s)")
    for r in requests:
        if r.kind == "get" or r.slowest_page is None:
            continue
        slo = policy("slo_namespaced_list_seconds" if r.kind == "list-namespaced" else "slo_cluster_list_seconds")
        if r.slowest_page > slo:
            out.append(f"a page of the {r.source} list took {r.slowest_page:.1f}s (SLO {slo:g}s)")
    return out


def _queued(levels: tuple[PriorityLevel, ...]) -> list[str]:
    out: list[str] = []
    for level in levels:
        if level.name == EXEMPT:
            continue
        rejected = sum(level.rejected.values())
        # requests queue only when every seat of the level is busy; a few at one instant are a burst
        if level.waiting > 0 and (rejected or level.waiting >= policy("apf_queued_requests")):
            seats = f", {level.executing_seats:g} of {level.limit_seats:g} seats busy" if level.limit_seats else ""
            since = f", {rejected} rejected since the API server started" if rejected else ""
            out.append(f"priority level {level.name}: {level.waiting} request(s) waiting in queue{seats}{since}")
    return out


def assess_saturation(idx: ClusterIndex) -> tuple[Saturation, list[Finding]]:
    snap = idx.snapshot
    throttled = tuple(g.source for g in snap.gaps if g.throttled)
    metrics = snap.metrics
    result = Saturation(
        slow=tuple(_slow(idx)),
        queued=tuple(_queued(metrics.priority_levels)) if metrics else (),
        throttled=throttled,
    )
    findings: list[Finding] = []
    if result.slow:
        findings.append(
            finding("KPD-440", "kube-apiserver", "the API server answers slowly: " + "; ".join(result.slow))
        )
    if result.queued or result.throttled:
        parts = list(result.queued)
        if result.throttled:
            parts.append(f"kplanediag's own reads were throttled (HTTP 429): {', '.join(result.throttled)}")
        findings.append(
            finding(
                "KPD-441",
                "kube-apiserver",
                "API Priority and Fairness is holding requests back at the API server that answered: "
                + "; ".join(parts),
            )
        )
    return result, findings
