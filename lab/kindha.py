"""Control-plane faults on the highly available kind cluster (make kind-ha-up), injected for real, each
undone on exit once the cluster is whole again (``whole``): node containers paused, a static pod stopped."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from lab import kindctl
from lab.kindctl import Kind
from lab.labctl import LabError, cache_root, log, wait_for

NAME = "kplanediag-ha"
MANIFESTS = "/etc/kubernetes/manifests"
HELD = "/etc/kubernetes/kplanediag-held"  # manifests moved out of MANIFESTS by stop_static_pod
LEADER_LEASES = ("kube-scheduler", "kube-controller-manager")
# etcd's own readiness (kubeadm's --listen-metrics-urls): /readyz includes a linearizable read
ETCD_READYZ = "exec 3<>/dev/tcp/127.0.0.1/2381 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"


def default_kind_ha(kubeconfig: Path | None = None) -> Kind:
    """The HA cluster on the engine lab/kind.sh recorded (the same one as the single-node cluster's)."""
    base = kindctl.default_kind()
    return Kind(kubeconfig or cache_root() / "kind-ha" / "kubeconfig", base.docker_host, NAME)


def control_planes(kind: Kind) -> list[str]:
    return kindctl.nodes(kind, "control-plane")


def state(kind: Kind, node: str) -> str:
    """Docker's state of a node container: running, paused, exited..."""
    return kind.docker("inspect", "-f", "{{.State.Status}}", node).stdout.strip()


def kubectl_json(kind: Kind, *args: str) -> dict[str, object]:
    proc = kind.kubectl("--request-timeout=10s", *args, "-o", "json")
    if proc.returncode != 0:
        raise LabError(f"kubectl {' '.join(args)}: {proc.stderr.strip()[-300:]}")
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


# --- leaders --------------------------------------------------------------------------------------


def lease(kind: Kind, name: str) -> dict[str, object]:
    spec = kubectl_json(kind, "-n", "kube-system", "get", "lease", name).get("spec")
    return spec if isinstance(spec, dict) else {}


def lease_holder(kind: Kind, name: str = "kube-scheduler") -> str:
    """The node whose instance holds leader Lease ``name`` (holderIdentity is ``<node>_<uuid>``)."""
    holder = str(lease(kind, name).get("holderIdentity") or "")
    if not holder:
        raise LabError(f"Lease kube-system/{name} has no holder")
    return holder.rsplit("_", 1)[0]


def lease_fresh(kind: Kind, name: str) -> bool:
    spec = lease(kind, name)
    renewed, duration = spec.get("renewTime"), spec.get("leaseDurationSeconds")
    if not spec.get("holderIdentity") or not isinstance(renewed, str) or not isinstance(duration, int):
        return False
    age = (datetime.now(UTC) - datetime.fromisoformat(renewed.replace("Z", "+00:00"))).total_seconds()
    return age < duration


def wait_leader_moved(kind: Kind, name: str, away_from: str, timeout: float = 120) -> str:
    """Wait until another node's instance holds Lease ``name`` (and keeps renewing it); its node."""
    wait_for(
        f"Lease kube-system/{name} to move away from {away_from}",
        lambda: lease_holder(kind, name) != away_from and lease_fresh(kind, name),
        timeout,
        1,
    )
    new = lease_holder(kind, name)
    log(f"Lease kube-system/{name}: {away_from} -> {new}")
    return new


# --- health, seen from inside the nodes (not through the load balancer) --------------------------


def etcd_ready(kind: Kind, node: str) -> bool:
    proc = kind.docker("exec", node, "timeout", "10", "bash", "-c", ETCD_READYZ, check=False, timeout=20)
    return proc.returncode == 0 and proc.stdout.startswith("HTTP/1.0 200") and proc.stdout.rstrip().endswith("ok")


def apiserver_ready(kind: Kind, node: str) -> bool:
    proc = kind.docker(
        "exec",
        node,
        "kubectl",
        "--kubeconfig=/etc/kubernetes/admin.conf",
        "--server=https://127.0.0.1:6443",
        "--request-timeout=5s",
        "get",
        "--raw=/readyz",
        check=False,
        timeout=20,
    )
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


def quorum(kind: Kind) -> bool:
    """Every control-plane node running and its etcd member ready (a linearizable read answered)."""
    cps = control_planes(kind)
    return bool(cps) and all(state(kind, n) == "running" and etcd_ready(kind, n) for n in cps)


def whole(kind: Kind) -> bool:
    """What the HA tests start from: etcd quorum with every member, every API server ready, nodes and
    running pods Ready, scheduler and controller-manager leaders holding fresh Leases."""
    cps = control_planes(kind)
    return (
        quorum(kind)
        and all(apiserver_ready(kind, n) for n in cps)
        and kindctl.settled(kind)
        and all(lease_fresh(kind, name) for name in LEADER_LEASES)
    )


def wait_whole(kind: Kind, timeout: float = 300, steady: float = 15) -> float:
    """Wait for etcd quorum, then for ``whole`` to hold for ``steady`` seconds on end (an API server
    whose liveness probe failed while quorum was lost is restarted by its kubelet a little later)."""
    took = wait_for("etcd quorum with all members", lambda: quorum(kind), timeout, 1)
    log(f"etcd: all members ready in {took:.0f} s")
    start, since = time.monotonic() - took, None
    while True:
        try:
            ok = whole(kind)
        except (LabError, subprocess.TimeoutExpired):
            ok = False
        now = time.monotonic()
        since = (since or now) if ok else None
        if since is not None and now - since >= steady:
            break
        if now - start > timeout:
            raise LabError(f"timed out after {timeout:.0f}s waiting for the HA cluster to be whole:\n{status(kind)}")
        time.sleep(2)
    log(f"the HA cluster is whole again, steadily for {steady:.0f} s ({now - start:.0f} s)")
    return now - start


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


def status(kind: Kind) -> str:
    lines = []
    for node in control_planes(kind):
        st = state(kind, node)
        lines.append(
            f"{node}: {st}"
            + (f", etcd {'ready' if etcd_ready(kind, node) else 'NOT ready'}" if st == "running" else "")
            + (f", kube-apiserver {'ready' if apiserver_ready(kind, node) else 'NOT ready'}" if st == "running" else "")
        )
    for name in LEADER_LEASES:
        try:
            lines.append(f"Lease {name}: {lease_holder(kind, name)} (fresh: {lease_fresh(kind, name)})")
        except LabError as exc:
            lines.append(f"Lease {name}: {exc}")
    return "\n".join(lines)


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
