"""``kplanediag serve`` as a real process on real captures (--from, re-read at every check): its
routes and their contracts, the bearer token, TLS, stale marking when a check fails, /readyz's
3-interval window, and SIGTERM. The same process against live clusters: tests/e2e/test_serve.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import Served, start

CAPTURES = Path("/work/shared/real-captures")
AT = json.loads((CAPTURES / "capture-times.json").read_text()) if CAPTURES.exists() else {}
HEALTHY = "eks-1.31-vpc-cni-healthy"
FAILING = "kubeadm-1.27-no-cni-nodes-notready"
INTERVAL = 0.5

pytestmark = pytest.mark.skipif(not CAPTURES.exists(), reason="the real captures are not on this machine")


def linked(tmp_path: Path, case: str) -> Path:
    """A symlink to the capture (read in place), to be removed to make the next check fail."""
    link = tmp_path / f"{case}.json"
    link.symlink_to(CAPTURES / f"{case}.json")
    return link


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    source = linked(tmp_path, HEALTHY)
    s = start("--from", str(source), "--at", AT[HEALTHY], "--interval", f"{INTERVAL}s")
    s.until("the first check", lambda: s.get("/readyz")[0] == 200, 5)
    yield s, source
    if s.proc.poll() is None:
        s.proc.kill()


def test_report_json_is_the_check_document_and_metrics_are_prometheus_text(served: tuple[Served, Path]) -> None:
    s, source = served
    status, headers, body = s.get("/report.json")
    check = subprocess.run(
        [sys.executable, "-m", "kplanediag", "check", "-o", "json", "--from", str(source), "--at", AT[HEALTHY]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == json.loads(check.stdout)  # the -o json contract, the same document
    assert headers["X-Kplanediag-Stale"] == "false"
    status, headers, body = s.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    text = body.decode()
    assert "kplanediag_stale 0.0" in text
    assert (s.sample("kplanediag_checks_total") or 0) >= 1
    assert "kplanediag_check_interval_seconds 0.5" in text
    assert s.get("/healthz") == (200, s.get("/healthz")[1], b"ok\n")
    assert s.get("/nothing-here")[0] == 404


def test_a_failed_check_keeps_the_last_report_marked_stale_and_counted(served: tuple[Served, Path]) -> None:
    s, source = served
    before = json.loads(s.get("/report.json")[2])
    failures = s.sample('kplanediag_check_failures_total{class="error"}') or 0.0
    source.unlink()  # the next check cannot read its input: exit 3's class "error"
    s.until("stale", lambda: s.sample("kplanediag_stale") == 1.0, 3)
    status, headers, body = s.get("/report.json")
    assert status == 200 and headers["X-Kplanediag-Stale"] == "true"
    assert json.loads(body) == before  # the previous results, not an error document
    assert (s.sample('kplanediag_check_failures_total{class="error"}') or 0) > failures
    page = s.get("/")[2].decode()
    assert "Stale" in page and "cannot read" in page  # the status page's banner says why
    assert any("failed (error" in line and "marked stale" in line for line in s.lines)
    assert s.proc.poll() is None  # alive, serving
    linked(source.parent, HEALTHY)
    s.until("fresh again", lambda: s.sample("kplanediag_stale") == 0.0, 3)
    assert s.get("/report.json")[1]["X-Kplanediag-Stale"] == "false"


def test_readyz_fails_three_intervals_after_the_last_good_check_and_recovers(served: tuple[Served, Path]) -> None:
    s, source = served
    source.unlink()
    took = s.until("/readyz 503", lambda: s.get("/readyz")[0] == 503, 5, every=0.05)
    # the last good check ended at most one interval (plus a check) before the unlink
    assert 3 * INTERVAL - INTERVAL - 0.3 <= took <= 3 * INTERVAL + 0.5, took
    status, _, body = s.get("/readyz")
    assert status == 503 and b"no successful check within 1.5s" in body and b"cannot read" in body
    assert s.get("/healthz")[0] == 200  # alive all the same
    linked(source.parent, HEALTHY)
    assert s.until("/readyz 200", lambda: s.get("/readyz")[0] == 200, 3) <= INTERVAL + 1


def test_sigterm_ends_it_within_a_second(served: tuple[Served, Path]) -> None:
    s, _ = served
    took = s.terminate()
    assert s.proc.returncode == 0 and took < 1.0, took
    assert s.lines[-1].endswith("kplanediag serve: stopped")


def test_a_bearer_token_guards_all_but_the_probes(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    s = start("--from", str(CAPTURES / f"{FAILING}.json"), "--at", AT[FAILING], "--token-file", str(token_file))
    try:
        s.until("the first check", lambda: s.get("/readyz")[0] == 200, 5)
        for path in ("/", "/metrics", "/report.json"):
            status, headers, _ = s.get(path)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
            assert s.get(path, token="s3cret-tokeN")[0] == 401, path
            assert s.get(path, token="s3cret-token")[0] == 200, path
        assert s.get("/healthz")[0] == 200
        doc = json.loads(s.get("/report.json", token="s3cret-token")[2])
        assert doc["summary"]["status"] == "critical"  # the real capture's NotReady nodes, as check says
    finally:
        s.proc.kill()


def test_a_rotated_token_file_is_used_without_a_restart(tmp_path: Path) -> None:
    """A Secret volume swaps the file's symlink when the Secret changes: the new token is required
    from then on; a file emptied or removed meanwhile keeps the last good token, and says so."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "token").write_text("first-token\n")
    link = tmp_path / "token"
    link.symlink_to(data / "token")
    s = start("--from", str(CAPTURES / f"{FAILING}.json"), "--at", AT[FAILING], "--token-file", str(link))
    try:
        s.until("the first check", lambda: s.get("/readyz")[0] == 200, 5)
        assert s.get("/metrics", token="first-token")[0] == 200
        (tmp_path / "data2").mkdir()
        (tmp_path / "data2" / "token").write_text("second-token\n")
        swapped = tmp_path / "token.new"
        swapped.symlink_to(tmp_path / "data2" / "token")
        swapped.replace(link)  # the kubelet's atomic swap
        s.until("the new token", lambda: s.get("/metrics", token="second-token")[0] == 200, 5)
        assert s.get("/metrics", token="first-token")[0] == 401
        (tmp_path / "data2" / "token").write_text("")
        time.sleep(1.5)
        assert s.get("/metrics", token="second-token")[0] == 200  # empty: the last good token stays
        assert s.get("/metrics", token="")[0] == 401
        s.until("the log line", lambda: any("the previous token stays in use" in line for line in s.lines), 5)
        assert any("changed: the new token is in use" in line for line in s.lines), s.lines
    finally:
        s.proc.kill()


def test_tls_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=kplanediag",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    args = ("--from", str(CAPTURES / f"{HEALTHY}.json"), "--at", AT[HEALTHY], "--tls-cert", str(cert))
    s = start(*args, "--tls-key", str(key), cafile=cert)
    try:
        assert s.url.startswith("https://127.0.0.1:")
        s.until("the first check", lambda: s.get("/readyz")[0] == 200, 5)
        assert json.loads(s.get("/report.json")[2])["schemaVersion"] == 1
    finally:
        s.proc.kill()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tls-cert", "/etc/hostname"), "--tls-cert and --tls-key go together"),
        (("--listen", "8080"), "is not HOST:PORT"),
        (("--token-file", "/dev/null"), "is empty"),
        (("--interval", "0s"), "is not a duration"),
    ],
)
def test_bad_options_are_exit_3_with_the_reason(args: tuple[str, ...], message: str) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "kplanediag", "serve", "--from", "/nonexistent.json", *args],
        capture_output=True,
        text=True,
        timeout=8,
        check=False,
    )
    assert proc.returncode == 3 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and time.monotonic() - started < 8
