"""The steps of one report run: usage checks, a fleet, loading (or explaining exit 3), the last known state."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kplanediag.cli.config import read_fit
from kplanediag.cli.options import CannotAssess, Source, terminal_width, use_colour

if TYPE_CHECKING:
    from datetime import datetime

    from kplanediag.analysis.fit import Fit
    from kplanediag.snapshot import Snapshot


def refuse_combinations(source: Source, output: str, redact: bool, refresh: float | None) -> None:
    """Usage errors: --refresh without a page that reloads, a fleet with a one-cluster format or --redact."""
    from kplanediag.render.formats import FORMATS  # noqa: PLC0415

    if refresh is not None and not FORMATS[output].refreshes:
        pages = " or ".join(f"-o {f.name}" for f in FORMATS.values() if f.refreshes)
        raise click.UsageError(f"--refresh reloads an HTML page: it needs {pages}, not -o {output}")

    if source.fleet and FORMATS[output].fleet is None:
        raise click.UsageError(f"-o {output} draws one cluster: give one --context")
    if source.fleet and redact:
        raise click.UsageError("--redact reports one cluster: give one --context")


def run_fleet(
    source: Source,
    sections: tuple[str, ...],
    output: str,
    fail_on: str,
    etcd_quota: int | None,
    colour: str,
    no_colour: bool,
    config_path: Path | None,
    ignore: tuple[str, ...],
    junit_file: Path | None,
) -> int:
    """Several contexts: each checked concurrently, one report of them all; the worst exit code."""
    from kplanediag.cli.fleet import check_fleet, render_fleet  # noqa: PLC0415

    members = check_fleet(source, etcd_quota, config_path, ignore)
    coloured = use_colour(colour, no_colour)
    from kplanediag.render.table import columns  # noqa: PLC0415

    with columns(terminal_width()):
        text = render_fleet(members, output, sections, fail_on, coloured)
    click.echo(text, nl=False, color=coloured)
    if junit_file is not None:
        write_junit(junit_file, render_fleet(members, "junit", sections, fail_on, False))
    return max(m.code(fail_on) for m in members)


def load_or_explain(
    source: Source,
    output: str,
    config_path: Path | None,
    ignore: tuple[str, ...],
    redact: bool,
    junit_file: Path | None,
) -> tuple[Fit | None, Snapshot, datetime | None]:
    """The fit and the snapshot; on exit 3, the JUnit file and the error document are written first."""
    from kplanediag.render.formats import FORMATS  # noqa: PLC0415

    try:
        fit = read_fit(source, config_path, ignore)
        snapshot, now = source.load()
    except CannotAssess as exc:
        if junit_file is not None:
            from kplanediag.render.junit import render_junit_fleet  # noqa: PLC0415

            write_junit(junit_file, render_junit_fleet([(source.context or "cluster", None, str(exc))]))
        if FORMATS[output].error_document:
            document = exc.document()
            if redact:
                from kplanediag.render.redact import Redactor  # noqa: PLC0415

                document = Redactor().net(document)  # the server's URL and address in the message
            click.echo(document, nl=False)
        raise
    return fit, snapshot, now


def last_known(snapshot: Snapshot, source: Source, baseline: Path | None, keep: bool) -> tuple[Snapshot, str] | None:
    """With the API server unreachable: --baseline's snapshot, else the one remembered, if kept."""
    if snapshot.reachable:
        return None
    if baseline:
        return load_baseline(baseline)
    from kplanediag.cli import memory  # noqa: PLC0415

    return memory.recall(snapshot.server, source.context) if keep else None


def write_junit(path: Path, document: str) -> None:
    """--junit FILE: the same report's JUnit document; a file that cannot be written is exit 3."""
    try:
        path.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise CannotAssess(f"--junit: cannot write {path}: {exc.strerror}") from exc


def load_baseline(path: Path) -> tuple[Snapshot, str]:
    from kplanediag.snapshot import SnapshotError, load_snapshot  # noqa: PLC0415

    try:
        return load_snapshot(path), f"baseline {path}"
    except SnapshotError as exc:
        raise CannotAssess(f"--baseline: {exc}") from exc
