"""The ``kplanediag`` command group: plain ``kplanediag`` runs ``check``. Commands are imported when
invoked (or listed by --help), so that a run loads its own command's module only and --version none."""

from __future__ import annotations

import importlib

import click

from kplanediag.cli.options import global_options


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from kplanediag.buildinfo import version_line  # noqa: PLC0415

    click.echo(version_line())
    ctx.exit()


REPORTS = "kplanediag.cli.commands"
COMMANDS = {  # command: the module whose import registers it on the group
    "check": REPORTS,
    "components": REPORTS,
    "health": REPORTS,
    "blast-radius": REPORTS,
    "snapshot": REPORTS,
    "timeline": "kplanediag.cli.timeline",
    "wait": "kplanediag.cli.wait",
    "watch": "kplanediag.cli.watch",
    "serve": "kplanediag.cli.serve",
    "diff": "kplanediag.cli.diff",
    "explain": "kplanediag.cli.explain",
}


class LazyGroup(click.Group):
    """A group whose commands register themselves when their module is imported, on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name])
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
