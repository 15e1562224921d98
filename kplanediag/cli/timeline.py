"""``kplanediag timeline``: the transitions behind the current state, oldest first, with absolute
and relative times (node conditions, Leases and leader changes, pods turning not ready, Events)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kplanediag.cli.options import THRESHOLDS, CannotAssess, Source, duration, source_options
from kplanediag.render.escape import one_line

if TYPE_CHECKING:
    from kplanediag.analysis.results import Report

KINDS = ("node", "lease", "leader", "pod", "event")
FIRST = ("node", "lease", "leader")  # the state of machines and components: said before pods and events
GROUP_FROM = 3  # this many entries of one kind with one text are one line (count, first and last time)


def grouped(entries: list[Any]) -> list[tuple[Any, list[Any]]]:
    """Entries with the same kind and text as one group, in the order of each group's last entry;
    fewer than GROUP_FROM alike stay single."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for e in entries:
        groups.setdefault((e.kind, e.text), []).append(e)
    out: list[tuple[Any, list[Any]]] = []
    for members in groups.values():
        if len(members) >= GROUP_FROM:
            out.append((members[-1], members))
        else:
            out += [(e, [e]) for e in members]
    return sorted(out, key=lambda g: g[0].when)


@click.command("timeline", short_help="What happened when, oldest first.")
@source_options
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--fail-on", type=click.Choice(["warning", "critical", "never"]), default="warning", show_default=True)
@click.option("--since", "since_text", metavar="DURATION", help="Only what happened this long before now (1h, 30m).")
@click.option("--kind", "kinds", type=click.Choice(KINDS), multiple=True, help="Only these kinds; repeatable.")
def timeline_command(source: Source, output: str, fail_on: str, since_text: str | None, kinds: tuple[str, ...]) -> int:
    """Node condition transitions, heartbeat and leader Leases (last renewals, leader changes),
    pods turning not ready or unschedulable, and recent Events (Warnings everywhere, every event of
    default and kube-system; at most 1,000 of each, read once), oldest first. The table says nodes,
    Leases and leaders first, then pods and events, with 3 or more alike (one kind, one text) as
    one line: how many, first and last time, one example. Exits with the check's code."""
    from kplanediag.analysis.report import analyze  # noqa: PLC0415

    if source.fleet:
        raise click.UsageError("timeline is of one cluster: give one --context")
    try:
        snapshot, now = source.load()
    except CannotAssess as exc:
        if output == "json":
            click.echo(exc.document(), nl=False)
        raise
    since = duration(None, None, since_text) if since_text is not None else None
    report = analyze(snapshot, now)
    at = report.cluster.evaluated_at
    timeline = [
        e
        for e in report.timeline
        if (not kinds or e.kind in kinds) and (since is None or (at - e.when).total_seconds() <= since)
    ]
    if output == "json":
        click.echo(json_text(report, timeline))
    else:
        echo_table(report, timeline, filtered=bool(since_text or kinds))
    return THRESHOLDS[fail_on].get(report.status, 0)


def json_text(report: Report, timeline: list[Any]) -> str:
    """-o json: the entries, oldest first, with the time they are judged at."""
    import json  # noqa: PLC0415 (not on the --version path)

    from kplanediag.snapshot import format_time  # noqa: PLC0415

    at = report.cluster.evaluated_at
    entries = [
        {
            "time": format_time(e.when),
            "secondsAgo": round((at - e.when).total_seconds()),
            "kind": e.kind,
            "subject": e.subject,
            "text": e.text,
        }
        for e in timeline
    ]
    doc = {"schemaVersion": 1, "evaluatedAt": format_time(at), "summary": report.summary, "entries": entries}
    return json.dumps(doc, indent=2)


def echo_table(report: Report, timeline: list[Any], filtered: bool) -> None:
    """The table: nodes, Leases and leaders first, then pods and events; alike entries as one line."""
    from kplanediag.analysis.timeline import ago  # noqa: PLC0415

    at = report.cluster.evaluated_at
    click.echo(one_line(report.summary))
    first = [e for e in timeline if e.kind in FIRST]
    rest = [e for e in timeline if e.kind not in FIRST]
    for title, part in (("nodes, Leases and leaders", first), ("pods and events", rest)):
        if not part:
            continue
        click.echo(f"-- {title} --")
        for last, members in grouped(part):
            stamp = last.when.strftime("%Y-%m-%d %H:%M:%SZ")
            when = f"{stamp} ({ago((at - last.when).total_seconds()):>7})"
            if len(members) == 1:
                click.echo(one_line(f"{when}  {last.kind:<6} {last.subject}: {last.text}"))
            else:
                since_first = members[0].when.strftime("%Y-%m-%d %H:%M:%SZ")
                who = f"{len(members)} {last.kind}s since {since_first}, e.g. {last.subject}"
                click.echo(one_line(f"{when}  {last.kind:<6} {who}: {last.text}"))
    if not timeline:
        click.echo("(nothing dated in what was read" + (", in that window or of those kinds)" if filtered else ")"))
