"""Pods kept Pending by nodes that are not Ready: the scheduling pass's groups whose dominant reason is
the not-ready or unreachable taint (NodeNotReady before taints) are an effect of what made those nodes
NotReady, with their count, workloads and age."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.scheduling import PendingGroup, Why
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot.kinds import Pod

LIFECYCLE = (Why.NOT_READY, Why.UNREACHABLE)


@dataclass(frozen=True)
class PendingPods:
    """Pending pods the scheduler could place on no node because nodes are not Ready."""

    pods: tuple[Pod, ...] = ()
    oldest: float | None = None  # seconds since the oldest of them was found unschedulable
    groups: tuple[PendingGroup, ...] = ()
    nodes: tuple[str, ...] = ()  # the not-Ready nodes the groups name

    def workloads(self, idx: ClusterIndex) -> list[str]:
        return sorted({f"{k} {ns}/{n}" for k, ns, n in (idx.workload_of(p) for p in self.pods)})

    def describe(self, idx: ClusterIndex) -> str:
        age = f", the oldest for {_age(self.oldest)}" if self.oldest is not None else ""
        return (
            f"{plural(len(self.pods), 'pod')} Pending on the not-ready taint ({some(self.workloads(idx), 4)}){age}: "
            "no Ready node to schedule them on"
        )


def _age(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def pending_pods(idx: ClusterIndex, groups: tuple[PendingGroup, ...]) -> PendingPods:
    kept = tuple(g for g in groups if g.reason in LIFECYCLE)
    if not kept:
        return PendingPods()
    keys = {key for g in kept for key in g.pods}
    pods = tuple(p for p in idx.pods if p.key in keys)
    ages = [g.oldest_seconds for g in kept if g.oldest_seconds is not None]
    nodes = tuple(sorted({n for g in kept for n in g.nodes}))
    return PendingPods(pods, max(ages) if ages else None, kept, nodes)
