"""The ``kplanediag`` command group: plain ``kplanediag`` runs ``check``. Commands are imported when
invoked (or listed by --help), so that a run loads its own command's module only and --version none."""

from __future__ import annotations

import importlib
from typing import Any

import click

from kplanediag.cli.options import GLOBAL_EPILOG, SOURCE_PARAMS, global_options


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from kplanediag.buildinfo import version_line  # noqa: PLC0415

    click.echo(version_line())
    ctx.exit()


REPORTS = "kplanediag.cli.commands.reports"
COMMANDS = {  # command: "module:attr" of its click command, imported on first use
    "check": f"{REPORTS}:check",
    "components": f"{REPORTS}:components",
    "health": f"{REPORTS}:health",
    "blast-radius": f"{REPORTS}:blast_radius",
    "snapshot": "kplanediag.cli.commands.snapshot:snapshot",
    "timeline": "kplanediag.cli.timeline:timeline_command",
    "wait": "kplanediag.cli.wait:wait_command",
    "watch": "kplanediag.cli.watch:watch_command",
    "serve": "kplanediag.cli.serve:serve_command",
    "diff": "kplanediag.cli.diff:diff_command",
    "what-if": "kplanediag.cli.whatif:whatif_command",
    "explain": "kplanediag.cli.explain:explain",
    "options": "kplanediag.cli.global_help:options_command",
    "completion": "kplanediag.cli.completion:completion_command",
}


def load_command(spec: str) -> click.Command:
    """The click command a ``"module:attr"`` of COMMANDS names (its module imported now)."""
    module, _, attr = spec.partition(":")
    command = getattr(importlib.import_module(module), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{spec} is not a click command")
    return command


def kubectl_forms(args: list[str]) -> list[str]:
    """kubectl's spellings click does not take: ``-o=json`` (click would read ``=json``) and
    ``-v=N``/``--v=N`` (a level: any above 0 is -v, 0 is quiet). Nothing after ``--`` is touched."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        if arg.startswith("-o="):
            out += ["-o", arg[3:]]
        elif (level := arg.removeprefix("--v=").removeprefix("-v=")) != arg and level.isdigit():
            out += ["-v"] if int(level) > 0 else []
        else:
            out.append(arg)
    return out


class LazyGroup(click.Group):
    """A group whose commands are named in COMMANDS and imported on first use: no command module
    imports the group. Arguments are read with kubectl's spellings too (kubectl_forms)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        return super().make_context(info_name, kubectl_forms(list(args)), parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            command = load_command(COMMANDS[cmd_name])
            for sub in [command, *getattr(command, "commands", {}).values()]:
                if sub.epilog is None and any(p.name in SOURCE_PARAMS for p in sub.params):
                    sub.epilog = GLOBAL_EPILOG  # its help lists its own options only
            self.add_command(command, cmd_name)
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
        result: int = ctx.invoke(load_command(COMMANDS["check"]))
        return result
    return None
