"""What a cluster's config did to a report, as text: accepted findings counted (listed with -v),
stale entries, components expected absent (the ``fit`` JSON field is as_json.py's)."""

from __future__ import annotations

from collections import Counter

from kplanediag.analysis.fit import Accepted
from kplanediag.analysis.results import Report
from kplanediag.render.escape import terminal


def by_code(accepted: tuple[Accepted, ...]) -> str:
    counts = Counter(a.finding.code for a in accepted)
    return ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))


def footer_lines(report: Report) -> list[str]:
    """The table's footer: how many findings were accepted, which entries are stale."""
    fit = report.fit
    if fit is None:
        return []
    lines = [f"fitted by {fit.source}"]
    if fit.accepted:
        lines.append(f"{len(fit.accepted)} accepted finding(s) not counted ({by_code(fit.accepted)}); -v lists them")
    else:
        lines.append("no accepted finding in this run")
    if fit.absent:
        lines.append(f"expected absent: {', '.join(fit.absent)}")
    lines += [f"stale config: {s}" for s in fit.stale]
    return lines


def accepted_listing(report: Report) -> str:
    """-v: every accepted finding, with the entry that accepted it and why."""
    fit = report.fit
    if fit is None or not fit.accepted:
        return ""
    lines = ["", "== Accepted (not counted) " + "=" * 74]
    for a in fit.accepted:
        f = a.finding
        why = f" - {a.rule.reason}" if a.rule.reason else ""
        lines.append(f"  {f.severity.value.upper()} {f.code} {f.component} {f.subject}: {f.message}")
        lines.append(f"      accepted by {a.rule.origin}{why}")
    return terminal("\n".join(lines) + "\n")
