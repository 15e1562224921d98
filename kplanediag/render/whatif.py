"""The what-if parts of a report (analysis/whatif): the hypotheses, a drain's verdict and eviction
order, failover notes and `--all`'s ranking, as table lines and as the ``whatIf`` JSON field."""

from __future__ import annotations

from typing import Any

from kplanediag.analysis.results import Report, RiskRow
from kplanediag.analysis.words import plural, some

RANKED_SHOWN = 20  # rows of --all in the table; -o json has every one


def damage(row: RiskRow) -> str:
    parts = list(row.control_plane)
    if row.workloads_outage:
        parts.append(
            f"{plural(len(row.workloads_outage), 'workload')} in outage ({some(list(row.workloads_outage), 3)})"
        )
    if row.services_outage:
        parts.append(
            f"{plural(len(row.services_outage), 'Service')} without endpoints ({some(list(row.services_outage), 3)})"
        )
    if row.workloads_degraded:
        parts.append(f"{row.workloads_degraded} degraded")
    if row.budgets_blocking:
        parts.append(f"drain blocked by {some(list(row.budgets_blocking), 3)}")
    parts.append(f"{plural(row.pods, 'workload pod')} there")
    return "; ".join(parts)


ADDONS = "CoreDNS, kube-proxy, the CNI"


def whatif_lines(report: Report) -> list[str]:
    """Plain lines (the table wraps them): what was supposed, and what only a what-if says."""
    w = report.what_if
    if w is None:
        return []
    lines = [f"hypothetical: {d}" for d in w.described]
    lines.append(f"the cluster now: {w.baseline_summary}")
    lines += [f"drain verdict: {v}" for v in w.verdicts]
    lines += [f"eviction order: {step}" for step in w.eviction_order]
    lines += list(w.notes)
    if w.ranking:
        lines.append(f"worst first; workload pods: the add-ons ({ADDONS}) and static pods are not counted")
    for i, row in enumerate(w.ranking[:RANKED_SHOWN], 1):
        where = f" ({', '.join(row.nodes)})" if w.ranked == "zones" else ""
        lines.append(f"{i}. {row.target}{where}: {damage(row)}")
    if len(w.ranking) > RANKED_SHOWN:
        lines.append(f"... {len(w.ranking) - RANKED_SHOWN} more {w.ranked} (-o json lists every one)")
    return lines


def whatif_dict(report: Report) -> dict[str, Any] | None:
    w = report.what_if
    if w is None:
        return None
    return {
        "hypothetical": True,
        "hypotheses": list(w.hypotheses),
        "described": list(w.described),
        "clusterNow": {"status": w.baseline_status, "summary": w.baseline_summary},
        "notes": list(w.notes),
        "drainVerdicts": list(w.verdicts),
        "evictionOrder": list(w.eviction_order),
        "ranked": w.ranked or None,
        "ranking": [
            {
                "target": r.target,
                "nodes": list(r.nodes),
                "controlPlane": list(r.control_plane),
                "workloadsOutage": list(r.workloads_outage),
                "workloadsDegraded": r.workloads_degraded,
                "servicesOutage": list(r.services_outage),
                "pods": r.pods,
                "budgetsBlocking": list(r.budgets_blocking),
            }
            for r in w.ranking
        ],
    }
