"""The e2e cluster: the lab cluster (default) or a kind cluster (KPLANEDIAG_E2E_TARGET=kind).

KPLANEDIAG_E2E_KUBECONFIG names its (admin) kubeconfig (make test sets it). Without a reachable
cluster the tests skip with one reason locally, and fail loudly in CI (CI=true).

kplanediag itself never runs with that kubeconfig: the session applies deploy/rbac.yaml and every
kplanediag invocation (``Cluster.kplanediag``) runs as its ServiceAccount ``kplanediag/kplanediag``,
with a kubeconfig holding only the server, the CA and a token minted for it, on both targets. Fault
helpers, kubectl and the official client (``Cluster.api``) keep the admin kubeconfig. On the lab the
API server's audit log records that identity's every request (tests/e2e/test_read_only.py).

KPLANEDIAG_E2E_TARGET=k3s is the k3s-shaped lab (``python -m lab.labctl --flavour k3s``, make
e2e-k3s): only tests/e2e/test_k3s_lab.py runs there; every other test skips, saying why.
KPLANEDIAG_E2E_TARGET=kind-ha is the highly available kind cluster (kind-ha-config.yaml, make
e2e-kind-ha): likewise, only tests/e2e/test_kind_ha.py runs there.
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
    target: str  # "lab" | "k3s" | "kind" | "kind-ha"
    kubeconfig: Path  # admin: fault helpers, kubectl, ``api``
    api: client.ApiClient
    reader: Path  # kplanediag's own: deploy/rbac.yaml's ServiceAccount, a token, nothing else
    audit_mark: int | None = None  # lab: the audit log's size when the session first used the cluster

    def kplanediag(
        self, *args: str, timeout: float = 60, kubeconfig: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real CLI against this cluster, as kplanediag's ServiceAccount unless told otherwise."""
        return subprocess.run(
            [sys.executable, "-m", "kplanediag", *args, "--kubeconfig", str(kubeconfig or self.reader)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def report(self, command: str = "check", *extra: str, kubeconfig: Path | None = None) -> tuple[int, dict[str, Any]]:
        proc = self.kplanediag(command, "-o", "json", *extra, kubeconfig=kubeconfig)
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


@pytest.fixture(scope="session", autouse=True)
def installed_copy() -> None:
    """KPLANEDIAG_INSTALLED=1 (make install-check, E2E_FROM=wheel): this process's ``kplanediag`` and
    every ``python -m kplanediag`` it starts must be the installed wheel's, never the source tree's."""
    if os.environ.get("KPLANEDIAG_INSTALLED") != "1":
        return
    import kplanediag  # noqa: PLC0415

    source = Path(__file__).resolve().parents[2] / "kplanediag"
    probe = subprocess.run(
        [sys.executable, "-c", "import kplanediag; print(kplanediag.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for where, path in (("pytest", kplanediag.__file__ or ""), ("a subprocess", probe.stdout.strip())):
        resolved = Path(path).resolve()
        if source in resolved.parents or Path(sys.prefix).resolve() not in resolved.parents:
            pytest.exit(f"KPLANEDIAG_INSTALLED=1 but {where} imports kplanediag from {path}", returncode=3)


def fail_or_skip(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"e2e cluster unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"no e2e cluster: {reason} (run `make test` or `make cluster-up`)")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    target = os.environ.get("KPLANEDIAG_E2E_TARGET", "lab")
    lab = labctl.default_lab("k3s" if target == "k3s" else "kubeadm")
    path = Path(os.environ.get("KPLANEDIAG_E2E_KUBECONFIG") or lab.kubeconfig)
    if not path.exists():
        fail_or_skip(f"kubeconfig {path} does not exist")
    try:
        api = config.new_client_from_config(config_file=str(path), persist_config=False)
        client.VersionApi(api).get_code(_request_timeout=5)
    except Exception as exc:  # any failure here means "no usable cluster", said once
        fail_or_skip(f"{path} does not answer: {type(exc).__name__}: {exc}")
    mark = None
    if target == "lab" and lab.audit_log.exists():  # test_read_only.py fails without one
        mark = lab.audit_log.stat().st_size
    # kubectl from the lab's pinned binaries (make kind-up builds them too) and the admin kubeconfig
    reader = labctl.reader_kubeconfig(lab, tmp_path_factory.mktemp("identity") / "kubeconfig", admin=path)
    try:
        yield Cluster(target, path, api, reader, mark)
    finally:
        reader.unlink(missing_ok=True)  # its token is valid for 2 h; pytest keeps old temporary dirs


@pytest.fixture
def lab(cluster: Cluster) -> Iterator[labctl.Lab]:
    """The lab's fault helpers; restores the cluster before and after the test."""
    if cluster.target != "lab":
        pytest.skip(
            "this fault is injected with the lab cluster's helpers (kind has its own: test_kind_faults.py;"
            " the k3s-shaped lab: test_k3s_lab.py)"
        )
    lab = labctl.default_lab()
    labctl.restore_all(lab)
    yield lab
    labctl.restore_all(lab)
    labctl.kubectl(lab, "delete", "pod", "-n", "shop", "-l", "e2e=pending", "--ignore-not-found", "--wait=false")


@pytest.fixture(autouse=True)
def k3s_lab_runs_its_own_tests(request: pytest.FixtureRequest) -> None:
    if os.environ.get("KPLANEDIAG_E2E_TARGET") == "k3s" and request.node.path.name != "test_k3s_lab.py":
        pytest.skip(
            "lab-only test: it expects the kubeadm-shaped lab (static pods, leader Leases, lab/seed);"
            " the k3s-shaped lab runs tests/e2e/test_k3s_lab.py"
        )


@pytest.fixture(autouse=True)
def kind_ha_runs_its_own_tests(request: pytest.FixtureRequest) -> None:
    if os.environ.get("KPLANEDIAG_E2E_TARGET") == "kind-ha" and request.node.path.name != "test_kind_ha.py":
        pytest.skip(
            "written for the lab or the single-control-plane kind cluster (its nodes, names and faults);"
            " the HA kind cluster runs tests/e2e/test_kind_ha.py"
        )


@pytest.fixture
def kind(cluster: Cluster) -> Iterator[kindctl.Kind]:
    """The kind cluster's data-plane fault helpers; restores the cluster before and after the test."""
    if cluster.target != "kind":
        pytest.skip("data-plane faults run inside kind node containers (make e2e-kind)")
    kind = kindctl.default_kind(cluster.kubeconfig)
    kindctl.restore(kind)
    yield kind
    kindctl.restore(kind)
