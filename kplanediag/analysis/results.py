"""The Report: everything one analysis found, as the renderers read it (components, findings, blast
radius by root cause, summary, timeline, last known state, what a cluster's config did)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.fit import Fitted
from kplanediag.analysis.lastknown import LastKnown
from kplanediag.analysis.model import BlastEntry, ClusterInfo, Component, Finding
from kplanediag.analysis.timeline import Entry


@dataclass(frozen=True)
class RiskRow:
    """One node or zone of `what-if --all`: what its loss alone would do."""

    target: str  # the node or zone
    nodes: tuple[str, ...]
    workloads_outage: tuple[str, ...]  # "Deployment ns/name" with every ready replica there
    workloads_degraded: int
    services_outage: tuple[str, ...]
    pods: int
    control_plane: tuple[str, ...]  # "etcd quorum lost (1 of 3 left)", "no API server left", ...
    budgets_blocking: tuple[str, ...]  # PodDisruptionBudgets allowing no disruption with pods there

    @property
    def score(self) -> tuple[int, int, int, int]:
        return (len(self.control_plane), len(self.workloads_outage), len(self.services_outage), self.pods)


@dataclass(frozen=True)
class WhatIf:
    """A hypothetical report's marker (never a current failure): the hypotheses, how the cluster is
    now, the drains' verdicts and eviction order, and `--all`'s ranking."""

    hypotheses: tuple[str, ...]
    described: tuple[str, ...]
    baseline_status: str
    baseline_summary: str
    notes: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    eviction_order: tuple[str, ...] = ()
    ranking: tuple[RiskRow, ...] = ()
    ranked: str = ""  # "nodes" | "zones" for --all


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
    what_if: WhatIf | None = None  # a hypothetical report (analysis/whatif): never a current failure
