"""The ``kplanediag`` command group: plain ``kplanediag`` runs ``check``."""

from __future__ import annotations

import click

from kplanediag.cli.options import global_options


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from kplanediag.buildinfo import version_line  # noqa: PLC0415

    click.echo(version_line())
    ctx.exit()


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and the commit it was built from, and exit.",
)
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
