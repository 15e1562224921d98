"""``-o html`` and ``serve``'s status page: one self-contained HTML document (templates/page.html.j2,
inline CSS, no script) drawing both planes from the same Report as every other format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from kplanediag import __version__
from kplanediag.analysis.model import Status
from kplanediag.analysis.results import Report
from kplanediag.render import SECTIONS
from kplanediag.render.html_parts import STAMP

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


def facts(report: Report) -> list[tuple[str, str]]:
    c = report.cluster
    said = [
        ("cluster", c.server or "-"),
        ("version", c.version or "unknown"),
        ("control plane", c.control_plane_mode),
        ("profile", c.profile),
        ("evaluated at", c.evaluated_at.strftime(STAMP)),
        ("collected at", c.collected_at.strftime(STAMP)),
    ]
    if c.single_node:
        said.append(("single node", "both planes on one machine"))
    return said


def links(report: Report, wanted: set[str]) -> list[tuple[str, str]]:
    """The sections shown, in order (anchor, the table of contents' text): the first screen answers
    the incident's questions (what breaks, what keeps working, the findings), the inventories after."""
    shown: list[tuple[str, str]] = []
    if "blastRadius" in wanted:
        shown.append(("blast-h", "Blast radius"))
    if "findings" in wanted:
        shown.append(("findings-h", "Findings"))
    if "components" in wanted:
        shown += [("control-h", "Control plane"), ("data-h", "Data plane"), ("cross-h", "Cross-plane")]
    if report.last_known is not None:
        shown.append(("known-h", "Last known state"))
    if "findings" in wanted and report.timeline:
        shown.append(("timeline-h", "Timeline"))
    if report.gaps:
        shown.append(("gaps-h", "Not observed"))
    if report.fit is not None:
        shown.append(("fit-h", "Fitted"))
    return shown


def render_html(
    report: Report,
    *,
    refresh_seconds: int | None = None,
    banner: str | None = None,
    sections: Iterable[str] = SECTIONS,
) -> str:
    """``refresh_seconds``: the page reloads itself that often (serve); ``banner``: a notice shown
    above everything (e.g. that the results are stale); ``sections``: as the other formats'."""
    from kplanediag.analysis.knowledge.components import MODEL  # noqa: PLC0415
    from kplanediag.render.html_style import CSS  # noqa: PLC0415
    from kplanediag.render.templating import render_template, safe  # noqa: PLC0415

    fitted: list[str] = []
    if report.fit is not None:
        from kplanediag.render.fit import footer_lines  # noqa: PLC0415

        fitted = footer_lines(report)
    return (
        render_template(
            "page.html.j2",
            report=report,
            refresh=None if refresh_seconds is None else max(1, int(refresh_seconds)),
            when=report.cluster.evaluated_at.strftime(STAMP),
            css=safe(CSS),
            overall=OVERALL.get(report.status, Status.UNKNOWN),
            facts=facts(report),
            dashboard=report.fit.links.dashboard if report.fit is not None else "",
            banner=banner,
            links=links(report, set(sections)),
            fitted=fitted,
            model=MODEL,
            version=__version__,
        )
        + "\n"
    )
