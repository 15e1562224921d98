"""The report commands (``check``, ``components``, ``health``, ``blast-radius``) and ``snapshot save``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kplanediag.cli.config import fit_options, read_fit
from kplanediag.cli.options import (
    EXIT_CRITICAL,
    EXIT_OK,
    THRESHOLDS,
    CannotAssess,
    Source,
    duration,
    redact_option,
    report_options,
    source_options,
    terminal_width,
    use_colour,
)
from kplanediag.render import SECTIONS

if TYPE_CHECKING:
    from kplanediag.snapshot import Snapshot

F = TypeVar("F", bound=Callable[..., Any])


def run_report(sections: tuple[str, ...]) -> Callable[..., int]:
    def command(
        source: Source,
        output: str,
        fail_on: str,
        etcd_quota: int | None,
        colour: str,
        no_colour: bool,
        baseline: Path | None,
        no_last_known: bool,
        config_path: Path | None = None,
        ignore: tuple[str, ...] = (),
        redact: bool = False,
        junit_file: Path | None = None,
        refresh: float | None = None,
        hypotheses: tuple[str, ...] = (),
    ) -> int:
        from kplanediag.analysis.report import analyze  # noqa: PLC0415
        from kplanediag.render.formats import FORMATS, render  # noqa: PLC0415
        from kplanediag.render.html import refreshing  # noqa: PLC0415

        if hypotheses:  # blast-radius --if: what-if's alias
            from kplanediag.cli.whatif import run as what_if  # noqa: PLC0415

            return what_if(
                hypotheses, None, source, output, fail_on, etcd_quota, colour, no_colour, config_path, ignore
            )
        if refresh is not None and not FORMATS[output].refreshes:
            pages = " or ".join(f"-o {f.name}" for f in FORMATS.values() if f.refreshes)
            raise click.UsageError(f"--refresh reloads an HTML page: it needs {pages}, not -o {output}")

        if source.fleet and FORMATS[output].fleet is None:
            raise click.UsageError(f"-o {output} draws one cluster: give one --context")
        if source.fleet and redact:
            raise click.UsageError("--redact reports one cluster: give one --context")
        if source.fleet:
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
        from kplanediag.cli import memory  # noqa: PLC0415

        keep = memory.enabled(no_last_known)
        earlier = None
        if not snapshot.reachable:
            earlier = (
                load_baseline(baseline)
                if baseline
                else memory.recall(snapshot.server, source.context)
                if keep
                else None
            )
        report = analyze(snapshot, now, etcd_quota=etcd_quota, baseline=earlier, fit=fit)
        finish: Callable[[str], str] = str
        if redact:
            from kplanediag.render.redact_apply import redact_run  # noqa: PLC0415

            report, finish = redact_run(report, [snapshot, *([earlier[0]] if earlier else [])])
        coloured = use_colour(colour, no_colour)
        from kplanediag.render.table import columns  # noqa: PLC0415

        with columns(terminal_width()), refreshing(refresh):
            text = finish(render(report, output, sections, coloured, fail_on))
        click.echo(text, nl=False, color=coloured)
        if junit_file is not None:
            write_junit(junit_file, finish(render(report, "junit", sections, False, fail_on)))
        if source.verbose and not FORMATS[output].document:
            from kplanediag.render.fit import accepted_listing  # noqa: PLC0415

            click.echo(finish(accepted_listing(report)), nl=False)
        if keep and source.from_file is None:
            memory.remember(snapshot, source.context)
        return THRESHOLDS[fail_on].get(report.status, EXIT_OK)

    return command


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


def memory_options(func: F) -> F:
    options = [
        click.option(
            "--baseline",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="With the API server unreachable: the snapshot to report the last known state from "
            "(default: the last successful check's, kept in the cache directory).",
        ),
        click.option(
            "--no-last-known",
            is_flag=True,
            help="Neither keep this check's snapshot as the last known state nor read it "
            "(also KPLANEDIAG_NO_LAST_KNOWN=1).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def report_command(name: str, sections: tuple[str, ...], short: str, help_text: str) -> click.Command:
    body = run_report(sections)

    @functools.wraps(body)
    def wrapper(**kwargs: Any) -> int:
        return body(**kwargs)

    wrapper.__doc__ = help_text
    junit = click.option(
        "--junit",
        "junit_file",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Also write the JUnit document of this same report to FILE, beside any -o: the exit code, "
        "FILE and stdout come from one check and agree.",
    )
    refresh = click.option(
        "--refresh",
        callback=lambda ctx, param, value: None if value is None else duration(ctx, param, value),
        metavar="DURATION",
        help="With -o html: the page reloads itself this often (a file rewritten by a cron job or a loop; "
        "serve's page always does).",
    )
    options = report_options(refresh(junit(redact_option(memory_options(fit_options(wrapper))))))
    if name == "blast-radius":
        options = click.option(
            "--if",
            "hypotheses",
            multiple=True,
            metavar="HYPOTHESIS",
            help="What if it failed (repeatable): the same as `kplanediag what-if HYPOTHESIS...`.",
        )(options)
    return click.command(name, short_help=short)(source_options(options))


check = report_command(
    "check",
    SECTIONS,
    "Everything in one report (the default).",
    "Components, findings and blast radius in one report (the default).",
)
components = report_command(
    "components",
    ("components",),
    "Every component, its plane and status.",
    "Every component with its plane, node, version, status and the evidence it was found by.",
)
health = report_command(
    "health", ("findings",), "Findings by plane.", "Findings (code, severity, component, subject, message) by plane."
)
blast_radius = report_command(
    "blast-radius",
    ("blastRadius",),
    "What each failure breaks.",
    "One entry per current failure: what breaks, what still works.",
)


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
