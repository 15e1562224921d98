"""What one ``kplanediag check`` costs the API server, request by request.

The requests are read from the API server's audit log, on a throwaway kwok cluster of its own
(lab/scale/, never the shared lab cluster) whose audit policy logs one user only: a ServiceAccount
made for kplanediag, which runs with a token kubeconfig of its own. Every other client there (the
controller-manager, the scheduler, kwok, kubectl) uses kwokctl's admin certificate, so nothing but
kplanediag's requests is counted: no baseline to subtract, no metric scrapes to filter out.

The check runs at N and at 10 N nodes (3 and 30, three pods each): every request must be a read
(get or list, non-resource GETs included), answered 200, and the count may grow only by list pages,
one per ``limit`` items of each list (the limit is read from the requests themselves); at these
sizes every list is one page, so both counts must be equal.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kplanediag.collect.lists import LISTS
from lab import labctl, scale
from tests.e2e.conftest import fail_or_skip

NAMESPACE, ACCOUNT = "kplanediag", "kplanediag"
USER = f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}"
AUDIT_POLICY = f"""\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: ["{USER}"]
- level: None
"""
SMALL_NODES, PODS_PER_NODE = 3, 3
READS = {"get", "list"}

pytestmark = pytest.mark.timeout(170)


@dataclass(frozen=True)
class Cost:
    nodes: int
    pods: int
    requests: Counter[tuple[str, str]]  # (verb, path) -> count
    codes: Counter[int]
    expected_pages: dict[str, int]  # list path -> ceil(items / limit)
    items: dict[str, int]
    queries: dict[str, str]  # list path -> the first page's query

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def lists(self) -> dict[str, int]:
        return {path: n for (verb, path), n in self.requests.items() if verb == "list"}

    def others(self) -> Counter[tuple[str, str]]:
        return Counter({key: n for key, n in self.requests.items() if key[0] != "list"})

    def describe(self) -> str:
        lines = [f"{self.nodes} nodes, {self.pods} pods: {self.total} requests, HTTP {dict(self.codes)}"]
        for (verb, path), n in sorted(self.requests.items()):
            extra = f"?{self.queries.get(path, '')}  ({self.items[path]} items)" if path in self.items else ""
            lines.append(f"  {n:3d}  {verb:4s}  {path}{extra}")
        return "\n".join(lines)


@pytest.fixture(scope="module")
def cost_cluster() -> Iterator[tuple[scale.ScaleCluster, Path]]:
    """A throwaway cluster with the audit policy, and kplanediag's own kubeconfig on it."""
    if os.environ.get("KPLANEDIAG_E2E_TARGET", "lab") != "lab":
        pytest.skip("the API-cost test builds its own kwok cluster from the lab binaries (lab target only)")
    try:
        labctl.default_lab().bin  # noqa: B018 - raises when the binaries are not built
    except labctl.LabError as exc:
        fail_or_skip(str(exc))
    name = f"kplanediag-apicost-{os.getpid()}"  # concurrent runs never share one
    cluster = scale.ScaleCluster(labctl.cache_root() / name.removeprefix("kplanediag-"), name)
    cluster.root.mkdir(parents=True, exist_ok=True)
    policy = cluster.root / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    try:
        scale.create(cluster, SMALL_NODES, audit_policy=policy)
        yield cluster, scale.reader_kubeconfig(cluster, NAMESPACE, ACCOUNT)
    finally:
        scale.delete(cluster)
        shutil.rmtree(cluster.root, ignore_errors=True)  # this run's own directory (its name has our pid)


def audit_events(cluster: scale.ScaleCluster, offset: int) -> list[dict[str, Any]]:
    with cluster.audit_log.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    return [e for e in events if e.get("user", {}).get("username") == USER and e.get("stage") == "ResponseComplete"]


def item_counts(cluster: scale.ScaleCluster) -> dict[str, int]:
    """Items of each list kplanediag reads, counted as the admin."""
    counts = {}
    for call in LISTS:
        body = json.loads(labctl.kubectl(cluster, "get", "--raw", call.path).stdout)
        counts[call.path] = len(body.get("items") or [])
    return counts


def one_check(cluster: scale.ScaleCluster, reader: Path, nodes: int) -> Cost:
    scale.scale_nodes(cluster, nodes)
    pods = nodes * PODS_PER_NODE
    scale.scale_pods(cluster, pods, per_deployment=PODS_PER_NODE)
    items = item_counts(cluster)
    offset = cluster.audit_log.stat().st_size if cluster.audit_log.exists() else 0
    proc = subprocess.run(
        [sys.executable, "-m", "kplanediag", "check", "-o", "json", "--kubeconfig", str(reader)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode in (0, 1, 2), f"exit {proc.returncode}: {proc.stderr}"
    events = audit_events(cluster, offset)
    for _ in range(10):  # the log backend writes before it answers; allow for a slow disk anyway
        time.sleep(0.2)
        again = audit_events(cluster, offset)
        if len(again) == len(events):
            break
        events = again
    requests: Counter[tuple[str, str]] = Counter()
    codes: Counter[int] = Counter()
    limits: dict[str, int] = {}
    queries: dict[str, str] = {}
    for event in events:
        uri = urlsplit(event["requestURI"])
        requests[(event["verb"], uri.path)] += 1
        codes[event.get("responseStatus", {}).get("code", 0)] += 1
        limit = parse_qs(uri.query).get("limit")
        if event["verb"] == "list" and "continue" not in uri.query:
            queries[uri.path] = uri.query
        if event["verb"] == "list" and limit:
            limits[uri.path] = int(limit[0])
    expected = {path: max(1, math.ceil(n / limits[path])) if limits.get(path) else 1 for path, n in items.items()}
    cost = Cost(nodes, pods, requests, codes, expected, items, queries)
    print(cost.describe())
    return cost


def test_one_check_makes_only_reads_and_grows_only_by_list_pages(
    cost_cluster: tuple[scale.ScaleCluster, Path],
) -> None:
    cluster, reader = cost_cluster
    small = one_check(cluster, reader, SMALL_NODES)
    big = one_check(cluster, reader, SMALL_NODES * 10)
    both = f"\n{small.describe()}\n{big.describe()}"

    for cost in (small, big):
        assert cost.total, f"no request of {USER} in the audit log{both}"
        verbs = {verb for verb, _ in cost.requests}
        assert verbs <= READS, f"requests other than get/list: {sorted(verbs - READS)}{both}"
        assert set(cost.codes) == {200}, f"answers other than 200: {dict(cost.codes)}{both}"
        assert cost.lists() == cost.expected_pages, (
            f"list requests are not one per page of each list (expected {cost.expected_pages}){both}"
        )

    assert big.others() == small.others(), f"the non-list requests changed with the cluster's size{both}"
    growth = sum(big.expected_pages.values()) - sum(small.expected_pages.values())
    assert big.total - small.total == growth, f"the count grew by more than the extra list pages ({growth}){both}"
    if growth == 0:
        assert big.total == small.total, both


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1.0


def test_serve_lists_once_then_watches(cost_cluster: tuple[scale.ScaleCluster, Path]) -> None:
    """serve's steady state costs what changes: each unbounded list is one streaming watch (its
    current objects, then its changes: no list request at all); checks list only the bounded events
    reads. A node added meanwhile is in the report."""
    import urllib.request  # noqa: PLC0415

    cluster, reader = cost_cluster
    scale.scale_nodes(cluster, SMALL_NODES)
    scale.scale_pods(cluster, SMALL_NODES * PODS_PER_NODE, per_deployment=PODS_PER_NODE)
    offset = cluster.audit_log.stat().st_size if cluster.audit_log.exists() else 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--kubeconfig", str(reader), "--interval", "1s", "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen([sys.executable, "-m", "kplanediag", *args], stderr=subprocess.PIPE, text=True)
    try:

        def checks() -> float:
            try:
                with urllib.request.urlopen(base + "/metrics", timeout=5) as answer:
                    return metric(answer.read().decode(), "kplanediag_checks_total")
            except OSError:
                return -1.0

        end = time.monotonic() + 60
        while checks() < 2 and time.monotonic() < end:
            time.sleep(0.3)
        scale.scale_nodes(cluster, SMALL_NODES + 1)  # seen through the watches only
        first = checks()
        while checks() < first + 3 and time.monotonic() < end:
            time.sleep(0.3)
        with urllib.request.urlopen(base + "/report.json", timeout=5) as answer:
            report = json.loads(answer.read())
        with urllib.request.urlopen(base + "/readyz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert checks() == -1.0  # it has ended
    events = audit_events(cluster, offset)
    for _ in range(20):  # a watch is logged as complete when its connection has closed
        time.sleep(0.3)
        again = audit_events(cluster, offset)
        if len(again) == len(events):
            break
        events = again
    requests: Counter[tuple[str, str]] = Counter()
    for event in events:
        requests[(event["verb"], urlsplit(event["requestURI"]).path)] += 1
    seen = "\n".join(f"  {n:3d}  {verb:5s}  {path}" for (verb, path), n in sorted(requests.items()))
    assert {verb for verb, _ in requests} <= {"get", "list", "watch"}, seen
    for call in LISTS:
        listed = requests[("list", call.path)]
        if call.watched:  # a streaming list (v1.32 and later), then its changes: never a list request
            assert listed == 0, f"{call.path} listed {listed} times\n{seen}\n{stderr}"
            assert requests[("watch", call.path)] >= 1, f"{call.path} not watched\n{seen}"
        else:  # a bounded read: each check's own
            assert listed >= 4, f"{call.path} listed {listed} times in 4 or more checks\n{seen}"
    summary = json.dumps(report["summary"])
    assert f"({SMALL_NODES + 1} nodes)" in summary, summary
