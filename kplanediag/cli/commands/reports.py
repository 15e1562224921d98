"""The report commands (``check``, ``components``, ``health``, ``blast-radius``): their run and options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kplanediag.cli.commands.run import last_known, load_or_explain, refuse_combinations, run_fleet, write_junit
from kplanediag.cli.config import fit_options
from kplanediag.cli.options import (
    EXIT_OK,
    THRESHOLDS,
    Source,
    duration,
    redact_option,
    report_options,
    source_options,
    terminal_width,
    use_colour,
)
from kplanediag.render import SECTIONS

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
        refuse_combinations(source, output, redact, refresh)
        if source.fleet:
            return run_fleet(
                source, sections, output, fail_on, etcd_quota, colour, no_colour, config_path, ignore, junit_file
            )
        fit, snapshot, now = load_or_explain(source, output, config_path, ignore, redact, junit_file)
        from kplanediag.cli import memory  # noqa: PLC0415

        keep = memory.enabled(no_last_known)
        earlier = last_known(snapshot, source, baseline, keep)
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
