"""Pieces of the status page (render/html.py) below the planes: status badges, each failure's blast
radius, the findings with their explain texts, the timeline, the last known state, the gaps.
Every string from the cluster goes through ``esc``."""

from __future__ import annotations

from kplanediag.analysis.knowledge.codes import CODES
from kplanediag.analysis.knowledge.components import COMPONENTS
from kplanediag.analysis.model import BlastEntry, Impact, Impacted, Severity, Status
from kplanediag.analysis.results import Report
from kplanediag.render.escape import html

ICON = {Status.HEALTHY: "✔", Status.DEGRADED: "▲", Status.DOWN: "✖", Status.UNKNOWN: "?"}
WORD = {Status.HEALTHY: "ok", Status.DEGRADED: "degraded", Status.DOWN: "DOWN", Status.UNKNOWN: "unknown"}
SEVERITY_ICON = {Severity.CRITICAL: "✖", Severity.WARNING: "▲", Severity.INFO: "ℹ"}
LISTED = 50  # workloads / Services named per list, then "and N more"
FINDINGS_SHOWN = 500  # rows in the findings table; -o json has every one
TIMELINE_SHOWN = 50  # newest timeline entries


def esc(text: object) -> str:
    """escape.html: ``&<>"'`` as references (quote=True), controls and bidi controls visible."""
    return html(text)


def icon(symbol: str) -> str:
    """A decorative symbol: screen readers skip it and read the text beside it."""
    return f'<span aria-hidden="true">{symbol}</span> '


def badge(status: Status, text: str | None = None) -> str:
    return f'<span class="badge st-{status.value}">{icon(ICON[status])}{esc(text or WORD[status])}</span>'


def items(lines: list[str] | tuple[str, ...], limit: int = LISTED) -> str:
    shown = "".join(f"<li>{esc(x)}</li>" for x in lines[:limit])
    more = f"<li>and {len(lines) - limit} more (-o json lists every one)</li>" if len(lines) > limit else ""
    return f"<ul>{shown}{more}</ul>"


def impacted_text(w: Impacted) -> str:
    kind = f"{w.kind} " if w.kind else "Service "
    return f"{kind}{w.namespace}/{w.name}: {w.lost} lost, {w.ready_elsewhere} ready elsewhere"


def impacted_table(caption: str, rows: tuple[Impacted, ...]) -> str:
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{esc(w.kind or 'Service')}</td><td>{esc(w.namespace)}</td><td>{esc(w.name)}</td>"
        f"<td>{esc(w.impact.value)}</td><td>{w.lost}</td><td>{w.ready_elsewhere}</td></tr>"
        for w in rows[:LISTED]
    )
    more = f"<p>and {len(rows) - LISTED} more (-o json lists every one)</p>" if len(rows) > LISTED else ""
    return (
        f"<table><caption>{esc(caption)}</caption><thead><tr><th scope=col>kind</th><th scope=col>namespace</th>"
        f"<th scope=col>name</th><th scope=col>impact</th><th scope=col>pods lost</th>"
        f"<th scope=col>ready elsewhere</th></tr></thead><tbody>{body}</tbody></table>{more}"
    )


def blast_entry(i: int, b: BlastEntry) -> str:
    a = b.affected
    degraded = [impacted_text(w) for w in (*a.workloads, *a.services) if w.impact is Impact.DEGRADED]
    # the degraded ones get their own column; the analysis' own line for them is not repeated
    breaks = [x for x in b.breaks if not (degraded and x.startswith("degraded"))]
    degraded_html = items(degraded) if degraded else "<p>Nothing reported as degraded.</p>"
    affected = (
        f"<details><summary>Affected: {len(a.nodes)} node(s), {a.pods} pod(s), {len(a.workloads)} workload(s), "
        f"{len(a.services)} Service(s)</summary>"
        + (
            f"<p>Nodes: {esc(', '.join(a.nodes[:LISTED]))}{' …' if len(a.nodes) > LISTED else ''}</p>"
            if a.nodes
            else ""
        )
        + (f"<p>Namespaces: {esc(', '.join(a.namespaces))}</p>" if a.namespaces else "")
        + impacted_table("Workloads", a.workloads)
        + impacted_table("Services", a.services)
        + (f"<p>PodDisruptionBudgets: {esc(', '.join(a.disruption_budgets))}</p>" if a.disruption_budgets else "")
        + "</details>"
    )
    cause = f"; cause {esc(b.cause.code)} {esc(b.cause.subject)}" if b.cause else ""
    effects = (
        f'<section class="effects" aria-label="Because of it"><h4>Because of it</h4>{items(b.effects)}</section>'
        if b.effects
        else ""
    )
    return (
        f'<article class="blast" aria-labelledby="blast-{i}"><h3 id="blast-{i}">{i}. {esc(b.summary)}</h3>'
        f'<p class="muted">{esc(b.severity.value)}, {esc(b.plane.value)}, scope {esc(b.scope)}; '
        f"failure: {esc(b.failure)}{cause}</p>{effects}"
        f'<div class="impact">'
        f'<section class="breaks" aria-label="What breaks"><h4>{icon("✖")}What breaks</h4>'
        f"{items(breaks) if breaks else '<p>Nothing reported as broken.</p>'}</section>"
        f'<section class="degraded" aria-label="What is degraded"><h4>{icon("▲")}What is degraded</h4>'
        f"{degraded_html}</section>"
        f'<section class="works" aria-label="What keeps working"><h4>{icon("✔")}What keeps working</h4>'
        f"{items(b.still_works) if b.still_works else '<p>Nothing reported.</p>'}</section>"
        f"</div>{affected}</article>"
    )


def blast_section(report: Report) -> str:
    if not report.blast_radius:
        body = "<p>No current failure: nothing is broken.</p>"
    else:
        body = "".join(blast_entry(i, b) for i, b in enumerate(report.blast_radius, 1))
    return f'<section aria-labelledby="blast-h"><h2 id="blast-h">Blast radius</h2>{body}</section>'


def code_anchor(code: str) -> str:
    return "code-" + "".join(ch for ch in code if ch.isalnum() or ch == "-")


def explain_list(report: Report) -> str:
    """Each code found once: its meaning (codes.table), then what its components do, break and keep."""
    components: dict[str, list[str]] = {}
    for f in report.findings:
        names = components.setdefault(f.code, [])
        if f.component not in names:
            names.append(f.component)
    out = []
    for code, names in components.items():
        entry = CODES.get(code)
        head = (
            f"{esc(code)} ({esc(entry.severity.value)}, {esc(entry.plane.value)}): {esc(entry.title)}"
            if entry
            else esc(code)
        )
        parts = [f'<dt id="{code_anchor(code)}">{head}</dt>']
        if entry:
            parts.append(f"<dd><p>{esc(entry.meaning)}</p></dd>")
        for name in names:
            info = COMPONENTS.get(name)
            if info is not None:
                parts.append(
                    f"<dd><p><strong>{esc(info.name)}</strong>: {esc(info.does)}</p>"
                    f"<p><strong>When it fails:</strong> {esc(info.breaks)}</p>"
                    f"<p><strong>Keeps working:</strong> {esc(info.keeps)}</p>"
                    f"<p><strong>Look next:</strong> {esc(info.next_steps)}</p></dd>"
                )
        out.append("".join(parts))
    return f'<h3 id="explain-h">What the codes mean</h3><dl class="explain">{"".join(out)}</dl>'


def findings_section(report: Report) -> str:
    if not report.findings:
        return '<section aria-labelledby="findings-h"><h2 id="findings-h">Findings</h2><p>No findings.</p></section>'
    rows = []
    links = report.fit.links if report.fit is not None else None
    for f in report.findings[:FINDINGS_SHOWN]:
        title = CODES[f.code].title if f.code in CODES else ""
        # the team's runbook (config links.runbook), else what the code means, further down this page
        href = links.runbook_for(f.code) if links is not None and links.runbook else f"#{code_anchor(f.code)}"
        since = f.since.strftime("%Y-%m-%d %H:%M:%SZ") if f.since else ""
        rows.append(
            f'<tr class="sev-{f.severity.value}"><td>{icon(SEVERITY_ICON[f.severity])}{esc(f.severity.value)}</td>'
            f'<td><a href="{esc(href)}">{esc(f.code)}</a><br><span class="muted">{esc(title)}</span></td>'
            f"<td>{esc(f.plane.value)}</td><td>{esc(f.component)}</td><td>{esc(f.subject)}</td>"
            f"<td>{esc(f.message)}</td><td>{since}</td></tr>"
        )
    more = len(report.findings) - FINDINGS_SHOWN
    note = f"<p>and {more} more findings (-o json lists every one)</p>" if more > 0 else ""
    return (
        f'<section aria-labelledby="findings-h"><h2 id="findings-h">Findings</h2>'
        f"<table><caption>{len(report.findings)} finding(s), worst first</caption><thead><tr>"
        + "".join(
            f"<th scope=col>{h}</th>" for h in ("severity", "code", "plane", "component", "subject", "message", "since")
        )
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}{explain_list(report)}</section>"
    )


def timeline_section(report: Report) -> str:
    if not report.timeline:
        return ""
    newest = report.timeline[-TIMELINE_SHOWN:]
    rows = "".join(
        f"<tr><td>{e.when.strftime('%Y-%m-%d %H:%M:%SZ')}</td><td>{esc(e.kind)}</td><td>{esc(e.subject)}</td>"
        f"<td>{esc(e.text)}</td></tr>"
        for e in newest
    )
    return (
        f'<section aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2><details>'
        f"<summary>The {len(newest)} newest of {len(report.timeline)} entries, oldest first</summary>"
        f"<table><thead><tr><th scope=col>when</th><th scope=col>kind</th><th scope=col>subject</th>"
        f"<th scope=col>what</th></tr></thead><tbody>{rows}</tbody></table></details></section>"
    )


def last_known_section(report: Report) -> str:
    if report.last_known is None:
        return ""
    return (
        '<section aria-labelledby="known-h"><h2 id="known-h">Last known state (not current)</h2>'
        f"{items(report.last_known.lines())}</section>"
    )


def gaps_section(report: Report) -> str:
    if not report.gaps:
        return ""
    return f'<section aria-labelledby="gaps-h"><h2 id="gaps-h">Not observed</h2>{items(report.gaps, 200)}</section>'
