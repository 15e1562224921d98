"""The options that say how the report is given: -o, --fail-on, colour, --etcd-quota, --redact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kplanediag.cli.options.values import byte_size

F = TypeVar("F", bound=Callable[..., Any])


def use_colour(choice: str, no_colour: bool) -> bool:
    """--color always|never, --no-color, else on a terminal unless NO_COLOR is set (no-color.org)."""
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    if no_colour or choice == "never":
        return False
    if choice == "always":
        return True
    return bool(sys.stdout.isatty()) and not os.environ.get("NO_COLOR")


def terminal_width() -> int:
    """The columns to lay tables out for: on a terminal its width ($COLUMNS first, as
    shutil.get_terminal_size reads it); a pipe or a file gets 100, the same layout every time."""
    import shutil  # noqa: PLC0415
    import sys  # noqa: PLC0415

    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 100


def report_options(func: F) -> F:
    return _report_options(func, fail_on=True)


def output_options(func: F) -> F:
    """-o and --etcd-quota, without --fail-on (``wait`` exits by its own condition)."""
    return _report_options(func, fail_on=False)


def _report_options(func: F, fail_on: bool) -> F:
    from kplanediag.render.formats import OUTPUT_HELP, OUTPUTS  # noqa: PLC0415 (the registry; not for --version)

    options = [
        click.option(
            "-o",
            "--output",
            type=click.Choice(OUTPUTS),
            default="table",
            show_default=True,
            help=OUTPUT_HELP,
        )
    ]
    if fail_on:
        options.append(
            click.option(
                "--fail-on",
                type=click.Choice(["warning", "critical", "never"]),
                default="warning",
                show_default=True,
                help="Lowest finding severity that makes the exit code non-zero (and fails JUnit testcases).",
            )
        )

    options.append(
        click.option(
            "--color",
            "colour",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour severities and statuses in table output: auto is on a terminal unless NO_COLOR is set.",
        )
    )
    options.append(click.option("--no-color", "no_colour", is_flag=True, help="Same as --color never."))
    options.append(
        click.option(
            "--etcd-quota",
            callback=byte_size,
            metavar="BYTES",
            help="etcd's --quota-backend-bytes (e.g. 8Gi), which etcd does not tell the API server. "
            "Default: the distribution's known default (2Gi on kubeadm, kind and RKE2), else the size is not judged.",
        )
    )
    for option in reversed(options):
        func = option(func)
    return func


def redact_option(func: F) -> F:
    """--redact, on the report commands and ``snapshot save`` (render/redact_apply.py)."""
    return click.option(
        "--redact",
        is_flag=True,
        help="Replace node, pod, namespace, workload and Service names, IPs, hostnames and URLs by "
        "short tokens (the same name, the same token in one run); components, statuses, codes, counts "
        "and versions are kept (docs/output.md, Redaction).",
    )(func)
