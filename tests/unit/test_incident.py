"""Through an incident, on the lab's captures: what changed (watch, diff), the timeline and the
"since" of findings, and the last known state when the API server is unreachable (--baseline, and
the cache of the last successful check)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from kplanediag.analysis.changes import changes, inventory_changes
from kplanediag.analysis.lastknown import last_known
from kplanediag.analysis.report import analyze
from kplanediag.cli import memory
from tests.unit.factories import DATA, W1, report, snap

HEALTHY, SILENCED = DATA / "lab-healthy.json", DATA / "lab-worker-silenced.json"
CLOSED = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: lab, context: {cluster: c, user: u}}]
current-context: lab
users: [{name: u, user: {token: t}}]
"""


def kpd(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip


def test_changes_between_healthy_and_a_silenced_worker() -> None:
    found = changes(report("lab-healthy"), report("lab-worker-silenced"))
    lines = [c.line() for c in found]
    assert any(c.kind == "status" and c.what == "changed" for c in found)
    assert any(line.startswith("finding appeared: KPD-201 (critical) node kplanediag-worker") for line in lines)
    assert f"component changed: kubelet on {W1}: healthy -> down (Ready=Unknown)" in lines
    assert any(c.kind == "blast" and c.what == "appeared" for c in found)
    back = changes(report("lab-worker-silenced"), report("lab-healthy"))
    assert any(c.line() == f"finding cleared: KPD-201 {W1}" for c in back)
    assert any(c.kind == "blast" and c.what == "cleared" for c in back)
    assert changes(report("lab-healthy"), report("lab-healthy")) == []


def test_inventory_changes_name_the_workloads_that_lost_replicas() -> None:
    found = [c.line() for c in inventory_changes(snap("lab-healthy"), snap("lab-worker-silenced"))]
    assert "workload changed: Deployment shop/cart: 1/1 -> 0/1 ready" in found


def test_diff_of_two_snapshots() -> None:
    proc = kpd("diff", str(HEALTHY), str(SILENCED), "-o", "json")
    assert proc.returncode == 1, proc.stderr  # something changed (diff(1)'s code), whatever NEW's status
    doc = json.loads(proc.stdout)
    assert doc["old"]["status"] == "healthy" and doc["new"]["status"] == "critical"
    kinds = {(c["kind"], c["change"]) for c in doc["changes"]}
    assert {("finding", "appeared"), ("component", "changed"), ("workload", "changed")} <= kinds
    same = kpd("diff", str(HEALTHY), str(HEALTHY))
    assert same.returncode == 0 and "no change" in same.stdout


def test_watch_prints_the_state_then_only_changes_and_a_heartbeat() -> None:
    proc = kpd("watch", "--from", str(SILENCED), "--interval", "0.2s", "--count", "3")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stdout.splitlines()
    assert "watching" in lines[0]
    assert sum("finding present: KPD-201" in line for line in lines) == 1  # said once, not every check
    assert sum(" · CRITICAL" in line for line in lines) == 3  # a heartbeat per check


def test_watch_stops_at_once_on_ctrl_c_with_the_last_code() -> None:
    watch = subprocess.Popen(
        [sys.executable, "-m", "kplanediag", "watch", "--from", str(SILENCED), "--interval", "30s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert watch.stdout is not None
    while " · " not in watch.stdout.readline():
        pass
    start = time.monotonic()
    watch.send_signal(signal.SIGINT)
    code = watch.wait(10)
    assert time.monotonic() - start < 5 and code == 2


def test_timeline_is_in_order_and_findings_say_since_when() -> None:
    rep = report("lab-worker-silenced")
    times = [e.when for e in rep.timeline]
    assert times == sorted(times) and times
    ready = next(e for e in rep.timeline if e.kind == "node" and e.subject == W1 and e.text.startswith("Ready=Unknown"))
    heartbeat = next(e for e in rep.timeline if e.kind == "lease" and e.subject == f"kube-node-lease/{W1}")
    assert heartbeat.when < ready.when  # the heartbeat stopped, then the node controller marked it Unknown
    f = next(f for f in rep.findings if f.code == "KPD-201")
    assert f.since == ready.when
    proc = kpd("timeline", "--from", str(SILENCED), "-o", "json")
    entries = json.loads(proc.stdout)["entries"]
    ages = [e["secondsAgo"] for e in entries]
    assert ages == sorted(ages, reverse=True) and ages  # oldest first
    assert proc.returncode == 2


def test_unreachable_with_a_baseline_reports_the_last_known_state_dated(tmp_path: Path) -> None:
    config = tmp_path / "k"
    config.write_text(CLOSED)
    proc = kpd(
        "check", "--kubeconfig", str(config), "--request-timeout", "1", "--baseline", str(SILENCED), "-o", "json",
        env={"XDG_CACHE_HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    known = doc["lastKnown"]
    assert known["podsRunning"] > 0 and known["nodes"] == 3 and "shop/web" in known["servicesServing"]
    assert all(line.startswith("as of 2026-11-23 22:20:22Z") for line in known["lines"])
    entry = doc["blastRadius"][0]
    assert entry["failure"] == "kube-apiserver unreachable"
    assert any(s.startswith("as of ") and "keep running" in s for s in entry["stillWorks"])
    plain = kpd("check", "--kubeconfig", str(config), "--request-timeout", "1", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert "Last known state" not in plain.stdout  # no baseline, nothing cached for this cluster


def test_the_cache_keeps_the_last_live_check_privately_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    live = msgspec.structs.replace(snap("lab-healthy"), source="live")
    path = memory.remember(live, "lab")
    assert path is not None and path.parent == tmp_path / "kplanediag" / "last-known"
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    recalled = memory.recall(live.server, "lab")
    assert recalled is not None and recalled[0].counts() == live.counts()
    assert memory.recall(live.server, "another") is None
    for i in range(memory.MAX_FILES + 5):
        memory.remember(live, f"c{i}")
    assert len(list(path.parent.glob("*.json"))) == memory.MAX_FILES
    assert memory.remember(msgspec.structs.replace(live, source="kubectl-list"), "lab") is None  # only live checks
    assert memory.remember(live, "lab") == path  # again the newest
    kept = path.read_bytes()
    monkeypatch.setattr(memory, "MAX_BYTES", len(kept) // 2)  # too big to keep: the file kept before stays
    assert memory.remember(live, "lab") is None
    assert path.read_bytes() == kept and not list(path.parent.glob("*.partial"))
    monkeypatch.setenv(memory.ENV, "1")
    assert not memory.enabled(False) and memory.enabled(True) is not True


def test_last_known_age_is_said_in_the_right_unit() -> None:
    old = snap("lab-healthy")
    assert "(30 s ago" in last_known(old, old.collected_at + timedelta(seconds=30), "x").when
    assert "(4 min ago" in last_known(old, old.collected_at + timedelta(minutes=4), "x").when
    assert "(3 h ago" in last_known(old, old.collected_at + timedelta(hours=3), "x").when


def test_analyze_uses_a_baseline_only_when_unreachable() -> None:
    reachable = analyze(snap("lab-healthy"), baseline=(snap("lab-worker-silenced"), "x"))
    assert reachable.last_known is None
