"""The one spec of the source options (cli/options/source_flags.py's SOURCE_OPTIONS): every command that reads a
cluster and the group itself offer exactly its options, and each becomes a field of Source, read
from a lab capture (tests/unit/data/lab-healthy.json)."""

from __future__ import annotations

import dataclasses

import click
from click.testing import CliRunner

from kplanediag.cli import cli
from kplanediag.cli.group import COMMANDS
from kplanediag.cli.options import SOURCE_OPTIONS, SOURCE_PARAMS, Source, source_options
from tests.unit.factories import DATA


def test_every_option_is_a_source_field() -> None:
    fields = {f.name for f in dataclasses.fields(Source)}
    assert set(SOURCE_PARAMS) | {"contexts", "cache"} == fields  # cache: set by cli/watching.py, no option
    assert len(set(SOURCE_PARAMS)) == len(SOURCE_OPTIONS)


def test_the_group_and_each_source_command_offer_the_spec_in_its_order() -> None:
    ctx = click.Context(cli)
    commands: dict[str, click.Command | None] = {"": cli, **{n: cli.get_command(ctx, n) for n in COMMANDS}}
    snapshot = commands["snapshot"]
    assert isinstance(snapshot, click.Group)
    commands["snapshot save"] = snapshot.commands["save"]
    readers = 0
    for name, command in commands.items():
        assert command is not None, name
        names = [p.name for p in command.params if isinstance(p, click.Option) and p.name in SOURCE_PARAMS]
        if names:
            readers += 1
            assert names == list(SOURCE_PARAMS), name
    assert readers >= 9  # the group, the 4 reports, snapshot save, timeline, wait, watch, serve


def test_the_options_make_one_source() -> None:
    seen: list[Source] = []

    @click.command()
    @source_options
    def probe(source: Source) -> None:
        seen.append(source)

    path = DATA / "lab-healthy.json"
    args = ["--from", str(path), "--context", "one", "--as", "u", "--as-group", "g1", "--as-group", "g2", "-v"]
    result = CliRunner().invoke(probe, args, env={"KUBECONFIG": "/nonexistent/config"})
    assert result.exit_code == 0, result.output
    (source,) = seen
    assert source.from_file == path and source.context == "one" and source.contexts == ("one",)
    assert (source.as_user, source.as_groups, source.as_uid) == ("u", ("g1", "g2"), None)
    assert source.verbose and source.kubeconfig == "/nonexistent/config" and source.request_timeout == 5.0
    assert not source.fleet


def test_each_commands_help_shows_its_own_options_and_options_lists_the_global_ones() -> None:
    """As kubectl: the ~25 global options once in `kplanediag options` (and the group's --help),
    not repeated in every command's --help, which says where to find them."""
    runner = CliRunner()
    helped = runner.invoke(cli, ["check", "--help"]).output
    assert "--kubeconfig" not in helped.split("Global options")[0] and "--fail-on" in helped
    assert "`kplanediag options` lists them" in " ".join(helped.split())
    listed = runner.invoke(cli, ["options"]).output
    for option in SOURCE_OPTIONS:
        assert option.flags[-1] in listed, option.flags
    ran = runner.invoke(cli, ["check", "--from", str(DATA / "lab-healthy.json"), "-o", "json"])
    assert '"schemaVersion"' in ran.output  # hidden from help, still taken
