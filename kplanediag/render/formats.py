"""Every output format by name (``-o``), registered once in FORMATS: its renderer, help text, fleet
layout, colour or document, --refresh, exit-3 document. Light to import: renderers load when used."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from kplanediag.render import SECTIONS

if TYPE_CHECKING:
    from kplanediag.analysis.results import Report

# How a fleet run (several clusters) writes a format (cli/fleet.py): "text" a report per cluster
# under a banner then a summary table, "markdown" the same with headings, "list" one document
# listing every cluster's, "junit" a suite per cluster; None: one cluster only (a usage error).
Fleet = Literal["text", "markdown", "list", "junit"] | None


@dataclass(frozen=True)
class Format:
    name: str
    says: str  # its part of -o's help, after the name ("" for none)
    write: Callable[[Report, tuple[str, ...], str], str]  # one report, its sections, --fail-on
    fleet: Fleet
    document: bool = True  # a document or page for a tool or a file; False: a table for a terminal
    dump: Callable[[Any], str] | None = None  # a data document: how to serialise a dict (a fleet's list)
    error_document: bool = False  # exit 3 also prints the one error document on stdout (docs/output.md)
    refreshes: bool = False  # a page that can reload itself (--refresh)

    @property
    def help_part(self) -> str:
        return f"{self.name} ({self.says})" if self.says else self.name

    @property
    def coloured(self) -> bool:
        """Coloured on a terminal (--color): the tables; a document never is."""
        return not self.document


def _table(report: Report, wanted: tuple[str, ...], fail_on: str = "warning") -> str:
    from kplanediag.render.table import render_table  # noqa: PLC0415

    return render_table(report, wanted)


def _wide(report: Report, wanted: tuple[str, ...], fail_on: str = "warning") -> str:
    from kplanediag.render.table import render_table  # noqa: PLC0415

    return render_table(report, wanted, all_nodes=True, wide=True)


def _json(report: Report, wanted: tuple[str, ...], fail_on: str = "warning") -> str:
    from kplanediag.render.as_json import render_json  # noqa: PLC0415

    return render_json(report, wanted)


def _dump_json(doc: Any) -> str:
    import json  # noqa: PLC0415

    return json.dumps(doc, indent=2) + "\n"


def _yaml(report: Report, wanted: tuple[str, ...], fail_on: str = "warning") -> str:
    from kplanediag.render.as_json import report_dict  # noqa: PLC0415

    return _dump_yaml(report_dict(report, wanted))


def _dump_yaml(doc: Any) -> str:
    """Unicode written as itself, but a string holding a control, bidi or separator character
    double-quoted with it as an escape (``\\u202e``): a YAML parser reads the same value, a reader
    sees what is there."""
    import yaml  # noqa: PLC0415

    from kplanediag.render.escape import unsafe, yaml_escapes  # noqa: PLC0415

    class Dumper(yaml.SafeDumper):
        pass

    def string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = '"' if unsafe(value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, string)
    text: str = yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)
    return yaml_escapes(text)


def _markdown(report: Report, wanted: tuple[str, ...], fail_on: str = "warning") -> str:
    from kplanediag.render.markdown import render_markdown  # noqa: PLC0415

    return render_markdown(report, wanted)


def _junit(report: Report, wanted: tuple[str, ...], fail_on: str = "warning") -> str:
    from kplanediag.render.junit import render_junit  # noqa: PLC0415

    return render_junit(report, fail_on)  # every component and finding: a CI system counts the testcases


def _html(report: Report, wanted: tuple[str, ...], fail_on: str = "warning") -> str:
    from kplanediag.render.html import PAGE_REFRESH, render_html  # noqa: PLC0415

    return render_html(report, sections=wanted, refresh_seconds=PAGE_REFRESH.get())


FORMATS = {
    f.name: f
    for f in (
        Format("table", "", _table, "text", document=False),
        Format("wide", "every node, with the evidence", _wide, "text", document=False),
        Format("json", "docs/output.md", _json, "list", dump=_dump_json, error_document=True),
        Format("yaml", "the same document", _yaml, "list", dump=_dump_yaml),
        Format("markdown", "tickets, CI step summaries", _markdown, "markdown"),
        Format("junit", "a testcase per component and finding", _junit, "junit"),
        Format("html", "a self-contained status page drawing both planes, docs/output.md", _html, None, refreshes=True),
    )
}
OUTPUTS = tuple(FORMATS)  # -o's choices, in the order --help lists them
OUTPUT_HELP = "; ".join(f.help_part for f in FORMATS.values()) + "."


def render(
    report: Report, output: str, sections: Iterable[str] = SECTIONS, colour: bool = False, fail_on: str = "warning"
) -> str:
    """``colour``: escape codes for a terminal, in the table outputs only (never in documents).
    ``fail_on``: what fails (the JUnit testcases; the exit code is the CLI's, by the same rule)."""
    fmt = FORMATS[output]
    text = fmt.write(report, tuple(sections), fail_on)
    if colour and fmt.coloured:
        from kplanediag.render.colour import colourise  # noqa: PLC0415

        return colourise(text)
    return text


FLEET_TEXT = {
    "text": "a report per cluster under a banner, then a summary table",
    "markdown": "a report per cluster under a heading, then a summary table",
    "list": "one list: each cluster's document with its `context`",
    "junit": "a testsuite per cluster",
    None: "no: one cluster only",
}


def formats_markdown() -> str:
    """The table of formats in docs/output.md (tests/unit/test_output_formats.py keeps them equal)."""
    rows = ["| `-o` | what | several clusters (`--context A --context B`) |", "| --- | --- | --- |"]
    for f in FORMATS.values():
        what = "a table for a terminal, coloured there" if f.coloured else "a document, never coloured"
        rows.append(f"| `{f.name}` | {what} | {FLEET_TEXT[f.fleet]} |")
    return "\n".join(rows) + "\n"
