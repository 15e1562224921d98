"""The Report: everything one analysis found, as the renderers read it (components, findings, blast
radius by root cause, summary, timeline, last known state, what a cluster's config did)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.fit import Fitted
from kplanediag.analysis.lastknown import LastKnown
from kplanediag.analysis.model import BlastEntry, ClusterInfo, Component, Finding
from kplanediag.analysis.timeline import Entry


@dataclass(frozen=True)
class Report:
    """``last_known``: with the API server unreachable, the state of the last successful check
    (analysis/lastknown.py); None otherwise."""

    cluster: ClusterInfo
    components: tuple[Component, ...]
    findings: tuple[Finding, ...]
    blast_radius: tuple[BlastEntry, ...]
    status: str  # "healthy" | "warning" | "critical": the worst finding
    summary: str
    gaps: tuple[str, ...]
    last_known: LastKnown | None = None
    timeline: tuple[Entry, ...] = ()  # oldest first (analysis/timeline.py)
    fit: Fitted | None = None  # what the cluster's config did: accepted findings, stale entries (fit.py)
