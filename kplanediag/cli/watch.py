"""``kplanediag watch``: re-checks every --interval until interrupted and prints only what changed,
timestamped, with a one-line status heartbeat per check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from kplanediag.analysis.tick import Tick
from kplanediag.cli.config import fit_options, read_fit
from kplanediag.cli.options import EXIT_UNKNOWN, THRESHOLDS, Source, duration, report_options, source_options
from kplanediag.cli.poll import poll
from kplanediag.render.escape import one_line


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What changed: a finding appeared, cleared or got worse; a component changed status; a failure's blast radius
# appeared, grew, shrank or cleared. Plain lines, for a terminal or a pipe. Ctrl-C (or SIGTERM) exits at once
# with the last status's code.
@click.command("watch", short_help="Re-check until interrupted; print what changes.")
@click.option("--interval", callback=duration, default="10s", show_default=True, help="Time between checks.")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many checks (default: until Ctrl-C).")
@source_options
@report_options
@fit_options
def watch_command(
    source: Source,
    output: str,
    fail_on: str,
    etcd_quota: int | None,
    colour: str,
    no_colour: bool,
    interval: float,
    count: int | None,
    config_path: Path | None = None,
    ignore: tuple[str, ...] = (),
) -> int:
    """Check every --interval until interrupted, printing only what changed (timestamped) and a
    status line per check. Exits with the last check's code (--fail-on), at Ctrl-C too."""
    from kplanediag.analysis.changes import changes  # noqa: PLC0415
    from kplanediag.render.formats import FORMATS  # noqa: PLC0415

    if source.fleet:
        raise click.UsageError("watch follows one cluster: give one --context")
    if FORMATS[output].document:
        raise click.UsageError("watch prints lines: -o table (the default)")
    fit = read_fit(source, config_path, ignore)  # accepted findings hold here as in check
    last: list[Tick] = []

    def done(tick: Tick) -> bool:
        previous = last[-1].report if last else None
        last.append(tick)
        if tick.report is None:
            click.echo(one_line(f"{stamp()} could not assess: {tick.error}"))
        else:
            if previous is None:
                click.echo(
                    one_line(f"{stamp()} watching {tick.report.cluster.server or 'the cluster'} every {interval:g}s")
                )
                for f in tick.report.findings:
                    click.echo(one_line(f"{stamp()} finding present: {f.code} ({f.severity.value}) {f.message}"))
            else:
                for change in changes(previous, tick.report):
                    click.echo(one_line(f"{stamp()} {change.line()}"))
            click.echo(one_line(f"{stamp()} · {tick.report.summary} (check {tick.number})"))
        return count is not None and tick.number >= count

    try:
        poll(source, interval, None, done, etcd_quota, fit=fit)
    except KeyboardInterrupt:
        click.echo(f"{stamp()} stopped after {len(last)} check(s)", err=True)
    if not last or last[-1].report is None:
        return EXIT_UNKNOWN
    return THRESHOLDS[fail_on].get(last[-1].report.status, 0)
