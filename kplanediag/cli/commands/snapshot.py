"""``snapshot save``: what kplanediag collects, written to a file to analyse later with --from."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import click

from kplanediag.cli.options import EXIT_CRITICAL, EXIT_OK, CannotAssess, Source, redact_option, source_options


@click.group()
def snapshot() -> None:
    """Save what kplanediag collects, to analyse later with --from."""


@snapshot.command("save")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@source_options
@redact_option
def snapshot_save(file: Path, source: Source, redact: bool) -> int:
    """Collect the cluster (or read --from) and write the snapshot to FILE (--redact: tokens for
    names, addresses and URLs; it still loads with --from and analyses the same)."""
    from kplanediag.snapshot import save_snapshot  # noqa: PLC0415

    if source.fleet:
        raise click.UsageError("snapshot save writes one cluster: give one --context")
    snap, _ = source.load()
    from kplanediag.snapshot.errors import AT_ONLY  # noqa: PLC0415

    if source.at is not None and snap.collected_at_from != AT_ONLY:
        raise click.UsageError(
            f"--at stands only for the capture time of an input that holds none; this one was captured at "
            f"{snap.collected_at.astimezone(UTC).isoformat()} (give --at when analysing the saved snapshot)"
        )
    if redact:
        from kplanediag.render.redact_apply import redact_snapshot, redactor_for  # noqa: PLC0415

        snap = redact_snapshot(snap, redactor_for([snap]))
    try:
        save_snapshot(snap, file)
    except OSError as exc:
        raise CannotAssess(f"cannot write {file}: {exc.strerror}") from exc
    counts = ", ".join(f"{n} {k}" for k, n in snap.counts().items())
    click.echo(
        f"saved {file} ({counts or 'no lists'}; {len(snap.gaps)} gap(s)) at "
        f"{snap.collected_at.astimezone(UTC).isoformat()}",
        err=True,
    )
    return EXIT_OK if snap.reachable else EXIT_CRITICAL
