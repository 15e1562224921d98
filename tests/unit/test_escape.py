"""Cluster text escaped for each destination (render/escape.py), and tables linear in their input
(issue 22, items 2 and 5). Reports are the lab capture lab-worker-silenced.json (kind v1.36.2),
its worker's Ready condition edited to carry the hostile message, as a kubelet or anyone who can
write node status could; tests/broken/test_hostile_render.py draws such texts at random."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from kplanediag.analysis.results import Report
from kplanediag.render.escape import html, label, markdown, one_line, terminal, xml
from kplanediag.render.formats import render
from kplanediag.render.metrics import RunStats, exposition
from kplanediag.render.table import CUT_AT
from tests.unit.factories import W1, find, report, set_condition


def not_ready(message: str) -> Report:
    def edit(data: dict[str, object]) -> None:
        set_condition(find(data, "nodes", W1), "Ready", "False", "KubeletNotReady", message)

    return report("lab-worker-silenced", edit)


def test_terminal_shows_controls_and_bidi_as_visible_escapes() -> None:
    assert terminal("a\x1b[2Jb\x07\x00\x9b\x7f") == "a\\x1b[2Jb\\x07\\x00\\x9b\\x7f"
    assert terminal("abc\u202edef\u2066x\u2069") == "abc\\u202edef\\u2066x\\u2069"
    assert terminal("line\r\nnext\ttab") == "line\\x0d\nnext\ttab"  # a CR would overwrite the line
    assert terminal("名前 ok, ü") == "名前 ok, ü"
    assert one_line("a\nb\tc\r\nd\u2028e") == "a b c d e"


def test_xml_keeps_every_document_well_formed() -> None:
    text = "<a>" + xml("x\x00\x1b\x0b\ufffe\x85\u202e y") + "</a>"
    assert ET.fromstring(text).text == "x\\x00\\x1b\\x0b\\ufffe\\x85\\u202e y"
    assert xml("tab\tnewline\ncr\r") == "tab\tnewline\ncr\r"  # XML 1.0 allows these three


def test_markdown_escapes_html_links_images_pipes_and_breaks() -> None:
    assert markdown("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert markdown("![p](https://e/p.png) [c](javascript:x)") == "!\\[p\\](https://e/p.png) \\[c\\](javascript:x)"
    assert markdown("a|b\rc\nd\r\ne") == "a\\|b c d e"
    assert markdown("&lt;") == "&amp;lt;"
    assert markdown("\\|") == "\\\\\\|"  # the backslash is the cluster's, the pipe stays escaped
    assert markdown("\x1b]52;c;x\x07") == "\\x1b\\]52;c;x\\x07"


def test_html_escapes_quotes_and_controls() -> None:
    assert html("<b a=\"1\" b='2'>&\x1b\u202e") == "&lt;b a=&quot;1&quot; b=&#x27;2&#x27;&gt;&amp;\\x1b\\u202e"


def test_prometheus_label_values_parse_back() -> None:
    """prometheus_client escapes backslash, double quote and newline; escape.label the controls."""
    hostile = 'x"y\\z\nw\x1b} 1\n# HELP'
    assert label(hostile) == 'x"y\\z\nw\\x1b} 1\n# HELP'
    rep = not_ready("down")
    exposed = exposition(rep, RunStats()).decode()
    parsed = list(text_string_to_metric_families(exposed))
    assert any(s.labels.get("node") == W1 for f in parsed for s in f.samples)

    class One:
        def collect(self) -> list[GaugeMetricFamily]:
            g = GaugeMetricFamily("t", "t")
            g.add_sample("t", {"node": label(hostile)}, 1)
            return [g]

    registry = CollectorRegistry()
    registry.register(One())
    samples = [s for f in text_string_to_metric_families(generate_latest(registry).decode()) for s in f.samples]
    assert [s.labels["node"] for s in samples] == [label(hostile)]


def test_a_cluster_message_with_escapes_reaches_no_terminal_raw() -> None:
    rep = not_ready("\x1b]52;c;ZXZpbA==\x07 evil \u202eedoc\x1b[2J")
    for output in ("table", "wide"):
        text = render(rep, output, colour=True)
        assert "\\x1b]52;c;ZXZpbA==\\x07 evil \\u202eedoc\\x1b[2J" in text.replace("\n", " ").replace("  ", " ")
        assert "\x07" not in text and "\u202e" not in text and "\x1b]" not in text and "\x1b[2J" not in text
    junit = render(rep, "junit")
    assert "\\x1b]52;c;ZXZpbA==\\x07" in ET.fromstring(junit).findall(".//failure")[0].get("message", "")


def test_markdown_row_not_split_by_a_carriage_return() -> None:
    rep = not_ready("first\rsecond\n| KPD-000 | fake | row |<img src=x>")
    text = render(rep, "markdown")
    row = next(line for line in text.splitlines() if "KPD-200" in line)
    assert "first second \\| KPD-000 \\| fake \\| row \\|&lt;img src=x&gt;" in row


def test_a_1_mib_unbroken_message_renders_fast_and_says_it_was_cut() -> None:
    """Laying out a 1 MiB word took 22 s (textwrap and tabulate are not linear): cells are cut."""
    rep = not_ready("x" * (1 << 20))
    for output in ("table", "wide", "markdown", "junit", "html", "json"):
        start = time.perf_counter()
        text = render(rep, output)
        assert time.perf_counter() - start < 2, output
        if output in ("table", "wide"):
            more = (1 << 20) + len("node kplanediag-worker is NotReady: ") - CUT_AT
            assert f"[cut: {more} more characters; -o json has them all]" in " ".join(text.split())
            assert len(text) < 100_000
