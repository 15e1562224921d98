"""The CLI as CI pipelines and kubectl users drive it, against the real lab cluster: ``wait`` while
a fault heals (a silenced node, the API server restarting), ``kubectl planediag`` as a kubectl
plugin, and the report in Markdown. ``-s`` prints the outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lab import labctl
from tests.e2e.conftest import Cluster

pytestmark = pytest.mark.timeout(400)
NODE = "kplanediag-worker"


def start_wait(cluster: Cluster, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kplanediag", "wait", "--for", "healthy", "--interval", "2s", *extra,
         "--kubeconfig", str(cluster.reader)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    print(f"\n===== kplanediag wait (exit {proc.returncode}) =====\n{err}")
    return proc.returncode, out, err


def test_wait_holds_while_a_node_is_silent_and_returns_when_it_heals(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.silence_node(lab, NODE)
    cluster.wait_report("the silenced node failing", lambda d: d["summary"]["status"] == "critical", 60)
    proc = start_wait(cluster, "--timeout", "240s")
    try:
        time.sleep(6)
        assert proc.poll() is None, "wait returned while the node was still silent"
        labctl.restore_all(lab)
        code, out, err = finish(proc, 200)
    finally:
        proc.kill()
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("kplanediag wait: check ")]
    assert len(lines) >= 2 and "waiting for the cluster to be healthy" in lines[0] and lines[-1].endswith("(done)")
    assert out.startswith("HEALTHY")


def test_wait_times_out_with_the_last_checks_code(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.silence_node(lab, NODE)
    cluster.wait_report("the silenced node failing", lambda d: d["summary"]["status"] == "critical", 60)
    start = time.monotonic()
    code, _, err = finish(start_wait(cluster, "--timeout", "8s"), 60)
    assert code == 2 and "not healthy after" in err
    assert time.monotonic() - start < 8 + 35  # the last check is cut to end by the timeout


def test_wait_sees_the_api_server_come_back(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.stop_component(lab, "kube-apiserver")
    proc = start_wait(cluster, "--timeout", "240s", "--request-timeout", "2")
    try:
        time.sleep(5)
        assert proc.poll() is None, "wait returned while the API server was down"
        labctl.start_component(lab, "kube-apiserver")
        labctl.restore_all(lab)
        code, _, err = finish(proc, 200)
    finally:
        proc.kill()
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("kplanediag wait: check ")]
    assert "CRITICAL" in lines[0] and "waiting for the cluster" in lines[0], lines[0]  # the API server down
    assert lines[-1].endswith("(done)")


@pytest.fixture
def plugin_path(tmp_path: Path) -> str:
    """PATH with the lab's kubectl and the installed ``kubectl-planediag`` (pyproject's scripts)."""
    script = Path(sys.executable).parent / "kubectl-planediag"
    if not script.exists():
        pytest.fail(f"{script} missing: the package's kubectl-planediag entry point is not installed")
    lab = labctl.default_lab()
    return os.pathsep.join([str(lab.bin), str(script.parent), os.environ.get("PATH", "")])


def test_kubectl_planediag_runs_as_a_kubectl_plugin(cluster: Cluster, plugin_path: str) -> None:
    if cluster.target != "lab":
        pytest.skip("uses the lab's kubectl")
    labctl.restore_all(labctl.default_lab())
    kubectl = shutil.which("kubectl", path=plugin_path)
    assert kubectl is not None
    listed = subprocess.run(
        [kubectl, "plugin", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": plugin_path},
        check=False,
    )
    assert "kubectl-planediag" in listed.stdout, listed.stdout + listed.stderr
    proc = subprocess.run(
        [kubectl, "planediag", "--kubeconfig", str(cluster.reader), "check", "-o", "markdown"],
        capture_output=True, text=True, env={**os.environ, "PATH": plugin_path}, timeout=90, check=False,
    )  # fmt: skip
    print(f"\n===== kubectl planediag check -o markdown (exit {proc.returncode}) =====\n{proc.stdout}{proc.stderr}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("## kplanediag: HEALTHY") and "### Control plane" in proc.stdout


def fleet_kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    """The reader's kubeconfig with a second context whose token the API server rejects."""

    doc = yaml.safe_load(cluster.reader.read_text())
    good = doc["contexts"][0]
    doc["current-context"] = good["name"]
    doc["users"].append({"name": "rejected", "user": {"token": "kpd-e2e-not-a-token"}})
    doc["contexts"].append({"name": "rejected", "context": {**good["context"], "user": "rejected"}})
    path = tmp_path / "fleet-kubeconfig"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_fleet_with_a_broken_context_reports_the_healthy_one_in_full(
    cluster: Cluster, lab: labctl.Lab, tmp_path: Path
) -> None:
    config = fleet_kubeconfig(cluster, tmp_path)
    proc = cluster.kplanediag("check", "--all-contexts", "-o", "json", kubeconfig=config)
    docs = {d["context"]: d for d in json.loads(proc.stdout)}
    good = next(name for name in docs if name != "rejected")
    assert docs[good]["summary"]["status"] == "healthy" and docs[good]["gaps"] == []
    assert docs[good]["components"] and docs["rejected"]["error"]["class"] == "authentication"
    assert proc.returncode == 3  # the worst: one cluster could not be assessed
    table = cluster.kplanediag("--context", good, "--context", "rejected", "check", kubeconfig=config)
    print(f"\n===== fleet (exit {table.returncode}) =====\n{table.stdout.split('######## fleet')[-1]}")
    assert "######## fleet: 2 cluster(s)" in table.stdout and "HEALTHY" in table.stdout
