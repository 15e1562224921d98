"""The HA kind cluster's state: its control-plane nodes, leader Leases, in-node readiness, whole or not."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime

from lab import kindctl
from lab.kindctl import Kind
from lab.labctl import LabError, log, wait_for

LEADER_LEASES = ("kube-scheduler", "kube-controller-manager")
# etcd's own readiness (kubeadm's --listen-metrics-urls): /readyz includes a linearizable read
ETCD_READYZ = "exec 3<>/dev/tcp/127.0.0.1/2381 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"


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
