"""``kplanediag timeline``: the transitions behind the current state, oldest first, with absolute
and relative times (node conditions, Leases and leader changes, pods turning not ready, Events)."""

from __future__ import annotations

import click

from kplanediag.cli.options import THRESHOLDS, CannotAssess, Source, source_options
from kplanediag.render.escape import one_line


@click.command("timeline", short_help="What happened when, oldest first.")
@source_options
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--fail-on", type=click.Choice(["warning", "critical", "never"]), default="warning", show_default=True)
def timeline_command(source: Source, output: str, fail_on: str) -> int:
    """Node condition transitions, heartbeat and leader Leases (last renewals, leader changes),
    pods turning not ready or unschedulable, and recent Events (Warnings everywhere, every event of
    default and kube-system; at most 1,000 of each, read once), oldest first. Exits with the
    check's code."""
    import json  # noqa: PLC0415 (not on the --version path)

    from kplanediag.analysis.report import analyze  # noqa: PLC0415
    from kplanediag.analysis.timeline import ago  # noqa: PLC0415
    from kplanediag.snapshot import format_time  # noqa: PLC0415

    if source.fleet:
        raise click.UsageError("timeline is of one cluster: give one --context")
    try:
        snapshot, now = source.load()
    except CannotAssess as exc:
        if output == "json":
            click.echo(exc.document(), nl=False)
        raise
    report = analyze(snapshot, now)
    at = report.cluster.evaluated_at
    if output == "json":
        entries = [
            {
                "time": format_time(e.when),
                "secondsAgo": round((at - e.when).total_seconds()),
                "kind": e.kind,
                "subject": e.subject,
                "text": e.text,
            }
            for e in report.timeline
        ]
        doc = {"schemaVersion": 1, "evaluatedAt": format_time(at), "summary": report.summary, "entries": entries}
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(one_line(report.summary))
        for e in report.timeline:
            stamp = e.when.strftime("%Y-%m-%d %H:%M:%SZ")
            click.echo(
                one_line(f"{stamp} ({ago((at - e.when).total_seconds()):>7})  {e.kind:<6} {e.subject}: {e.text}")
            )
        if not report.timeline:
            click.echo("(nothing dated in what was read)")
    return THRESHOLDS[fail_on].get(report.status, 0)
