"""Waiting for a bench cluster to be quiet before it is measured: the controller-manager's work queues
empty (a fill or its restart queues every object: 3,000 PDBs take the disruption controller minutes
at 30,000 pods), and what the cluster then uses of the machine's cores at rest, for the record."""

from __future__ import annotations

import re
import ssl
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.measure import machine_cpu
from lab.labctl import component_pid
from lab.scale import ScaleCluster

KCM = "kube-controller-manager"
POLL = 5.0  # seconds between two looks at the queues
QUIET_LOOKS = 2  # consecutive looks with every queue empty
_DEPTH = re.compile(r'^workqueue_depth\{name="([^"]+)"\} (\S+)$', re.M)


def queue_depths(metrics: str) -> dict[str, int]:
    """The controller-manager's work queues that hold items, from its /metrics text."""
    return {name: int(float(v)) for name, v in _DEPTH.findall(metrics) if float(v) > 0}


def kcm_metrics(cluster: ScaleCluster) -> str | None:
    """The controller-manager's /metrics (its secure port, which the lab's config opens to /metrics)."""
    pid = component_pid(cluster, KCM)
    if pid is None:
        return None
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    port = next((a.split(b"=", 1)[1].decode() for a in args if a.startswith(b"--secure-port=")), None)
    if port is None:
        return None
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # its own self-signed cert, on 127.0.0.1
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=10, context=context) as answer:
            return str(answer.read().decode())
    except OSError:
        return None


def background_cores(seconds: float = POLL) -> float:
    """Cores the machine uses with no tool running: the cluster at rest (kwok, leases, controllers)."""
    before = machine_cpu()
    time.sleep(seconds)
    return round((machine_cpu() - before) / seconds, 2)


def settle(cluster: ScaleCluster, most: float) -> dict[str, Any]:
    """Wait, at most ``most`` seconds, until the controller-manager's queues are empty QUIET_LOOKS times
    in a row; what was waited, what was still queued, and the cores the cluster used at rest."""
    start, quiet = time.monotonic(), 0
    depths: dict[str, int] | None = None
    while time.monotonic() - start < most:
        metrics = kcm_metrics(cluster)
        depths = queue_depths(metrics) if metrics is not None else None
        quiet = quiet + 1 if depths == {} else 0
        if quiet >= QUIET_LOOKS:
            break
        time.sleep(POLL)
    waited = round(time.monotonic() - start, 1)
    state = "quiet" if quiet >= QUIET_LOOKS else ("unknown" if depths is None else "busy")
    print(f"[bench] controller-manager {state} after {waited:.0f} s" + (f": {depths}" if depths else ""), flush=True)
    return {"waitedSeconds": waited, "controllerManager": state, "queued": depths, "restingCores": background_cores()}
