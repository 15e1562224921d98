"""``kplanediag diff OLD NEW``: what changed between two snapshots of a cluster (saved snapshots or
kubectl Lists), each judged at its own capture time."""

from __future__ import annotations

from pathlib import Path

import click

from kplanediag.cli.options import EXIT_OK, CannotAssess
from kplanediag.render.escape import one_line


def _load(path: Path) -> object:
    from kplanediag.snapshot import SnapshotError, load_snapshot  # noqa: PLC0415

    try:
        return load_snapshot(path)
    except SnapshotError as exc:
        raise CannotAssess(str(exc)) from exc


EXIT_CHANGED = 1  # as diff(1): the inputs differ


def unrelated(before: object, after: object) -> str | None:
    """Why two snapshots look like different clusters (other servers and no node in common), or None."""
    from kplanediag.snapshot import Snapshot  # noqa: PLC0415

    assert isinstance(before, Snapshot) and isinstance(after, Snapshot)
    old_nodes, new_nodes = {n.name for n in before.nodes}, {n.name for n in after.nodes}
    if not old_nodes or not new_nodes or old_nodes & new_nodes:
        return None
    servers = (before.server, after.server)
    if all(servers) and servers[0] == servers[1]:
        return None  # the same API server, every node replaced: one cluster, rebuilt
    said = f"servers {servers[0]} and {servers[1]}; " if all(servers) else ""
    return f"{said}no node in common: {len(old_nodes)} and {len(new_nodes)} nodes"


# Status, findings, components, blast radius, nodes and workloads are compared. Exits as diff(1) does: 0
# nothing changed, 1 something did, 3 could not read an input (NEW's own status is in what it prints).
@click.command("diff", short_help="What changed between two snapshots.")
@click.argument("old", type=click.Path(path_type=Path))  # any --from input: a snapshot, a List, a bundle
@click.argument("new", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def diff_command(old: Path, new: Path, output: str) -> int:
    """Findings that appeared, cleared or got worse, components whose status changed, failures
    whose blast radius changed, nodes and workloads that came, went or changed their ready count.

    Exits 0 when nothing changed, 1 when something did, 3 when an input cannot be read."""
    import json  # noqa: PLC0415 (not on the --version path)

    from kplanediag.analysis.changes import changes, inventory_changes  # noqa: PLC0415
    from kplanediag.analysis.report import analyze  # noqa: PLC0415
    from kplanediag.snapshot import Snapshot, format_time  # noqa: PLC0415

    before, after = _load(old), _load(new)
    assert isinstance(before, Snapshot) and isinstance(after, Snapshot)
    if (why := unrelated(before, after)) is not None:
        warning = f"{old} and {new} look like different clusters ({why}): the diff compares unrelated clusters"
        click.echo(f"kplanediag: warning: {warning}", err=True)
    a, b = analyze(before), analyze(after)
    found = [*changes(a, b), *inventory_changes(before, after)]
    if output == "json":
        doc = {
            "old": {"file": str(old), "collectedAt": format_time(before.collected_at), "status": a.status},
            "new": {"file": str(new), "collectedAt": format_time(after.collected_at), "status": b.status},
            "changes": [{"kind": c.kind, "change": c.what, "subject": c.subject, "text": c.text} for c in found],
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(f"{old} ({format_time(before.collected_at)}, {a.status.upper()}) -> "
                   f"{new} ({format_time(after.collected_at)}, {b.status.upper()})")  # fmt: skip
        for c in found:
            click.echo(one_line(f"  {c.line()}"))
        if not found:
            click.echo("  no change")
    return EXIT_CHANGED if found else EXIT_OK
