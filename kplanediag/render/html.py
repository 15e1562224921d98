"""``-o html`` and ``serve``'s status page: one self-contained HTML document (inline CSS, no script,
font, image or external URL) drawing both planes from the same Report as every other format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from kplanediag import __version__
from kplanediag.analysis.knowledge.components import MODEL
from kplanediag.analysis.model import Status
from kplanediag.analysis.results import Report
from kplanediag.render import SECTIONS
from kplanediag.render.html_parts import (
    badge,
    blast_section,
    esc,
    findings_section,
    gaps_section,
    last_known_section,
    timeline_section,
)
from kplanediag.render.html_planes import control_plane, cross_plane, data_plane
from kplanediag.render.html_style import CSS

OVERALL = {"healthy": Status.HEALTHY, "warning": Status.DEGRADED, "critical": Status.DOWN}
# -o html --refresh: how often the page reloads itself (a file rewritten by a cron job or a loop)
PAGE_REFRESH: ContextVar[int | None] = ContextVar("page_refresh", default=None)


@contextmanager
def refreshing(seconds: float | None) -> Iterator[None]:
    token = PAGE_REFRESH.set(None if seconds is None else max(1, round(seconds)))
    try:
        yield
    finally:
        PAGE_REFRESH.reset(token)


def when(report: Report) -> str:
    return report.cluster.evaluated_at.strftime("%Y-%m-%d %H:%M:%SZ")


def head(report: Report, refresh_seconds: int | None) -> str:
    refresh = ""
    if refresh_seconds is not None:
        refresh = f'<meta http-equiv="refresh" content="{max(1, int(refresh_seconds))}">'
    title = f"kplanediag: {report.status.upper()} at {when(report)}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{refresh}<title>{esc(title)}</title><style>{CSS}</style></head>"
    )


def masthead(report: Report) -> str:
    c = report.cluster
    facts = [
        ("cluster", c.server or "-"),
        ("version", c.version or "unknown"),
        ("control plane", c.control_plane_mode),
        ("profile", c.profile),
        ("evaluated at", when(report)),
        ("collected at", c.collected_at.strftime("%Y-%m-%d %H:%M:%SZ")),
    ]
    if c.single_node:
        facts.append(("single node", "both planes on one machine"))
    meta = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts)
    dashboard = report.fit.links.dashboard if report.fit is not None else ""
    if dashboard:  # the team's dashboard (config links.dashboard)
        meta += f'<div><dt>dashboard</dt><dd><a href="{esc(dashboard)}">{esc(dashboard)}</a></dd></div>'
    notes = "".join(f"<li>{esc(o)}</li>" for o in c.observations)
    status = OVERALL.get(report.status, Status.UNKNOWN)
    return (
        f'<header class="top st-{esc(report.status)}" role="banner">'
        f"<h1>kplanediag status: {badge(status, report.status.upper())}</h1>"
        f'<p class="summary" id="summary">{esc(report.summary)}</p>'
        f'<dl class="meta">{meta}</dl>' + (f'<ul class="muted">{notes}</ul>' if notes else "") + "</header>"
    )


def toc(links: list[tuple[str, str]]) -> str:
    entries = "".join(f'<li><a href="#{anchor}">{esc(text)}</a></li>' for anchor, text in links)
    return f'<nav class="toc" aria-label="Sections"><ul>{entries}</ul></nav>'


def section(anchor: str, title: str, body: str) -> str:
    return f'<section aria-labelledby="{anchor}"><h2 id="{anchor}">{esc(title)}</h2>{body}</section>'


def render_html(
    report: Report,
    *,
    refresh_seconds: int | None = None,
    banner: str | None = None,
    sections: Iterable[str] = SECTIONS,
) -> str:
    """``refresh_seconds``: the page reloads itself that often (serve); ``banner``: a notice shown
    above everything (e.g. that the results are stale); ``sections``: as the other formats'."""
    wanted = set(sections)
    body: list[str] = []
    links: list[tuple[str, str]] = []
    # the first screen answers the incident's questions: the verdict (masthead), what breaks and what
    # keeps working, then the findings; the planes' inventories after
    if "blastRadius" in wanted:
        body.append(blast_section(report))
        links.append(("blast-h", "Blast radius"))
    if "findings" in wanted:
        body.append(findings_section(report))
        links.append(("findings-h", "Findings"))
    if "components" in wanted:
        body += [
            section("control-h", "Control plane", control_plane(report)),
            section("data-h", "Data plane", data_plane(report)),
            section("cross-h", "Cross-plane: admission webhooks, aggregated APIs", cross_plane(report)),
        ]
        links += [("control-h", "Control plane"), ("data-h", "Data plane"), ("cross-h", "Cross-plane")]
    known = last_known_section(report)
    if known:
        body.append(known)
        links.append(("known-h", "Last known state"))
    if "findings" in wanted and report.timeline:
        body.append(timeline_section(report))
        links.append(("timeline-h", "Timeline"))
    if report.gaps:
        body.append(gaps_section(report))
        links.append(("gaps-h", "Not observed"))
    if report.fit is not None:
        from kplanediag.render.fit import footer_lines  # noqa: PLC0415

        fitted = "".join(f"<li>{esc(x)}</li>" for x in footer_lines(report))
        body.append(section("fit-h", "Fitted to this cluster", f"<ul>{fitted}</ul>"))
        links.append(("fit-h", "Fitted"))
    notice = f'<div class="banner" role="alert">{esc(banner)}</div>' if banner else ""
    footer = (
        f'<footer role="contentinfo"><p>{esc(MODEL)}</p><p>kplanediag {esc(__version__)}: the same report as '
        f"<code>-o json</code>, evaluated at {when(report)}. Status is written as text beside every colour: "
        f"ok, degraded, DOWN (failing), unknown (not observed: never means down).</p></footer>"
    )
    return (
        head(report, refresh_seconds)
        + '<body><a class="skip" href="#main">Skip to the report</a>'
        + masthead(report)
        + notice
        + toc(links)
        + f'<main id="main">{"".join(body)}</main>{footer}</body></html>\n'
    )
