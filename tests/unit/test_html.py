"""``-o html``: the status page on real data (the real captures, the lab's snapshots), parsed with
lxml: the failing node and component shown failing in text, blast radius and findings with their
explain texts present, nothing external, every cluster string escaped."""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from kplanediag.analysis.knowledge.codes import CODES
from kplanediag.analysis.knowledge.components import COMPONENTS
from kplanediag.analysis.model import Status
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.cli import main
from kplanediag.render.html import render_html
from kplanediag.render.html_planes import FOLD_AT
from kplanediag.render.templating import environment
from kplanediag.serve.routes import waiting_page
from kplanediag.serve.state import Failure, View
from kplanediag.snapshot import parse_time
from kplanediag.snapshot.files import load_snapshot
from tests.unit.factories import DATA, W1, find, items, report, snapshot_from_dict
from tests.unit.factories import raw as lab_raw
from tests.unit.test_cross_plane import webhook_case

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "real-captures"
TIMES = CAPTURES / "capture-times.json"
needs_captures = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"{CAPTURES} not present")
Tree = Any  # lxml.html.HtmlElement


def capture(name: str) -> Report:
    at = json.loads(TIMES.read_text())[name]
    return analyze(load_snapshot(CAPTURES / f"{name}.json"), parse_time(at))


def page(rep: Report, **kwargs: Any) -> tuple[str, Tree]:
    doc = render_html(rep, **kwargs)
    return doc, lxml.html.fromstring(doc)


def text(el: Tree) -> str:
    return " ".join(el.text_content().split())


def node_tile(tree: Tree, node: str) -> Tree:
    (tile,) = [li for li in tree.xpath('//li[contains(@class, "node")]') if li.get("data-node") == node]
    return tile


def card(tree: Tree, component: str) -> Tree:
    (c,) = tree.xpath(
        f'//div[contains(@class, "card")][@aria-label and h3[starts-with(normalize-space(), "{component} ")]]'
    )
    return c


def assert_blast_and_findings(rep: Report, tree: Tree) -> None:
    articles = tree.xpath('//article[contains(@class, "blast")]')
    assert len(articles) == len(rep.blast_radius)
    for article, b in zip(articles, rep.blast_radius, strict=True):
        body = text(article)
        assert " ".join(b.summary.split()) in text(article.xpath(".//h3")[0])
        for heading in ("What breaks", "What is degraded", "What keeps working"):
            assert heading in body
        for line in (*b.breaks, *b.still_works)[:10]:
            if not line.startswith("degraded"):
                assert " ".join(line.split()) in body
    rows = tree.xpath('//section[@aria-labelledby="findings-h"]//tbody/tr')
    assert len(rows) == len(rep.findings)
    for row, f in zip(rows, rep.findings, strict=True):
        cells = [text(td) for td in row.xpath("./td")]
        assert cells[0].endswith(f.severity.value) and cells[1].startswith(f.code)
        assert " ".join(f.message.split()) == cells[5]
        (dt,) = tree.xpath(f'//dl[@class="explain"]/dt[@id="code-{f.code}"]')
        explained = " ".join(text(dd) for dd in dt.itersiblings() if dd.tag == "dd")
        assert CODES[f.code].meaning in explained or CODES[f.code].meaning in text(dt.getnext())
        if f.component in COMPONENTS:
            assert COMPONENTS[f.component].breaks in " ".join(
                text(dd) for dd in tree.xpath("//dl[@class='explain']/dd")
            )


@needs_captures
def test_kubeadm_ha_master_with_kubelet_unknown_is_drawn_failing() -> None:
    rep = capture("kubeadm-1.8-ha-master-kubelet-unknown")
    _, tree = page(rep)
    assert "CRITICAL" in text(tree.xpath("//h1")[0])
    tile = node_tile(tree, "k8s-master1")
    assert "st-down" in tile.get("class")
    assert text(tile.xpath(".//span[contains(@class, 'badge')]")[0]) == "✖ failing"
    kubelet = tile.xpath(".//dt[.='kubelet']/following-sibling::dd[1]")[0]
    assert text(kubelet) == "✖ DOWN (Ready=Unknown)"
    for other in ("k8s-master2", "k8s-master3", "k8s-worker1", "k8s-worker2"):
        assert node_tile(tree, other).get("data-status") == "healthy"
    # the API server: 2 of 3 instances healthy, the one on the failed master unknown
    api = card(tree, "kube-apiserver")
    assert "degraded" in text(api.xpath("./h3")[0])
    instances = {text(li).split(" v1.8.1")[0] for li in api.xpath(".//ul[@class='instances']/li")}
    assert instances == {"? unknown k8s-master1", "✔ ok k8s-master2", "✔ ok k8s-master3"}
    assert_blast_and_findings(rep, tree)


@needs_captures
@pytest.mark.parametrize("name", json.loads(TIMES.read_text()) if TIMES.is_file() else [])
def test_every_capture_renders_self_contained(name: str) -> None:
    rep = capture(name)
    doc, tree = page(rep)
    assert_self_contained(doc, tree)
    assert_blast_and_findings(rep, tree)
    statuses = {c.status for c in rep.components if c.node and c.plane.value == "data-plane"}
    tiles = tree.xpath('//li[contains(@class, "node")]')
    assert (Status.DOWN in statuses) == any(t.get("data-status") == "failing" for t in tiles)


def assert_self_contained(doc: str, tree: Tree) -> None:
    """Nothing fetched from anywhere: no script, link, image, frame, import or url()."""
    assert not tree.xpath("//script | //link | //img | //iframe | //object | //embed")
    for attr in ("src", "href", "action", "srcset", "poster", "data"):
        for value in tree.xpath(f"//@{attr}"):
            assert attr == "data" or value.startswith("#"), (attr, value)
    styles = " ".join(tree.xpath("//style/text()")) + " ".join(tree.xpath("//@style"))
    assert "@import" not in styles and "url(" not in styles
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", styles)
    assert doc.startswith("<!DOCTYPE html>")
    assert tree.get("lang") == "en"
    # no script at all: the page works with JavaScript off (no handler attributes either)
    assert not [n for el in tree.iter() if isinstance(el.tag, str) for n in el.attrib if n.lower().startswith("on")]
    levels = [int(h.tag[1]) for h in tree.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert levels[0] == 1 and all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def test_silenced_lab_worker_and_its_blast_radius() -> None:
    rep = report("lab-worker-silenced")
    doc, tree = page(rep)
    assert_self_contained(doc, tree)
    tile = node_tile(tree, W1)
    assert tile.get("data-status") == "failing" and "failing" in text(tile)
    assert "DOWN (Ready=Unknown)" in text(tile)
    (article,) = tree.xpath('//article[contains(@class, "blast")]')
    degraded = text(article.xpath(".//section[@class='degraded']")[0])
    assert "Deployment shop/web: 1 lost, 1 ready elsewhere" in degraded
    breaks = text(article.xpath(".//section[@class='breaks']")[0])
    assert "outage (no ready replica elsewhere): Deployment shop/cart, Pod shop/debug" in breaks
    works = text(article.xpath(".//section[@class='works']")[0])
    assert "12 pods on 2 nodes keep running" in works
    assert_blast_and_findings(rep, tree)
    # landmarks, headings, table headers
    assert tree.xpath("//header[@role='banner']") and tree.xpath("//main") and tree.xpath("//nav[@aria-label]")
    assert [text(h) for h in tree.xpath("//h2")][:5] == [  # what breaks first, the inventories after
        "Blast radius",
        "Findings",
        "Control plane",
        "Data plane",
        "Cross-plane: admission webhooks, aggregated APIs",
    ]
    assert all(th.get("scope") == "col" for th in tree.xpath("//thead//th"))
    assert "@media print" in doc


def test_healthy_lab_has_no_failure_and_every_node_healthy() -> None:
    rep = report("lab-healthy")
    _, tree = page(rep)
    assert "HEALTHY" in text(tree.xpath("//h1")[0])
    assert not tree.xpath("//article[contains(@class, 'blast')]")
    assert "No current failure" in text(tree.xpath("//section[@aria-labelledby='blast-h']")[0])
    assert {t.get("data-status") for t in tree.xpath('//li[contains(@class, "node")]')} == {"healthy"}
    assert len(tree.xpath('//li[contains(@class, "node")]')) == 3
    assert "No findings." in text(tree.xpath("//section[@aria-labelledby='findings-h']")[0])


@pytest.mark.parametrize(
    ("name", "component", "word"),
    [
        ("lab-etcd-down", "etcd", "failing"),
        ("lab-scheduler-stale", "kube-scheduler", "failing"),
        ("lab-controller-manager-stale", "kube-controller-manager", "failing"),
    ],
)
def test_failing_control_plane_component_is_marked_in_the_diagram(name: str, component: str, word: str) -> None:
    rep = report(name)
    _, tree = page(rep)
    c = card(tree, component)
    assert "st-down" in c.get("class") and word in text(c.xpath("./h3")[0])
    assert c.get("aria-label") == f"{component}: {word}"
    assert_blast_and_findings(rep, tree)


def test_leader_is_named_in_the_diagram() -> None:
    rep = report("lab-healthy")
    _, tree = page(rep)
    leaders = {c.node for c in rep.components if c.name == "kube-scheduler" and c.role == "leader"}
    sched = card(tree, "kube-scheduler")
    if leaders:
        assert "★ leader" in text(sched)
    else:  # one instance: no role, the evidence names the leader Lease
        assert "leader Lease kube-system/kube-scheduler" in text(sched)


def test_webhook_down_is_in_the_cross_plane_table() -> None:
    rep = analyze(webhook_case("fail-validating"))
    _, tree = page(rep)
    rows = tree.xpath("//section[@aria-labelledby='cross-h']//tbody/tr")
    down = [text(r) for r in rows if "st-down" in r.get("class")]
    assert down and "DOWN" in down[0]
    assert_blast_and_findings(rep, tree)


def hostile_lab() -> Report:
    """The silenced worker renamed to markup: every place the name is used by the lab's objects."""
    evil = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>"
    data = lab_raw("lab-worker-silenced")
    find(data, "nodes", W1)["metadata"]["name"] = evil
    for lease in items(data, "leases"):
        if lease["metadata"]["name"] == W1:
            lease["metadata"]["name"] = evil
    for pod in items(data, "pods"):
        if pod["spec"].get("nodeName") == W1:
            pod["spec"]["nodeName"] = evil
    return analyze(snapshot_from_dict(data))


def test_cluster_strings_are_escaped() -> None:
    rep = hostile_lab()
    evil = next(c.node for c in rep.components if c.node and c.node.startswith("<script>"))
    doc, tree = page(rep, banner="<b>stale</b> & </div>")
    assert_self_contained(doc, tree)
    assert "<script>" not in doc and "<img" not in doc
    tile = node_tile(tree, evil)
    assert text(tile.xpath(".//h3")[0]) == evil and tile.get("data-status") == "failing"
    assert evil in text(tree.xpath("//p[@id='summary']")[0])
    assert text(tree.xpath("//div[@role='alert']")[0]) == "<b>stale</b> & </div>"


def test_refresh_and_banner_for_serve() -> None:
    rep = report("lab-healthy")
    _, tree = page(rep, refresh_seconds=30, banner="stale: last check failed at 12:00:00Z")
    (meta,) = tree.xpath("//meta[@http-equiv='refresh']")
    assert meta.get("content") == "30"
    assert text(tree.xpath("//div[@role='alert']")[0]) == "stale: last check failed at 12:00:00Z"
    _, plain = page(rep)
    assert not plain.xpath("//meta[@http-equiv='refresh']") and not plain.xpath("//div[@role='alert']")


def many_nodes(nodes: int, failed_every: int) -> Report:
    """The offline bench's synthetic cluster (lab objects cloned), with a CNI pod on every node."""
    from bench.offline import synthesize  # noqa: PLC0415

    data = synthesize(nodes, 1, failed_every)
    cni = next(p for p in items(data, "pods") if p["metadata"]["name"].startswith("kindnet-"))
    for i in range(nodes):
        pod = json.loads(json.dumps(cni))
        pod["metadata"]["name"] = f"kindnet-b{i:05d}"
        pod["spec"]["nodeName"] = f"bench-node-{i:05d}"
        items(data, "pods").append(pod)
    return analyze(snapshot_from_dict(data))


def test_many_healthy_nodes_are_folded_into_a_count() -> None:
    rep = many_nodes(300, 100)
    t0 = time.perf_counter()
    doc, tree = page(rep)
    assert time.perf_counter() - t0 < 1
    failing = sorted({c.node for c in rep.components if c.node and c.name == "kubelet" and c.status is Status.DOWN})
    assert failing == ["bench-node-00000", "bench-node-00100", "bench-node-00200"]
    tiles = tree.xpath('//li[contains(@class, "node")]')
    assert sorted(t.get("data-node") for t in tiles) == failing
    assert all(t.get("data-status") == "failing" for t in tiles)
    (fold,) = tree.xpath("//details[@data-status='healthy']")
    assert int(text(fold.xpath(".//span[@class='fold-count']")[0])) == 303 - 3 > FOLD_AT
    assert len(fold.xpath(".//ul[@class='names']/li")) == 300
    assert "kubelet, runtime, kube-proxy and CNI all ok" in text(fold.xpath("./summary")[0])
    assert len(doc) < 60_000


def kplanediag(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert isinstance(exc.value.code, int)
    return exc.value.code, capsys.readouterr().out


def test_sections_and_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = kplanediag(capsys, "blast-radius", "--from", str(DATA / "lab-worker-silenced.json"), "-o", "html")
    assert code == 2
    tree: Tree = lxml.html.fromstring(out)
    assert [text(h) for h in tree.xpath("//h2")] == ["Blast radius"]
    code, out = kplanediag(capsys, "check", "--from", str(DATA / "lab-healthy.json"), "-o", "html")
    assert code == 0 and out.startswith("<!DOCTYPE html>") and out.endswith("</html>\n")


def test_html_refresh_option(capsys: pytest.CaptureFixture[str]) -> None:
    """`-o html --refresh 1m` (issue 24, item 9): the page reloads itself; without it, it does not;
    with another -o it is a usage error (exit 3), never ignored."""
    silenced = str(DATA / "lab-worker-silenced.json")
    for args, expected in ((["--refresh", "1m"], ["60"]), (["--refresh", "90"], ["90"]), ([], [])):
        with pytest.raises(SystemExit):
            main(["check", "--from", silenced, "-o", "html", *args])
        tree: Tree = lxml.html.fromstring(capsys.readouterr().out.encode())
        assert [m.get("content") for m in tree.xpath("//meta[@http-equiv='refresh']")] == expected, args
    with pytest.raises(SystemExit) as exc:
        main(["check", "--from", silenced, "-o", "json", "--refresh", "30s"])
    assert exc.value.code == 3 and "--refresh reloads an HTML page: it needs -o html" in capsys.readouterr().err


HOSTILE = "<script>alert(1)</script>\"'&"
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;"


def test_a_hostile_name_is_escaped_in_every_html_output() -> None:
    """A node and its pods named with markup and ``"'&``: escaped wherever the status page, its
    banner (serve's stale notice) and serve's waiting page show them; a template's plain
    ``{{ value }}`` is escaped by default (autoescaping on)."""
    data = lab_raw("lab-worker-silenced")
    find(data, "nodes", W1)["metadata"]["name"] = HOSTILE
    for lease in items(data, "leases"):
        if lease["metadata"]["name"] == W1:
            lease["metadata"]["name"] = HOSTILE
    for i, pod in enumerate(items(data, "pods")):
        if pod["spec"].get("nodeName") == W1:
            pod["spec"]["nodeName"] = HOSTILE
            pod["metadata"]["name"] = f"{HOSTILE}{i}"
    rep = analyze(snapshot_from_dict(data))
    assert any(c.node == HOSTILE for c in rep.components)
    view = View(1, None, False, 0, {}, None, None, None, Failure("unreachable", HOSTILE, 0.0), {}, {})
    pages = [render_html(rep, banner=HOSTILE), render_html(rep, sections=("findings",)), waiting_page(view, 5)]
    for doc in pages:
        assert HOSTILE_ESCAPED in doc
        assert "<script>" not in doc and "\"'&" not in doc
        lxml.html.fromstring(doc)
    _, tree = page(rep, banner=HOSTILE)
    assert text(node_tile(tree, HOSTILE).xpath(".//h3")[0]) == HOSTILE
    assert text(tree.xpath("//div[@role='alert']")[0]) == HOSTILE
    assert environment().from_string("<p title='{{ x }}'>{{ x }}</p>").render(x=HOSTILE) == (
        f"<p title='{HOSTILE_ESCAPED}'>{HOSTILE_ESCAPED}</p>"
    )
