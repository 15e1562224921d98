"""What the status page's templates (templates/parts.html.j2) show below the planes, prepared: status
words and icons, each failure's lists, the findings' rows and the codes they explain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kplanediag.analysis.model import BlastEntry, Finding, Impact, Impacted, Severity, Status

if TYPE_CHECKING:
    from kplanediag.analysis.results import Report

ICON = {Status.HEALTHY: "✔", Status.DEGRADED: "▲", Status.DOWN: "✖", Status.UNKNOWN: "?"}
WORD = {Status.HEALTHY: "ok", Status.DEGRADED: "degraded", Status.DOWN: "DOWN", Status.UNKNOWN: "unknown"}
SEVERITY_ICON = {Severity.CRITICAL: "✖", Severity.WARNING: "▲", Severity.INFO: "ℹ"}
LISTED = 50  # workloads / Services named per list, then "and N more"
FINDINGS_SHOWN = 500  # rows in the findings table; -o json has every one
TIMELINE_SHOWN = 50  # newest timeline entries
FINDING_COLUMNS = ("severity", "code", "plane", "component", "subject", "message", "since")
STAMP = "%Y-%m-%d %H:%M:%SZ"


def impacted_text(w: Impacted) -> str:
    kind = f"{w.kind} " if w.kind else "Service "
    return f"{kind}{w.namespace}/{w.name}: {w.lost} lost, {w.ready_elsewhere} ready elsewhere"


def blast_lists(b: BlastEntry) -> tuple[list[str], list[str]]:
    """What is degraded (its own column) and what breaks, without the analysis' line for the degraded."""
    a = b.affected
    degraded = [impacted_text(w) for w in (*a.workloads, *a.services) if w.impact is Impact.DEGRADED]
    breaks = [x for x in b.breaks if not (degraded and x.startswith("degraded"))]
    return degraded, breaks


def code_anchor(code: str) -> str:
    return "code-" + "".join(ch for ch in code if ch.isalnum() or ch == "-")


def explained(report: Report) -> list[tuple[str, list[str]]]:
    """Each code found once, with the components it was found on (in the findings' order)."""
    components: dict[str, list[str]] = {}
    for f in report.findings:
        names = components.setdefault(f.code, [])
        if f.component not in names:
            names.append(f.component)
    return list(components.items())


def finding_rows(report: Report) -> list[tuple[Finding, str, str, str]]:
    """(finding, its code's title, where its code links, since) for the rows shown."""
    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415

    links = report.fit.links if report.fit is not None else None
    rows = []
    for f in report.findings[:FINDINGS_SHOWN]:
        title = CODES[f.code].title if f.code in CODES else ""
        # the team's runbook (config links.runbook), else what the code means, further down this page
        href = links.runbook_for(f.code) if links is not None and links.runbook else f"#{code_anchor(f.code)}"
        rows.append((f, title, href, f.since.strftime(STAMP) if f.since else ""))
    return rows


def helpers() -> dict[str, object]:
    """The names parts.html.j2 uses."""
    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415
    from kplanediag.analysis.knowledge.components import COMPONENTS  # noqa: PLC0415

    return {
        "ICON": ICON,
        "WORD": WORD,
        "SEVERITY_ICON": SEVERITY_ICON,
        "LISTED": LISTED,
        "FINDINGS_SHOWN": FINDINGS_SHOWN,
        "TIMELINE_SHOWN": TIMELINE_SHOWN,
        "FINDING_COLUMNS": FINDING_COLUMNS,
        "STAMP": STAMP,
        "CODES": CODES,
        "COMPONENTS": COMPONENTS,
        "blast_lists": blast_lists,
        "code_anchor": code_anchor,
        "explained": explained,
        "finding_rows": finding_rows,
    }
