"""Markdown for incident tickets and a CI job's step summary: the summary line, one table per
plane, the findings, and each failure's blast radius as lists."""

from __future__ import annotations

from collections.abc import Iterable

from kplanediag.analysis.model import Component, Plane, Status
from kplanediag.analysis.results import Report
from kplanediag.render import SECTIONS
from kplanediag.render.escape import markdown

ICON = {Status.HEALTHY: "ok", Status.DEGRADED: "**degraded**", Status.DOWN: "**DOWN**", Status.UNKNOWN: "unknown"}
TITLES = {
    Plane.CONTROL: "Control plane",
    Plane.CROSS: "Cross-plane (webhooks, aggregated APIs)",
    Plane.DATA: "Data plane",
}


def cell(text: str) -> str:
    """Every text not written here goes through this (escape.markdown): no tag, link, image or
    emphasis from a cluster, no pipe or line break that splits a row."""
    return markdown(text)


def _components(components: list[Component]) -> list[str]:
    rows = ["| component | node | status | detail | version |", "| --- | --- | --- | --- | --- |"]
    for c in components:
        role = f" ({c.role})" if c.role else ""
        rows.append(
            f"| {cell(c.name)} | {cell((c.node or '-') + role)} | {ICON[c.status]} | {cell(c.detail or '')} "
            f"| {cell(c.version or '-')} |"
        )
    return rows


def url_text(url: str) -> str:
    """A configured URL (http(s), no whitespace: cli/config/file.py) safe inside Markdown's <...> and (...)."""
    return url.replace("<", "%3C").replace(">", "%3E").replace("(", "%28").replace(")", "%29").replace("|", "%7C")


def code_link(report: Report, code: str) -> str:
    """The code, linked to the team's runbook when the config names one (links.runbook)."""
    links = report.fit.links if report.fit is not None else None
    return f"[{code}]({url_text(links.runbook_for(code))})" if links is not None and links.runbook else code


def _header(report: Report) -> list[str]:
    """The status line, the summary and the cluster's facts."""
    c = report.cluster
    title = "what-if (hypothetical)" if report.what_if is not None else "kplanediag"
    return [
        f"## {title}: {report.status.upper()}",
        "",
        f"**{cell(report.summary)}**",
        "",
        f"- cluster {cell(c.server or '-')}, version {cell(c.version or 'unknown')}, "
        f"control plane {cell(c.control_plane_mode)}, profile {cell(c.profile)}",
        f"- evaluated at {c.evaluated_at.strftime('%Y-%m-%d %H:%M:%SZ')}",
        *(
            [f"- captured {c.collected_at.strftime('%Y-%m-%d %H:%M:%SZ')}: told by {cell(c.collected_at_from)}"]
            if c.collected_at_from
            else []
        ),
        *([f"- {cell(c.clock_note)}"] if c.clock_note else []),
        *(f"- {cell(o)}" for o in c.observations),
    ]


def _blast(report: Report) -> list[str]:
    """Each failure's blast radius as a numbered list."""
    out = ["", "### Blast radius", ""]
    if not report.blast_radius:
        out.append("No current failure.")
    for i, b in enumerate(report.blast_radius, 1):
        cause = f", cause {b.cause.code} {cell(b.cause.subject)}" if b.cause else ""
        out += [f"{i}. **{cell(b.summary)}** ({b.severity.value}, {b.plane.value}, scope {cell(b.scope)}{cause})"]
        out += [f"   - because of it: {cell(x)}" for x in b.effects]
        out += [f"   - breaks: {cell(x)}" for x in b.breaks]
        out += [f"   - still works: {cell(x)}" for x in b.still_works]
    return out


def render_markdown(report: Report, sections: Iterable[str] = SECTIONS) -> str:
    wanted = set(sections)
    out = _header(report)
    if report.what_if is not None:
        from kplanediag.render.whatif import whatif_lines  # noqa: PLC0415

        out += ["", "### What if (hypothetical, not a current failure)", ""]
        out += [f"- {cell(line)}" for line in whatif_lines(report)]
    dashboard = report.fit.links.dashboard if report.fit is not None else ""
    if dashboard:
        out += ["", f"Dashboard: <{url_text(dashboard)}>"]
    if "components" in wanted:
        for plane in (Plane.CONTROL, Plane.CROSS, Plane.DATA):
            mine = [x for x in report.components if x.plane is plane]
            if mine:
                out += ["", f"### {TITLES[plane]}", "", *_components(mine)]
    if "findings" in wanted:
        out += ["", "### Findings", ""]
        if report.findings:
            out += ["| severity | code | plane | component | message |", "| --- | --- | --- | --- | --- |"]
            out += [
                f"| {f.severity.value} | {code_link(report, f.code)} | {f.plane.value} | {cell(f.component)} | "
                f"{cell(f.message)}" + (f" (effect of {cell(f.caused_by)})" if f.caused_by else "") + " |"
                for f in report.findings
            ]
        else:
            out.append("No findings.")
    if "blastRadius" in wanted:
        out += _blast(report)
    if report.last_known is not None:
        out += ["", "### Last known state (not current)", "", *(f"- {cell(x)}" for x in report.last_known.lines())]
    if report.gaps:
        out += ["", "### Not observed", "", *(f"- {cell(g)}" for g in report.gaps)]
    if report.fit is not None:
        from kplanediag.render.fit import footer_lines  # noqa: PLC0415

        out += ["", "### Fitted to this cluster", "", *(f"- {cell(x)}" for x in footer_lines(report))]
    return "\n".join(out) + "\n"
