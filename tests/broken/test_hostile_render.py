"""Hostile text in every output format (issue 22, item 2): a real lab capture
(tests/unit/data/lab-worker-silenced.json, kind v1.36.2) edited so that what a tenant or a
compromised proxy can write (a node's name, its Ready and DiskPressure messages, an Event's reason
and note, the server URL and version) holds random strings with every control class (C0, C1, DEL,
ESC sequences, BEL, NUL, bidi overrides and isolates, separators) and markup (HTML, markdown links
and images, pipes, CDATA). Every format is rendered and read back: the terminal outputs hold no
raw control or bidi character, JUnit and HTML parse, markdown keeps its rows and carries no tag or
link of the cluster's, /metrics parses with prometheus_client's parser.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.render.colour import GREEN, RED, RESET, YELLOW
from kplanediag.render.escape import label
from kplanediag.render.fit import accepted_listing
from kplanediag.render.formats import render
from kplanediag.render.markdown import render_markdown
from kplanediag.render.metrics import RunStats, exposition
from kplanediag.snapshot import format_time
from tests.broken.test_fuzz_from import FUZZ
from tests.unit.factories import CP, W1, W2, collected_at, find, raw, set_condition, snapshot_from_dict

CONTROLS = [
    *(chr(c) for c in range(0x20)),
    "\x7f",
    *(chr(c) for c in range(0x80, 0xA0)),
    "\r\n",
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b]52;c;ZXZpbA==\x07",  # OSC 52: write the clipboard
    "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8: a hyperlink
    "\x9b31m",  # CSI as one C1 character
    *"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\ufffe\uffff",
]
MARKUP = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "![pixel](https://evil.example/p.png)",
    "[click](javascript:alert(1))",
    "<https://evil.example>",
    "| --- |",
    "|",
    "\\|",
    "\\",
    "&lt;script&gt;",
    "&#60;",
    "`",
    "```",
    '"',
    "'",
    "]]>",
    "<![CDATA[",
    "-->",
    "*",
    "_",
    "#",
]
hostile = st.lists(
    st.one_of(st.sampled_from(CONTROLS), st.sampled_from(MARKUP), st.characters(), st.text(max_size=4)),
    min_size=1,
    max_size=10,
).map("".join)

RAW_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
"""What no terminal output may hold raw (tab and newline are the layout's)."""
OUR_COLOURS = re.compile("|".join(re.escape(code) for code in (RED, YELLOW, GREEN, RESET)))


def rename(value: Any, old: str, new: str) -> Any:
    """Every string equal to ``old`` (a node's name: its object, Lease, pods' nodeName) made ``new``."""
    if isinstance(value, dict):
        return {k: rename(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [rename(v, old, new) for v in value]
    return new if value == old else value


def hostile_report(name: str, message: str, note: str, reason: str, server: str) -> Report:
    data = raw("lab-worker-silenced")
    set_condition(find(data, "nodes", W1), "Ready", "False", "KubeletNotReady", message)  # KPD-200 quotes it
    set_condition(find(data, "nodes", W2), "DiskPressure", "True", "KubeletHasDiskPressure", message)  # KPD-203
    when = format_time(collected_at(data) - timedelta(seconds=60))
    data["resources"]["events"] = [
        {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "e1", "namespace": "default", "creationTimestamp": when},
            "eventTime": when,
            "reason": reason,
            "note": note,
            "type": "Warning",
            "regarding": {"kind": "Node", "name": W1},
        }
    ]
    data["server"] = server
    data["version"]["gitVersion"] = reason
    if name not in (W2, CP):
        data = rename(data, W1, name)
    return analyze(snapshot_from_dict(data), None)


def assert_terminal_safe(text: str) -> None:
    found = RAW_TERMINAL.search(text)
    assert found is None, f"raw {found.group()!r} at {found.start()}: {text[max(0, found.start() - 60) :][:120]!r}"


def markdown_tokens(line: str) -> list[str]:
    """A markdown line's unescaped ``|``, ``[`` and ``]`` (a backslash escapes the next character)."""
    return [m.group() for m in re.finditer(r"\\.|[|\[\]]", line) if not m.group().startswith("\\")]


def assert_markdown_safe(text: str, report: Report) -> None:
    assert_terminal_safe(text)
    assert "<" not in text, "a tag or autolink from the cluster"  # the renderer itself writes none
    assert "\r" not in text
    for line in text.splitlines():
        tokens = markdown_tokens(line)
        assert "[" not in tokens and "]" not in tokens, f"link or image syntax: {line!r}"
        if line.startswith("|"):
            assert len(tokens) == 6, f"a row split or widened: {line!r}"  # every table here has 5 columns
    findings = text.split("### Findings", 1)[1].split("###", 1)[0]
    rows = [line for line in findings.splitlines() if line.startswith("|")]
    assert len(rows) == len(report.findings) + 2, "one row per finding, plus header and rule"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def assert_html_safe(text: str) -> None:
    assert_terminal_safe(text)
    parser = Tags()
    parser.feed(text)
    parser.close()
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not [a for a in parser.attrs if a.startswith("on")], "an event handler attribute from the cluster"
    assert "<script" not in text.lower()


@settings(FUZZ, max_examples=FUZZ.max_examples // 2)
@given(name=hostile, message=hostile, note=hostile, reason=hostile, server=hostile)
def test_every_format_survives_hostile_text(name: str, message: str, note: str, reason: str, server: str) -> None:
    report = hostile_report(name, message, note, reason, "https://" + server)
    for output in ("table", "wide"):
        assert_terminal_safe(render(report, output))
        assert_terminal_safe(OUR_COLOURS.sub("", render(report, output, colour=True)))
        for section in ("components", "findings", "blastRadius"):
            assert_terminal_safe(render(report, output, (section,)))
    assert_terminal_safe(accepted_listing(report))
    assert json.loads(render(report, "json"))["summary"]["text"] == report.summary
    as_yaml = render(report, "yaml")
    assert yaml.safe_load(as_yaml)["summary"]["text"] == report.summary
    assert_terminal_safe(as_yaml)  # bidi controls as escapes in double-quoted strings, the value unchanged
    assert_terminal_safe(render(report, "json"))
    ET.fromstring(render(report, "junit"))  # well-formed XML 1.0, whatever the messages hold
    assert_markdown_safe(render_markdown(report), report)
    assert_html_safe(render(report, "html"))
    families = list(text_string_to_metric_families(exposition(report, RunStats()).decode()))
    nodes = {s.labels.get("node") for f in families for s in f.samples} - {None}
    assert all(RAW_TERMINAL.search(n.replace("\n", " ")) is None for n in nodes if n)
    if any(c.node == name for c in report.components):
        assert label(name) in nodes, "the node's series carry its (escaped) name"


def test_the_edits_reach_the_report() -> None:
    """The property test is no good if the hostile text never gets into the report."""
    report = hostile_report("evil\x1bnode", "msg\x07here", "note\u202ehere", "reason\x00", "https://srv\x9b")
    messages = " ".join(f.message for f in report.findings)
    assert "msg\x07here" in messages and "evil\x1bnode" in messages
    assert any("note\u202ehere" in e.text and "reason\x00" in e.text for e in report.timeline)
    table = render(report, "table")
    assert "evil\\x1bnode" in table and "msg\\x07here" in table
    assert "srv\\x9b" in table
