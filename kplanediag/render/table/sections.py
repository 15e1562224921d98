"""The report's other table sections: findings by plane, the blast radius, evidence, gaps."""

from __future__ import annotations

from kplanediag.analysis.model import Finding, Plane
from kplanediag.analysis.results import Report
from kplanediag.analysis.timeline import ago
from kplanediag.render.table.layout import table, wrap


def since_text(f: Finding, report: Report) -> str:
    if f.since is None:
        return ""
    seconds = (report.cluster.evaluated_at - f.since).total_seconds()
    return f" (since {f.since.strftime('%H:%M:%SZ')}, {ago(seconds)})"


def effect_of(f: Finding) -> str:
    """A finding another explains says so: it is an effect, not a failure of its own."""
    return f" [effect of {f.caused_by}]" if f.caused_by else ""


def findings_table(report: Report) -> str:
    if not report.findings:
        return "  no findings"
    blocks = []
    for plane in (Plane.CONTROL, Plane.CROSS, Plane.DATA):
        rows = [
            [f.severity.value.upper(), f.code, f.component, f.message + since_text(f, report) + effect_of(f)]
            for f in report.findings
            if f.plane is plane
        ]
        if rows:
            blocks.append(
                f"[{plane.value}]\n" + table(rows, ["SEVERITY", "CODE", "COMPONENT", "MESSAGE"], [8, 7, 23, 54])
            )
    return "\n\n".join(blocks)


def blast_text(report: Report) -> str:
    if not report.blast_radius:
        return "  no current failure"
    lines: list[str] = []
    for i, b in enumerate(report.blast_radius, 1):
        cause = f"{b.severity.value.upper()} " + (f"{b.cause.code} " if b.cause else "")
        lines += wrap(f"{i}. ", f"{cause}[{b.plane.value}, scope {b.scope}] {b.summary}")
        lines += [line for item in b.effects for line in wrap("     because of it: ", item)]
        lines += [line for item in b.breaks for line in wrap("     breaks: ", item)]
        lines += [line for item in b.still_works for line in wrap("     still works: ", item)]
    return "\n".join(lines)


def evidence_text(report: Report) -> str:
    """-o wide: how each component was found and judged (Lease holders and ages, checks, pods)."""
    lines: list[str] = []
    for c in report.components:
        where = f" on {c.node}" if c.node else (f" {c.detail}" if c.plane is Plane.CROSS else "")
        lines += wrap(f"  {c.name}{where}: ", "; ".join(c.evidence) or "(no evidence recorded)")
    return "\n".join(lines) or "  (no component observed)"


def grouped_gaps(gaps: tuple[str, ...]) -> list[str]:
    """Gaps of one reason on one line ("leases, events: not in the input List"), in first-seen order."""
    by_reason: dict[str, list[str]] = {}
    for gap in gaps:
        name, sep, reason = gap.partition(": ")
        key = reason if sep and " " not in name else gap
        by_reason.setdefault(key, []).append(name if sep and " " not in name else "")
    return [f"{', '.join(names)}: {reason}" if all(names) else reason for reason, names in by_reason.items()]
