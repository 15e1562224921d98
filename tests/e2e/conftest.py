"""The e2e cluster: the lab cluster (default) or a kind cluster (KPLANEDIAG_E2E_TARGET=kind).

KPLANEDIAG_E2E_KUBECONFIG names its kubeconfig (make test sets it). Without a reachable cluster the
tests skip with one reason locally, and fail loudly in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from lab import kindctl, labctl


@dataclass(frozen=True)
class Cluster:
    target: str  # "lab" | "kind"
    kubeconfig: Path
    api: client.ApiClient

    def kplanediag(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the real CLI against this cluster."""
        return subprocess.run(
            [sys.executable, "-m", "kplanediag", *args, "--kubeconfig", str(self.kubeconfig)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def report(self, command: str = "check", *extra: str) -> tuple[int, dict[str, Any]]:
        proc = self.kplanediag(command, "-o", "json", *extra)
        assert proc.returncode in (0, 1, 2), f"exit {proc.returncode}: {proc.stderr}"
        doc = json.loads(proc.stdout)
        assert isinstance(doc, dict)
        return proc.returncode, doc

    def wait_report(
        self, what: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 90
    ) -> dict[str, Any]:
        """Poll `kplanediag check -o json` until ``predicate`` holds; fail with the last report."""
        deadline = time.monotonic() + timeout
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            _, doc = self.report()
            if predicate(doc):
                return doc
            time.sleep(1)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last summary: {doc.get('summary')}")


def fail_or_skip(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"e2e cluster unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"no e2e cluster: {reason} (run `make test` or `make cluster-up`)")


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    target = os.environ.get("KPLANEDIAG_E2E_TARGET", "lab")
    path = Path(os.environ.get("KPLANEDIAG_E2E_KUBECONFIG") or labctl.default_lab().kubeconfig)
    if not path.exists():
        fail_or_skip(f"kubeconfig {path} does not exist")
    try:
        api = config.new_client_from_config(config_file=str(path), persist_config=False)
        client.VersionApi(api).get_code(_request_timeout=5)
    except Exception as exc:  # any failure here means "no usable cluster", said once
        fail_or_skip(f"{path} does not answer: {type(exc).__name__}: {exc}")
    return Cluster(target, path, api)


@pytest.fixture
def lab(cluster: Cluster) -> Iterator[labctl.Lab]:
    """The lab's fault helpers; restores the cluster before and after the test."""
    if cluster.target != "lab":
        pytest.skip("this fault is injected with the lab cluster's helpers (kind has its own: test_kind_faults.py)")
    lab = labctl.default_lab()
    labctl.restore_all(lab)
    yield lab
    labctl.restore_all(lab)
    labctl.kubectl(lab, "delete", "pod", "-n", "shop", "-l", "e2e=pending", "--ignore-not-found", "--wait=false")


@pytest.fixture
def kind(cluster: Cluster) -> Iterator[kindctl.Kind]:
    """The kind cluster's data-plane fault helpers; restores the cluster before and after the test."""
    if cluster.target != "kind":
        pytest.skip("data-plane faults run inside kind node containers (make e2e-kind)")
    kind = kindctl.default_kind(cluster.kubeconfig)
    kindctl.restore(kind)
    yield kind
    kindctl.restore(kind)
