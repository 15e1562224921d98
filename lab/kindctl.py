"""Data-plane faults on the kind cluster (make kind-up), injected for real inside its node
containers: stop the kubelet or containerd, crash kube-proxy, pause a whole node, kill a static
control-plane pod's container. ``restore`` undoes them. Used by tests/e2e/test_kind_faults.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.labctl import LabError, cache_root, log, wait_for

CRASH_LOOP = "while true; do pkill -x kube-proxy; sleep 0.5; done"


@dataclass(frozen=True)
class Kind:
    kubeconfig: Path
    docker_host: str
    name: str = "kplanediag"  # the kind cluster: its node containers carry io.x-k8s.kind.cluster=<name>

    def docker(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        if self.docker_host:
            env["DOCKER_HOST"] = self.docker_host
        binary = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else (shutil.which("docker") or "docker")
        proc = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise LabError(f"docker {' '.join(args[:3])} ... failed: {proc.stderr.strip()[-500:]}")
        return proc

    def node_exec(self, node: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.docker("exec", node, *cmd, check=check)

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        bin_file = cache_root() / "lab" / "bin-dir"
        kubectl = str(Path(bin_file.read_text().strip()) / "kubectl") if bin_file.exists() else "kubectl"
        return subprocess.run(
            [kubectl, "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def default_kind(kubeconfig: Path | None = None) -> Kind:
    root = cache_root() / "kind"
    host_file = root / "docker-host"
    host = host_file.read_text().strip() if host_file.exists() else os.environ.get("DOCKER_HOST", "")
    return Kind(kubeconfig or root / "kubeconfig", host)


def stop_service(kind: Kind, node: str, service: str) -> None:
    kind.node_exec(node, "systemctl", "stop", service)
    log(f"stopped {service} on {node}")


def crash_kube_proxy(kind: Kind, node: str) -> None:
    """Kill kube-proxy on ``node`` as soon as it starts, so its pod goes into CrashLoopBackOff."""
    kind.docker("exec", "-d", node, "sh", "-c", CRASH_LOOP)
    log(f"kube-proxy on {node} is killed as soon as it starts")


def pause_node(kind: Kind, node: str) -> None:
    kind.docker("pause", node)
    log(f"paused node container {node}")


def kill_static_pod(kind: Kind, node: str, component: str) -> None:
    """SIGKILL the container of a static control-plane pod; the kubelet restarts it."""
    listing = kind.node_exec(node, "ctr", "-n", "k8s.io", "containers", "ls").stdout.splitlines()
    ids = [line.split()[0] for line in listing if f"/{component}:" in line]
    if not ids:
        raise LabError(f"no {component} container on {node}")
    for cid in ids:
        kind.node_exec(node, "ctr", "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", cid, check=False)
    log(f"killed {component} container(s) on {node}")


def nodes(kind: Kind, role: str | None = None) -> list[str]:
    """This cluster's node containers (not another kind cluster's on the same engine), by ``role``."""
    label = f"label=io.x-k8s.kind.role={role}" if role else "label=io.x-k8s.kind.role"
    out = kind.docker(
        "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={kind.name}", "--filter", label, "--format", "{{.Names}}"
    ).stdout
    return sorted(out.split())


def settled(kind: Kind) -> bool:
    proc = kind.kubectl("get", "nodes,pods", "-A", "-o", "json")
    if proc.returncode != 0:
        return False
    for obj in json.loads(proc.stdout)["items"]:
        conds = {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}
        if obj["kind"] == "Node" and conds.get("Ready") != "True":
            return False
        if obj["kind"] == "Pod" and obj["status"].get("phase") == "Running" and conds.get("Ready") != "True":
            return False
    return True


def restore(kind: Kind, timeout: float = 240) -> float:
    """Undo every fault: unpause nodes, start kubelet and containerd, stop kube-proxy crash loops."""
    for node in nodes(kind):
        state = kind.docker("inspect", "-f", "{{.State.Status}}", node).stdout.strip()
        if state == "paused":
            kind.docker("unpause", node)
        kind.node_exec(node, "pkill", "-f", "pkill -x kube-proxy", check=False)
        kind.node_exec(node, "systemctl", "start", "containerd", "kubelet", check=False)
    return wait_for("the kind cluster to settle (nodes and running pods ready)", lambda: settled(kind), timeout, 2)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    kind = default_kind()
    try:
        match args:
            case ["stop", service, node] if service in ("kubelet", "containerd"):
                stop_service(kind, node, service)
            case ["crash-kube-proxy", node]:
                crash_kube_proxy(kind, node)
            case ["pause", node]:
                pause_node(kind, node)
            case ["kill", component, node]:
                kill_static_pod(kind, node, component)
            case ["restore"]:
                restore(kind)
            case _:
                print(
                    "usage: python -m lab.kindctl stop kubelet|containerd NODE | crash-kube-proxy NODE | pause NODE"
                    " | kill COMPONENT NODE | restore",
                    file=sys.stderr,
                )
                return 2
    except LabError as exc:
        print(f"[kind] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
