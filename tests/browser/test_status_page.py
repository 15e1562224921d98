"""The ``-o html`` status page in a real browser (headless Chromium, tests/browser/chromium.py): the
file opened as a person would open it, and the DOM checked for what they would look at: the failing
node marked failing in words, the blast radius, the folded count of healthy nodes, nothing fetched
from anywhere, a print layout. Without Chromium it skips locally and fails in CI (CI=true)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kplanediag.render.html import render_html
from tests.browser import chromium
from tests.unit.factories import DATA, W1, W2
from tests.unit.test_html import many_nodes

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

BROWSER_TIMEOUT = 120  # seconds: starting Chromium on a loaded CI machine; the unit tests' 10 s is too short
browser_timeout = pytest.mark.timeout(BROWSER_TIMEOUT)


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    why = chromium.missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    d = chromium.start()
    try:
        yield d
    finally:
        d.quit()


def open_page(driver: WebDriver, snapshot: str, tmp_path: Path) -> int:
    page = tmp_path / f"{snapshot}.html"
    code = chromium.write_page(DATA / f"{snapshot}.json", page)
    driver.get(page.as_uri())
    return code


def by_css(driver: WebDriver, selector: str) -> list[WebElement]:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def one(driver: WebDriver, selector: str) -> WebElement:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return driver.find_element(By.CSS_SELECTOR, selector)


def text_between_refreshes(driver: WebDriver, selector: str, tries: int = 20) -> str:
    """The text of ``selector`` on a page that reloads itself: an element found just before a reload
    is stale by the time it is read, so find and read again (a reload takes a fraction of a second)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: PLC0415

    for _ in range(tries - 1):
        try:
            return one(driver, selector).text
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.1)
    return one(driver, selector).text


def rendered(driver: WebDriver, element: WebElement) -> bool:
    """Laid out with a size: what the page's CSS shows."""
    return bool(
        driver.execute_script(
            "return arguments[0].checkVisibility() && arguments[0].getBoundingClientRect().height > 0", element
        )
    )


def fetched(driver: WebDriver) -> int:
    """Resources the page loaded (scripts, styles, fonts, images): none, it is self-contained."""
    return int(driver.execute_script("return performance.getEntriesByType('resource').length"))


@browser_timeout
def test_failing_cluster_page_shows_the_failing_node_and_its_blast_radius(driver: WebDriver, tmp_path: Path) -> None:
    assert open_page(driver, "lab-worker-silenced", tmp_path) == 2
    assert driver.title.startswith("kplanediag: CRITICAL")
    assert "CRITICAL" in one(driver, "h1").text
    failing = one(driver, f'li.node[data-node="{W1}"]')
    assert failing.is_displayed()
    words = failing.text.split()
    assert "failing" in words and "DOWN" in words
    healthy = one(driver, f'li.node[data-node="{W2}"]')
    assert "healthy" in healthy.text.split()
    # marked differently, not by colour alone: border pattern and colour differ, and the words do
    style = "return [getComputedStyle(arguments[0]).borderTopStyle, getComputedStyle(arguments[0]).borderTopColor]"
    assert driver.execute_script(style, failing) != driver.execute_script(style, healthy)
    blast = one(driver, "article.blast")
    assert blast.is_displayed()
    text = blast.text
    assert "1 node failing (kplanediag-worker): 7 pods lost" in text
    assert "What breaks" in text and "7 pods on kplanediag-worker no longer serve" in text
    assert "What is degraded" in text and "Deployment shop/web: 1 lost, 1 ready elsewhere" in text
    assert "What keeps working" in text and "12 pods on 2 nodes keep running" in text
    findings = one(driver, "section[aria-labelledby=findings-h]").text
    assert "KPD-201" in findings and "The node's Ready condition is Unknown" in findings
    # the blast radius first, on the first screen at 1280 px (it was ~1,400 px down, below the planes)
    top = "return arguments[0].getBoundingClientRect().top + window.scrollY"
    blast_top = driver.execute_script(top, one(driver, "section[aria-labelledby=blast-h]"))
    assert blast_top < driver.execute_script(top, one(driver, "section[aria-labelledby=control-h]"))
    assert blast_top < 800, blast_top
    assert fetched(driver) == 0


@browser_timeout
def test_healthy_cluster_page(driver: WebDriver, tmp_path: Path) -> None:
    assert open_page(driver, "lab-healthy", tmp_path) == 0
    assert "HEALTHY" in one(driver, "h1").text
    tiles = by_css(driver, "li.node")
    assert len(tiles) == 3
    assert all(t.text.split()[1] == "✔" and "healthy" in t.text.split() for t in tiles)
    assert not by_css(driver, "article.blast")
    assert "No current failure" in one(driver, "section[aria-labelledby=blast-h]").text
    assert "kube-apiserver" in one(driver, "figure.diagram").text
    assert fetched(driver) == 0


@browser_timeout
def test_many_healthy_nodes_are_folded_and_unfold_on_click(driver: WebDriver, tmp_path: Path) -> None:
    page = tmp_path / "many.html"
    page.write_text(render_html(many_nodes(300, 100)), encoding="utf-8")
    driver.get(page.as_uri())
    tiles = by_css(driver, "li.node")
    assert sorted(str(t.get_attribute("data-node")) for t in tiles) == [
        "bench-node-00000",
        "bench-node-00100",
        "bench-node-00200",
    ]
    fold = one(driver, "details[data-status=healthy]")
    summary = one(driver, "details[data-status=healthy] > summary")
    assert "300 node(s) folded: kubelet, runtime, kube-proxy and CNI all ok" in summary.text
    names = by_css(driver, "details[data-status=healthy] ul.names li")
    assert len(names) == 300 and not any(n.is_displayed() for n in names[:5])
    summary.click()
    assert fold.get_attribute("open") is not None
    assert names[0].is_displayed() and names[0].text == "bench-node-00001"


@browser_timeout
def test_print_layout(driver: WebDriver, tmp_path: Path) -> None:
    open_page(driver, "lab-worker-silenced", tmp_path)
    table = one(driver, "article.blast details table")
    assert not rendered(driver, table)
    nav = one(driver, "nav.toc")
    assert nav.is_displayed()
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not nav.is_displayed()
        assert one(driver, f'li.node[data-node="{W1}"]').is_displayed()
        # folded details print opened: the affected workloads of the blast radius
        assert rendered(driver, table)  # (selenium's is_displayed calls all in a closed <details> hidden)
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})
    assert len(pdf["data"]) > 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@browser_timeout
def test_served_status_page_refreshes_itself(driver: WebDriver, tmp_path: Path) -> None:
    """``kplanediag serve`` (here on a snapshot, --from) serves the same page at /, reloading itself."""
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "kplanediag", "serve", "--from", str(DATA / "lab-worker-silenced.json")),
                *("--listen", f"127.0.0.1:{port}", "--interval", "1s"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=chromium.ROOT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        driver.get(url)
        assert "failing" in text_between_refreshes(driver, f'li.node[data-node="{W1}"]').split()
        assert "7 pods on kplanediag-worker no longer serve" in text_between_refreshes(driver, "article.blast")
        assert 'http-equiv="refresh" content="1"' in driver.page_source
        driver.execute_script("window.kplanediagMark = 1")
        time.sleep(3)  # the refresh replaced the document: the mark is gone
        assert driver.execute_script("return window.kplanediagMark === undefined")
        assert "failing" in text_between_refreshes(driver, f'li.node[data-node="{W1}"]').split()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
