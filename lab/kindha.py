"""Control-plane faults on the highly available kind cluster (make kind-ha-up), injected for real, each
undone on exit once the cluster is whole again (``whole``): node containers paused, a static pod stopped."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from lab import kindctl
from lab.kindctl import Kind
from lab.kindha_state import (
    control_planes,
    lease_holder,
    state,
    status,
    wait_leader_moved,
    wait_whole,
    whole,
)
from lab.labctl import LabError, cache_root, log

# the state functions the e2e tests reach through this module
__all__ = [
    "control_planes",
    "default_kind_ha",
    "lease_holder",
    "paused",
    "restore",
    "static_pod_stopped",
    "wait_leader_moved",
]

NAME = "kplanediag-ha"
MANIFESTS = "/etc/kubernetes/manifests"
HELD = "/etc/kubernetes/kplanediag-held"  # manifests moved out of MANIFESTS by stop_static_pod


def default_kind_ha(kubeconfig: Path | None = None) -> Kind:
    """The HA cluster on the engine lab/kind.sh recorded (the same one as the single-node cluster's)."""
    base = kindctl.default_kind()
    return Kind(kubeconfig or cache_root() / "kind-ha" / "kubeconfig", base.docker_host, NAME)


# --- faults ---------------------------------------------------------------------------------------


def pause(kind: Kind, node: str) -> None:
    """``docker pause``: that node's kubelet, etcd member, API server, scheduler and controller manager at once."""
    kind.docker("pause", node)
    log(f"paused node container {node}")


def unpause(kind: Kind, node: str) -> bool:
    """Unpause ``node`` if it is paused; whether it was."""
    if state(kind, node) != "paused":
        return False
    kind.docker("unpause", node)
    log(f"unpaused node container {node}")
    return True


def running_containers(kind: Kind, node: str, component: str) -> list[str]:
    """Running containerd tasks of ``component``'s image on ``node`` (the node image has ctr, no crictl)."""
    listing = kind.node_exec(node, "ctr", "-n", "k8s.io", "containers", "ls").stdout.splitlines()
    ids = {line.split()[0] for line in listing if f"/{component}:" in line}
    tasks = kind.node_exec(node, "ctr", "-n", "k8s.io", "tasks", "ls").stdout.splitlines()
    return [t.split()[0] for t in tasks if t.split()[:1] and t.split()[0] in ids and "RUNNING" in t]


def stop_static_pod(kind: Kind, node: str, component: str = "kube-apiserver", timeout: float = 90) -> None:
    """Move ``component``'s manifest out of the kubelet's static pod directory, so that the kubelet does
    not start it again, and SIGKILL its container (the kubelet's own graceful stop takes 30 s)."""
    kind.node_exec(node, "mkdir", "-p", HELD)
    kind.node_exec(node, "mv", f"{MANIFESTS}/{component}.yaml", f"{HELD}/{component}.yaml")
    log(f"moved {component}'s manifest out of {MANIFESTS} on {node}")
    for cid in running_containers(kind, node, component):
        kind.node_exec(node, "ctr", "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", cid, check=False)
    deadline = time.monotonic() + timeout
    while running_containers(kind, node, component):
        if time.monotonic() > deadline:
            raise LabError(f"{component} on {node} still runs {timeout:.0f}s after its manifest was removed")
        time.sleep(1)
    log(f"{component} on {node} stopped")


def start_static_pod(kind: Kind, node: str, component: str = "kube-apiserver") -> bool:
    """Move ``component``'s manifest back if stop_static_pod held it; whether it did."""
    proc = kind.node_exec(node, "test", "-f", f"{HELD}/{component}.yaml", check=False)
    if proc.returncode != 0:
        return False
    kind.node_exec(node, "mv", f"{HELD}/{component}.yaml", f"{MANIFESTS}/{component}.yaml")
    log(f"moved {component}'s manifest back into {MANIFESTS} on {node}")
    return True


@contextmanager
def paused(kind: Kind, *nodes: str, timeout: float = 300) -> Iterator[None]:
    """Nodes paused for the block; unpaused after it, then wait for quorum and a whole cluster."""
    try:
        for node in nodes:
            pause(kind, node)
        yield
    finally:
        for node in nodes:
            unpause(kind, node)
        wait_whole(kind, timeout)


@contextmanager
def static_pod_stopped(
    kind: Kind, node: str, component: str = "kube-apiserver", timeout: float = 300
) -> Iterator[None]:
    """``component``'s static pod stopped on ``node`` for the block; started again after it."""
    try:
        stop_static_pod(kind, node, component)
        yield
    finally:
        start_static_pod(kind, node, component)
        wait_whole(kind, timeout)


def restore(kind: Kind, timeout: float = 300) -> float:
    """Undo every fault an interrupted run may have left (paused nodes, held manifests), then wait
    for a whole cluster; when nothing was left and the cluster is whole already, one check."""
    cps = control_planes(kind)
    if not cps:
        raise LabError(f"no control-plane node containers of kind cluster {kind.name} (make kind-ha-up)")
    undone = [node for node in cps if unpause(kind, node)]
    for node in cps:
        held = kind.node_exec(node, "sh", "-c", f"ls {HELD} 2>/dev/null || true").stdout.split()
        undone += [node for manifest in held if start_static_pod(kind, node, manifest.removesuffix(".yaml"))]
    if not undone:
        try:
            if whole(kind):
                return 0.0
        except (LabError, subprocess.TimeoutExpired):
            pass
    return wait_whole(kind, timeout)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    kind = default_kind_ha()
    try:
        match args:
            case ["pause", *nodes] if nodes:
                for node in nodes:
                    pause(kind, node)
            case ["unpause", *nodes] if nodes:
                for node in nodes:
                    unpause(kind, node)
            case ["leader"] | ["leader", _]:
                print(lease_holder(kind, *args[1:]))
            case ["stop", component, node]:
                stop_static_pod(kind, node, component)
            case ["start", component, node]:
                start_static_pod(kind, node, component)
            case ["status"]:
                print(status(kind))
            case ["restore"]:
                restore(kind)
            case _:
                print(
                    "usage: python -m lab.kindha pause NODE... | unpause NODE... | leader [LEASE]"
                    " | stop COMPONENT NODE | start COMPONENT NODE | status | restore",
                    file=sys.stderr,
                )
                return 2
    except LabError as exc:
        print(f"[kind-ha] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
