"""kplanediag inside a pod: in-cluster configuration, with exactly the files and environment a pod has.

A pod gets its ServiceAccount's token, the cluster CA and its namespace in
/var/run/secrets/kubernetes.io/serviceaccount/, the ``KUBERNETES_SERVICE_*`` and ``KUBERNETES_PORT*``
variables, and no kubeconfig. The test gives kplanediag just that, without touching this machine:
it runs in a private mount namespace (``unshare --mount --propagation private``) where a tmpfs is
mounted on /run (/var/run is a symlink to it; ``mount -n`` writes no /run/mount/utab on the host),
the three files are written into that tmpfs (the token through stdin, never on disk), and the
command runs with an empty environment but those variables, PATH and a HOME without ``.kube``. The
API server is the cluster's (127.0.0.1 and its port; the lab's serving certificate names 127.0.0.1
as an IP SAN, as kind's does), the token that of deploy/rbac.yaml's ServiceAccount (conftest.py).

A control, in the same sandbox without the token, must fail to assess (exit 3): nothing else on
the machine can have lent kplanediag credentials.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lab import labctl
from tests.e2e.conftest import Cluster

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SCRIPT = r"""
set -eu
mount -n -t tmpfs -o mode=0755 tmpfs "$RUN"
mkdir -p "$SA_DIR"
cp "$CA" "$SA_DIR/ca.crt"
printf %s "$SA_NAMESPACE" > "$SA_DIR/namespace"
if [ "$WITH_TOKEN" = 1 ]; then cat > "$SA_DIR/token"; fi
unset CA SA_NAMESPACE WITH_TOKEN RUN SA_DIR
exec env -i PATH="$PATH" HOME="$POD_HOME" $POD_ENV "$@" </dev/null
"""


def pod_environment(host: str, port: int) -> dict[str, str]:
    """The variables the kubelet gives every pod for the ``kubernetes`` Service."""
    return {
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": str(port),
        "KUBERNETES_SERVICE_PORT_HTTPS": str(port),
        "KUBERNETES_PORT": f"tcp://{host}:{port}",
        f"KUBERNETES_PORT_{port}_TCP": f"tcp://{host}:{port}",
        f"KUBERNETES_PORT_{port}_TCP_PROTO": "tcp",
        f"KUBERNETES_PORT_{port}_TCP_PORT": str(port),
        f"KUBERNETES_PORT_{port}_TCP_ADDR": host,
    }


def in_pod(cluster: Cluster, tmp_path: Path, with_token: bool = True) -> subprocess.CompletedProcess[str]:
    """``kplanediag check -o json`` with a pod's files and environment, nothing else."""
    config: dict[str, Any] = yaml.safe_load(cluster.reader.read_text())
    entry = config["clusters"][0]["cluster"]
    server = urlsplit(entry["server"])
    assert server.scheme == "https" and server.hostname and server.port, entry["server"]
    ca = tmp_path / "ca.crt"  # not secret; the token is
    if "certificate-authority-data" in entry:
        ca.write_bytes(base64.b64decode(entry["certificate-authority-data"]))
    else:
        shutil.copyfile(entry["certificate-authority"], ca)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    pod_env = " ".join(f"{k}={v}" for k, v in pod_environment(server.hostname, server.port).items())
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "RUN": os.path.realpath(Path(SA_DIR).parents[2]),  # /var/run -> /run: the tmpfs covers both
        "SA_DIR": SA_DIR,
        "CA": str(ca),
        "SA_NAMESPACE": labctl.READER_NAMESPACE,
        "WITH_TOKEN": "1" if with_token else "0",
        "POD_HOME": str(home),
        "POD_ENV": pod_env,
    }
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", SCRIPT, "sh"]
    return subprocess.run(
        [*command, sys.executable, "-m", "kplanediag", "check", "-o", "json"],
        input=str(config["users"][0]["user"]["token"]) if with_token else "",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def sandbox(cluster: Cluster) -> Cluster:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to give kplanediag a pod's files without a pod")
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.fail(f"no private mount namespace here (root with CAP_SYS_ADMIN is needed): {probe.stderr.strip()}")
    if cluster.target == "lab":
        labctl.restore_all(labctl.default_lab())
    return cluster


def test_in_cluster_configuration_gives_a_complete_report(sandbox: Cluster, tmp_path: Path) -> None:
    proc = in_pod(sandbox, tmp_path)
    assert proc.returncode in (0, 1, 2) and "Traceback" not in proc.stderr, f"exit {proc.returncode}: {proc.stderr}"
    doc = json.loads(proc.stdout)
    assert doc["gaps"] == [], doc["gaps"]
    assert doc["cluster"]["server"] == yaml.safe_load(sandbox.reader.read_text())["clusters"][0]["cluster"]["server"]
    if sandbox.target == "lab":
        assert proc.returncode == 0, doc["summary"]
        assert doc["summary"]["status"] == "healthy", doc["summary"]
        assert doc["cluster"]["controlPlaneMode"] == "self-hosted"
        assert len([c for c in doc["components"] if c["name"] == "kubelet"]) == 3
    names = {c["name"] for c in doc["components"]}
    assert {"kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "kubelet", "coredns"} <= names
    print(f"in-cluster: exit {proc.returncode}, {doc['summary']['text']}")


def test_without_the_token_nothing_else_lends_credentials(sandbox: Cluster, tmp_path: Path) -> None:
    proc = in_pod(sandbox, tmp_path, with_token=False)
    assert proc.returncode == 3, f"exit {proc.returncode}: {proc.stdout} {proc.stderr}"
    error = json.loads(proc.stdout)["error"]
    assert "in-cluster" in json.dumps(error), error
    assert "Traceback" not in proc.stderr, proc.stderr
