"""Through an incident on the real lab: the timeline of a silenced node and of a stopped
scheduler, in the right order; the last known state once the API server is stopped (from the
snapshot the previous check kept); and ``watch`` seeing a fault appear and clear. ``-s`` prints."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lab import labctl
from tests.e2e.conftest import Cluster

pytestmark = pytest.mark.timeout(400)
NODE = "kplanediag-worker"


def kpd(cluster: Cluster, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args, "--kubeconfig", str(cluster.reader)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip


def entries(cluster: Cluster) -> list[dict[str, Any]]:
    proc = kpd(cluster, "timeline", "-o", "json")
    assert proc.returncode in (0, 1, 2), proc.stderr
    found: list[dict[str, Any]] = json.loads(proc.stdout)["entries"]
    return found


def index_of(found: list[dict[str, Any]], kind: str, subject: str, text: str) -> int:
    return next(i for i, e in enumerate(found) if e["kind"] == kind and e["subject"] == subject and text in e["text"])


def test_timeline_of_a_silenced_node(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.silence_node(lab, NODE)
    cluster.wait_report("the node Unknown", lambda d: any(f["code"] == "KPD-201" for f in d["findings"]), 90)
    found = entries(cluster)
    heartbeat = index_of(found, "lease", f"kube-node-lease/{NODE}", "heartbeat last renewed")
    unknown = index_of(found, "node", NODE, "Ready=Unknown")
    assert heartbeat < unknown, found  # silent first, then marked Unknown by the node lifecycle controller
    print("\n".join(f"{e['time']} {e['kind']} {e['subject']}: {e['text']}" for e in found[heartbeat:]))
    _, doc = cluster.report()
    f = next(f for f in doc["findings"] if f["code"] == "KPD-201")
    assert f["since"] == found[unknown]["time"]


def test_timeline_of_a_stopped_scheduler(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.stop_component(lab, "kube-scheduler")
    doc = cluster.wait_report(
        "the scheduler Lease stale", lambda d: any(f["code"] == "KPD-120" for f in d["findings"]), 90
    )
    found = entries(cluster)
    leader = index_of(found, "leader", "kube-system/kube-scheduler", "became leader")
    renewed = index_of(found, "lease", "kube-system/kube-scheduler", "last renewed")
    assert leader < renewed  # it led, renewed, then stopped renewing
    stale = next(f for f in doc["findings"] if f["code"] == "KPD-120")
    assert stale["since"] is not None


def test_last_known_state_once_the_api_server_is_stopped(cluster: Cluster, lab: labctl.Lab, tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    up = kpd(cluster, "check", "-o", "json", env=env)
    assert up.returncode == 0, up.stdout[-500:]
    pods = sum(1 for c in json.loads(up.stdout)["components"] if c["name"] == "kubelet")
    assert list((tmp_path / "kplanediag" / "last-known").glob("*.json"))
    labctl.stop_component(lab, "kube-apiserver")
    down = kpd(cluster, "check", "-o", "json", "--request-timeout", "2", env=env)
    assert down.returncode == 2
    doc = json.loads(down.stdout)
    known = doc["lastKnown"]
    assert known["source"] == "last successful check" and known["nodes"] == pods and known["podsRunning"] > 10
    assert "shop/web" in known["servicesServing"] and any("shop/cart" in w for w in known["singleReplicaWorkloads"])
    assert all(line.startswith("as of ") for line in known["lines"])
    table = kpd(cluster, "check", "--request-timeout", "2", env=env)
    print(f"\n===== API server down, last known state (exit {table.returncode}) =====\n{table.stdout}")
    assert "== Last known state (not current)" in table.stdout
    off = kpd(cluster, "check", "-o", "json", "--request-timeout", "2", "--no-last-known", env=env)
    assert "lastKnown" not in json.loads(off.stdout)


def test_watch_sees_a_fault_appear_and_clear(cluster: Cluster, lab: labctl.Lab) -> None:
    watch = subprocess.Popen(
        [sys.executable, "-m", "kplanediag", "watch", "--interval", "2s", "--kubeconfig", str(cluster.reader)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    out = watch.stdout
    assert out is not None

    def read() -> None:
        for line in out:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []

    def until(text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return
        pytest.fail(f"no line with {text!r} in {timeout:g}s:\n{''.join(seen)}")

    try:
        until(" · HEALTHY", 60)
        labctl.silence_node(lab, NODE)
        until(f"component changed: kubelet on {NODE}: healthy -> down", 90)
        labctl.restore_all(lab)
        until("finding cleared:", 120)
        until(" · HEALTHY", 60)
    finally:
        watch.send_signal(signal.SIGINT)
        code = watch.wait(15)
    print("\n===== kplanediag watch =====\n" + "".join(seen))
    assert code == 0
