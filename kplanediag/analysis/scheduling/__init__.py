"""Faults between objects, about scheduling and eviction: Pending pods (KPD-233), blocked drains
(KPD-230), NoExecute evictions with nowhere to go (KPD-231), no node open for new pods (KPD-232)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import BlastEntry, Finding
from kplanediag.analysis.scheduling.closed import closed_entry, closed_findings
from kplanediag.analysis.scheduling.drains import drain_entry, drain_findings
from kplanediag.analysis.scheduling.evictions import eviction_entry, eviction_findings
from kplanediag.analysis.scheduling.messages import Why
from kplanediag.analysis.scheduling.pending import PendingGroup, pending_entry, pending_findings, pending_pods

__all__ = ["PendingGroup", "Scheduling", "Why", "assess_scheduling", "pending_pods"]


@dataclass(frozen=True)
class Scheduling:
    """``pending``: every pod Pending Unschedulable, grouped by dominant reason, however young (the
    findings count only those past the policy's patience). ``blast``: one entry per finding, same order."""

    findings: tuple[Finding, ...]
    blast: tuple[BlastEntry, ...]
    pending: tuple[PendingGroup, ...]


# Pods Pending Unschedulable and what keeps them so (KPD-233), drains a PodDisruptionBudget blocks (KPD-230),
# NoExecute taints that evict pods with nowhere else to go (KPD-231), cordons and taints that leave no node
# for new pods (KPD-232). Each finding comes with its blast-radius entry (cause = the finding). Pure: reads a
# ClusterIndex, never raises on missing data; without pods or nodes it says nothing.
def assess_scheduling(idx: ClusterIndex, now: datetime | None = None) -> Scheduling:
    if not (idx.has("pods") and idx.has("nodes")):
        return Scheduling((), (), ())
    when = now or idx.now
    pairs: list[tuple[Finding, BlastEntry]] = []
    pairs += [(f, closed_entry(idx, room, f)) for room, f in closed_findings(idx)]
    pairs += [(f, eviction_entry(idx, e, f)) for e, f in eviction_findings(idx)]
    pairs += [(f, drain_entry(d, f)) for d, f in drain_findings(idx)]
    pairs += [(f, pending_entry(idx, g, f)) for g, f in pending_findings(idx, when)]
    return Scheduling(
        findings=tuple(f for f, _ in pairs),
        blast=tuple(b for _, b in pairs),
        pending=pending_pods(idx, when),
    )
