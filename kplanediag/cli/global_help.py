"""``kplanediag options``: the global options every command takes, listed once (as ``kubectl
options``), so that each command's --help shows its own."""

from __future__ import annotations

import click

from kplanediag.cli.options import SOURCE_PARAMS


@click.command("options", short_help="The global options every command takes (kubectl options).")
@click.pass_context
def options_command(ctx: click.Context) -> int:
    """The options every command that reads a cluster takes, before or after the command name:
    where the data comes from, how long to wait, whom to impersonate, how much to read."""
    root = ctx.find_root()
    formatter = root.make_formatter()
    records = [r for p in root.command.params if p.name in SOURCE_PARAMS and (r := p.get_help_record(root))]
    with formatter.section("The following options can be passed to any command"):
        formatter.write_dl(records)
    click.echo(formatter.getvalue(), nl=False)
    return 0
