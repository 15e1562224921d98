"""``kplanediag wait --for healthy``: the CI step right after ``kind create cluster`` or an upgrade.
Checks until the condition holds or the timeout passes, a progress line per check on stderr, then
prints the last report and exits with its code (0 once the condition holds)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kplanediag.analysis.tick import Tick
from kplanediag.cli.config import fit_options, read_fit
from kplanediag.cli.options import (
    CannotAssess,
    Source,
    duration,
    output_options,
    source_options,
    terminal_width,
    use_colour,
)
from kplanediag.cli.poll import poll
from kplanediag.render import SECTIONS
from kplanediag.render.escape import one_line

if TYPE_CHECKING:
    from kplanediag.analysis.results import Report

CONDITIONS = ("healthy", "no-critical")
PLANES = {"control": "control-plane", "data": "data-plane", "all": None}


def plane_status(tick: Tick, plane: str | None) -> str:
    """The check's status over one plane's findings (all planes: the report's own status)."""
    report = tick.report
    if report is None:
        return "unknown"
    if plane is None:
        return report.status
    ranks = [f.severity.rank for f in report.findings if f.plane.value == plane]
    down = any(c.status.value == "down" for c in report.components if c.plane.value == plane)
    worst = max([*ranks, 2 if down else 0], default=0)
    return ("healthy", "warning", "critical")[worst]


def satisfied(status: str, condition: str) -> bool:
    return status == "healthy" if condition == "healthy" else status in ("healthy", "warning")


@click.command("wait", short_help="Wait until the cluster is healthy (CI).")
@click.option(
    "--for", "condition", type=click.Choice(CONDITIONS), default="healthy", show_default=True,
    help="healthy: no warning or critical finding; no-critical: no critical finding.",
)  # fmt: skip
@click.option("--plane", type=click.Choice(tuple(PLANES)), default="all", show_default=True)
@click.option("--timeout", callback=duration, default="5m", show_default=True, help="Give up after this long.")
@click.option("--interval", callback=duration, default="5s", show_default=True, help="Time between checks.")
@source_options
@output_options
@fit_options
def wait_command(
    source: Source,
    output: str,
    colour: str,
    no_colour: bool,
    etcd_quota: int | None,
    condition: str,
    plane: str,
    timeout: float,
    interval: float,
    config_path: Path | None = None,
    ignore: tuple[str, ...] = (),
) -> int:
    """Check until the cluster (or one plane) is healthy, or until --timeout; progress on stderr.

    Prints the last check's report and exits with its code: 0 once the condition holds, else the
    last check's (2 critical or unreachable, 1 warning, 3 could not assess)."""
    if source.fleet:
        raise click.UsageError("wait watches one cluster: give one --context")
    scope = PLANES[plane]
    where = f"the {scope}" if scope else "the cluster"

    def done(tick: Tick) -> bool:
        status = plane_status(tick, scope)
        ok = satisfied(status, condition)
        text = tick.report.summary if tick.report else f"could not assess: {tick.error}"
        verdict = "done" if ok else f"waiting for {where} to be {condition}"
        click.echo(
            one_line(f"kplanediag wait: check {tick.number} at {tick.elapsed:.0f}s: {text} ({verdict})"), err=True
        )
        return ok

    fit = read_fit(source, config_path, ignore)  # accepted findings hold here as in check
    last = poll(source, interval, timeout, done, etcd_quota, fit=fit)
    status = plane_status(last, scope)
    if last.report is None:
        assert isinstance(last.error, CannotAssess)  # the loop's checks fail with nothing else
        raise last.error
    echo_report(last.report, output, colour, no_colour)
    if satisfied(status, condition):
        return 0
    click.echo(f"kplanediag wait: {where} not {condition} after {last.elapsed:.0f}s", err=True)
    return {"warning": 1, "critical": 2}.get(status, 3)


def echo_report(report: Report, output: str, colour: str, no_colour: bool) -> None:
    """The last check's report, as check prints it."""
    from kplanediag.render.formats import render  # noqa: PLC0415

    coloured = use_colour(colour, no_colour)
    from kplanediag.render.table import columns  # noqa: PLC0415

    with columns(terminal_width()):
        text = render(report, output, SECTIONS, coloured)
    click.echo(text, nl=False, color=coloured)
