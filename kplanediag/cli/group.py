"""The ``kplanediag`` command group: plain ``kplanediag`` runs ``check``."""

from __future__ import annotations

import click

from kplanediag import __version__
from kplanediag.cli.options import global_options


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kplanediag")
@global_options
@click.pass_context
def cli(ctx: click.Context, /, **source: object) -> int | None:
    """Which plane of this Kubernetes cluster is failing, what that breaks, and what still works.

    Without a command, runs `check`. Exit codes: 0 healthy, 1 warning, 2 critical, 3 could not assess.
    The options below may also be given before the command, as with kubectl.
    """
    if ctx.invoked_subcommand is None:
        from kplanediag.cli.commands import check  # noqa: PLC0415

        result: int = ctx.invoke(check)
        return result
    return None
