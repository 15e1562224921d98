"""The one registry of output formats (render/formats.py's FORMATS) drives -o's choices and help,
the renderer, colour, fleets, --refresh, the exit-3 document and docs/output.md: each checked on the
lab capture of a silenced worker (tests/unit/data/lab-worker-silenced.json)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from kplanediag.cli import cli, main
from kplanediag.cli.fleet import Member, render_fleet
from kplanediag.cli.group import COMMANDS
from kplanediag.cli.options import CannotAssess
from kplanediag.render import SECTIONS
from kplanediag.render.formats import FORMATS, OUTPUT_HELP, formats_markdown, render
from tests.unit.factories import DATA, report

ROOT = Path(__file__).resolve().parents[2]


def test_docs_output_has_the_table_of_every_format() -> None:
    """docs/output.md's table lists exactly the registered formats, as formats_markdown() writes it."""
    lines = (ROOT / "docs" / "output.md").read_text().splitlines()
    start = lines.index(formats_markdown().splitlines()[0])
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    table = "\n".join(lines[start:end]) + "\n"
    assert table == formats_markdown(), "paste formats_markdown() into docs/output.md's Formats section"
    assert [row.split("`")[1] for row in table.splitlines()[2:]] == list(FORMATS)


def test_every_report_option_offers_exactly_the_registered_formats() -> None:
    ctx = click.Context(cli)
    offered = {}
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        for param in command.params:
            if param.name == "output" and isinstance(param.type, click.Choice) and "html" in param.type.choices:
                offered[name] = tuple(param.type.choices)
                assert isinstance(param, click.Option) and param.help == OUTPUT_HELP, name
    assert set(offered) >= {"check", "components", "health", "blast-radius", "wait", "watch"}
    assert all(choices == tuple(FORMATS) for choices in offered.values()), offered


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_renders_and_only_terminal_tables_are_coloured(name: str) -> None:
    rep = report("lab-worker-silenced")
    plain, coloured = render(rep, name), render(rep, name, colour=True)
    assert plain.strip()
    assert "\x1b[" not in plain
    if FORMATS[name].document:
        assert coloured == plain
    else:
        assert "\x1b[" in coloured and coloured != plain  # the silenced worker is critical: red


@pytest.mark.parametrize("name", [n for n, f in FORMATS.items() if f.fleet is not None])
def test_a_fleet_is_written_in_each_fleet_format(name: str) -> None:
    rep = report("lab-worker-silenced")
    members = [Member("lab", rep, None), Member("gone", None, CannotAssess("cannot reach it", "configuration"))]
    text = render_fleet(members, name, ("components", "findings", "blastRadius"), "warning", False)
    assert "lab" in text and "gone" in text
    if FORMATS[name].fleet == "list":  # one document: a list of each cluster's, in order
        docs = json.loads(text) if name == "json" else yaml.safe_load(text)
        assert [d["context"] for d in docs] == ["lab", "gone"]
        assert docs[0]["summary"]["text"] == rep.summary and docs[1]["error"]["class"] == "configuration"


@pytest.mark.parametrize("name", [n for n, f in FORMATS.items() if f.fleet is None])
def test_a_one_cluster_format_refuses_a_fleet(name: str) -> None:
    result = CliRunner().invoke(cli, ["check", "--context", "a", "--context", "b", "-o", name])
    assert result.exit_code == 2, result.output
    assert f"-o {name} draws one cluster: give one --context" in result.output


@pytest.mark.parametrize("name", list(FORMATS))
def test_refresh_is_taken_by_a_page_that_reloads_itself_only(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    silenced = str(DATA / "lab-worker-silenced.json")
    with pytest.raises(SystemExit) as exc:
        main(["check", "--from", silenced, "-o", name, "--refresh", "30s"])
    err = capsys.readouterr().err
    if FORMATS[name].refreshes:
        assert exc.value.code == 2 and "reloads" not in err  # the silenced worker is critical
    else:
        assert exc.value.code == 3 and f"it needs -o html, not -o {name}" in err


@pytest.mark.parametrize("name", list(FORMATS))
def test_exit_3_prints_the_error_document_in_its_formats_only(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["check"], ["what-if", "node/nowhere"]):
        with pytest.raises(SystemExit) as exc:
            main([*command, "--from", str(DATA / "no-such-capture.json"), "-o", name])
        out = capsys.readouterr().out
        assert exc.value.code == 3, command
        if FORMATS[name].error_document:
            assert json.loads(out)["error"]["exitCode"] == 3, command
        else:
            assert out == "", command


def test_json_is_json_dumps_indented_to_the_character() -> None:
    """-o json streams json's indenting encoder into a buffer instead of joining all its tokens (36 MB
    beside 6 MB of text at 20,000 components): the text is still ``json.dumps(doc, indent=2)``'s."""
    from kplanediag.render.as_json import render_json, report_dict  # noqa: PLC0415

    for path in sorted(DATA.glob("lab-*.json")):
        got = report(path.stem)
        for sections in (SECTIONS, ("components",), ("findings",), ("blastRadius",)):
            assert render_json(got, sections) == json.dumps(report_dict(got, sections), indent=2) + "\n", path.name
