"""Data-plane faults on the kind cluster (make kind-up), injected for real inside its node containers;
``restore`` undoes them. Used by tests/e2e/test_kind_faults.py."""

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

# The faults: stop the kubelet or containerd, crash kube-proxy or the CNI agent, pause a whole node, kill a
# static control-plane pod's container, cut a node off from the API server, roll kube-proxy to an image that
# cannot be pulled.
CNI_AGENTS = ("kindnetd", "flanneld")  # the official node image's CNI (kindnet), the offline one's (flannel)
CRASHED = ("kube-proxy", *CNI_AGENTS)  # the processes crash_daemon kills as soon as they start
API_PORT = "6443"  # the API server's port, which every node reaches at the control-plane container
CUT = ("OUTPUT", "-p", "tcp", "--dport", API_PORT, "-m", "comment", "--comment", "kplanediag-e2e-cut", "-j", "DROP")
# an image no registry has (ErrImagePull, ImagePullBackOff); on localhost, so the failing pull leaves
# no node container (nothing listens on its port 443)
MISSING_REPO, MISSING_TAG = "localhost/kplanediag/kube-proxy", "v0.0.0-kplanediag-missing"


def crash_loop(*processes: str) -> str:
    kills = "; ".join(f"pkill -x {process}" for process in processes)
    return f"while true; do {kills}; sleep 0.5; done"


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


def crash_daemon(kind: Kind, node: str, *processes: str) -> None:
    """Kill ``processes`` (of CRASHED) on ``node`` as soon as they start: their pods go into CrashLoopBackOff."""
    if not processes or set(processes) - set(CRASHED):
        raise LabError(f"{processes} are not among {CRASHED} (restore stops only those crash loops)")
    kind.docker("exec", "-d", node, "sh", "-c", crash_loop(*processes))
    they = "they start" if len(processes) > 1 else "it starts"
    log(f"{' and '.join(processes)} on {node} killed as soon as {they}")


def crash_kube_proxy(kind: Kind, node: str) -> None:
    crash_daemon(kind, node, "kube-proxy")


def crash_cni_agent(kind: Kind, node: str) -> None:
    """The CNI agent's DaemonSet pod on ``node`` only (kindnetd on the official node image, flanneld on
    the offline one): the other nodes keep theirs."""
    crash_daemon(kind, node, *CNI_AGENTS)


def cut_from_api_server(kind: Kind, node: str) -> None:
    """Drop ``node``'s outgoing traffic to the API server's port (kubelet, kube-proxy, kindnet on it):
    the node stays up, its heartbeats stop reaching the control plane."""
    for tables in ("iptables", "ip6tables"):  # the control plane's name resolves to both families
        kind.node_exec(node, tables, "-I", *CUT)
    log(f"{node} cut off from the API server (port {API_PORT} dropped, IPv4 and IPv6)")


def heal_cut(kind: Kind, node: str) -> None:
    for tables in ("iptables", "ip6tables"):
        while kind.node_exec(node, tables, "-D", *CUT, check=False).returncode == 0:
            log(f"{node} reaches the API server again ({tables} rule deleted)")


def kube_proxy_image(kind: Kind) -> str:
    proc = kind.kubectl(
        "-n",
        "kube-system",
        "get",
        "daemonset",
        "kube-proxy",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )
    if proc.returncode != 0:
        raise LabError(f"kubectl get daemonset kube-proxy failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def roll_kube_proxy_to_missing_image(kind: Kind) -> str:
    """Set kube-proxy's image to a tag that does not exist: the rollout (maxUnavailable 1) replaces
    one pod, whose image cannot be pulled, and stalls there. Returns the image it set."""
    image = f"{MISSING_REPO}:{MISSING_TAG}"
    proc = kind.kubectl("-n", "kube-system", "set", "image", "daemonset/kube-proxy", f"kube-proxy={image}")
    if proc.returncode != 0:
        raise LabError(f"kubectl set image failed: {proc.stderr.strip()}")
    log(f"kube-proxy rolled to {image}")
    return image


def undo_kube_proxy_rollout(kind: Kind, timeout: float = 180) -> None:
    """``kubectl rollout undo`` while the DaemonSet has the missing image, then wait for it to be ready."""
    if not kube_proxy_image(kind).endswith(":" + MISSING_TAG):
        return
    proc = kind.kubectl("-n", "kube-system", "rollout", "undo", "daemonset/kube-proxy")
    if proc.returncode != 0:
        raise LabError(f"kubectl rollout undo failed: {proc.stderr.strip()}")
    log("kube-proxy rollout undone")
    wait_for(
        "kube-proxy rolled back",
        lambda: (
            kind.kubectl("-n", "kube-system", "rollout", "status", "daemonset/kube-proxy", "--timeout=5s").returncode
            == 0
        ),
        timeout,
        1,
    )


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
    """Undo every fault: unpause nodes, start kubelet and containerd, stop crash loops, reconnect
    nodes to the API server, roll kube-proxy back from the missing image."""
    for node in nodes(kind):
        state = kind.docker("inspect", "-f", "{{.State.Status}}", node).stdout.strip()
        if state == "paused":
            kind.docker("unpause", node)
        for process in CRASHED:
            kind.node_exec(node, "pkill", "-f", f"pkill -x {process}", check=False)
        kind.node_exec(node, "systemctl", "start", "containerd", "kubelet", check=False)
        heal_cut(kind, node)
    undo_kube_proxy_rollout(kind)
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
            case ["crash-cni", node]:
                crash_cni_agent(kind, node)
            case ["cut", node]:
                cut_from_api_server(kind, node)
            case ["kube-proxy-missing-image"]:
                roll_kube_proxy_to_missing_image(kind)
            case ["pause", node]:
                pause_node(kind, node)
            case ["kill", component, node]:
                kill_static_pod(kind, node, component)
            case ["restore"]:
                restore(kind)
            case _:
                print(
                    "usage: python -m lab.kindctl stop kubelet|containerd NODE | crash-kube-proxy NODE | pause NODE"
                    " | kill COMPONENT NODE | crash-cni NODE | cut NODE | kube-proxy-missing-image | restore",
                    file=sys.stderr,
                )
                return 2
    except LabError as exc:
        print(f"[kind] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
