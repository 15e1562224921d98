"""Faults injected into the lab (control-plane processes stopped, nodes silenced, pods not ready), and their undoing."""

from __future__ import annotations

import fcntl
import functools
import json
import os
import signal
import time

from lab.labctl.base import CONTROL_PLANE, ELECTED, NODE_LABEL, Lab, LabError, kubectl, log, wait_for
from lab.labctl.cluster import api_ready, component_pid, start_supervisor
from lab.labctl.settle import component_ready, lease_renewed_since, wait_settled


def stop_component(lab: Lab, component: str, sig: signal.Signals = signal.SIGKILL) -> None:
    """Stop a control-plane process and keep it stopped (the supervisor leaves held components alone).

    SIGKILL leaves a leader Lease with its old holder and a frozen renewTime; SIGTERM makes the
    scheduler and controller-manager release it (empty holder).
    """
    if component not in CONTROL_PLANE:
        raise LabError(f"unknown control-plane component {component!r}: one of {', '.join(CONTROL_PLANE)}")
    (lab.cluster_dir / "held").mkdir(exist_ok=True)
    with open(lab.cluster_dir / "supervisor.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the supervisor's tick takes it too (lab/supervise.py)
        (lab.cluster_dir / "held" / component).touch()
        pid = component_pid(lab, component)
        if pid:
            os.kill(pid, sig)
    if pid:
        wait_for(f"{component} (pid {pid}) to exit", lambda: component_pid(lab, component) is None, 30, 0.2)
    log(f"stopped {component} with {sig.name}")


def start_component(lab: Lab, component: str) -> None:
    """Let the supervisor start a held component again; waits until its process runs."""
    (lab.cluster_dir / "held" / component).unlink(missing_ok=True)
    start_supervisor(lab)
    wait_for(f"{component} to be restarted", lambda: component_pid(lab, component) is not None, 15, 0.2)
    log(f"started {component}")


def silence_node(lab: Lab, node: str) -> None:
    """Stop the node's kubelet heartbeat: kwok stops renewing its Lease and posting its status, so
    the real node lifecycle controller marks it Unknown after the grace period."""
    kubectl(lab, "label", "node", node, f"{NODE_LABEL}-")
    log(f"silenced node {node}")


def restore_node(lab: Lab, node: str) -> None:
    """Resume the node's heartbeat, then re-post its pods as ready, as a returning kubelet does
    (kwok does not: the pods the node lifecycle controller marked not ready would stay so)."""
    kubectl(lab, "label", "--overwrite", "node", node, f"{NODE_LABEL}=kwok")
    wait_for(f"node {node} to be Ready", lambda: node_ready(lab, node), 30)
    reready_pods(lab, node)
    log(f"restored node {node}")


def node_ready(lab: Lab, node: str) -> bool:
    obj = json.loads(kubectl(lab, "get", "node", node, "-o", "json").stdout)
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"].get("conditions", []))


def reready_pods(lab: Lab, node: str | None = None) -> None:
    """Mark every running pod that is not ready (on ``node``, if given) ready again."""
    pods = json.loads(kubectl(lab, "get", "pods", "-A", "-o", "json").stdout)["items"]
    for pod in pods:
        st = pod.get("status", {})
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))
        if st.get("phase") == "Running" and not ready and node in (None, pod["spec"].get("nodeName")):
            set_pod_ready(lab, pod["metadata"]["namespace"], pod["metadata"]["name"], True)


def _pods(lab: Lab, namespace: str, selector: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads(
        kubectl(lab, "get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    )["items"]
    return items


def _selector(lab: Lab, kind: str, namespace: str, name: str) -> str:
    obj = json.loads(kubectl(lab, "get", kind, name, "-n", namespace, "-o", "json").stdout)
    labels = obj["spec"]["selector"].get("matchLabels", {})
    return ",".join(f"{k}={v}" for k, v in labels.items())


def set_pod_ready(lab: Lab, namespace: str, pod: str, ready: bool) -> None:
    """Set a pod's Ready condition and container readiness through the status subresource."""
    obj = json.loads(kubectl(lab, "get", "pod", pod, "-n", namespace, "-o", "json").stdout)
    value = "True" if ready else "False"
    status = obj["status"]
    for cond in status.get("conditions", []):
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = value
            cond["reason"] = "" if ready else "LabFault"
    for cs in status.get("containerStatuses", []):
        cs["ready"] = ready
    patch = json.dumps(
        {
            "status": {
                "conditions": status.get("conditions", []),
                "containerStatuses": status.get("containerStatuses", []),
            }
        }
    )
    kubectl(lab, "patch", "pod", pod, "-n", namespace, "--subresource=status", "--type=merge", "-p", patch)


def set_workload_ready(
    lab: Lab, kind: str, namespace: str, name: str, ready: bool, node: str | None = None
) -> list[str]:
    """Make a Deployment's or DaemonSet's pods (only those on ``node``, if given) ready or not ready."""
    changed = []
    for pod in _pods(lab, namespace, _selector(lab, kind, namespace, name)):
        meta, spec = pod["metadata"], pod["spec"]
        assert isinstance(meta, dict) and isinstance(spec, dict)
        if node is None or spec.get("nodeName") == node:
            set_pod_ready(lab, namespace, str(meta["name"]), ready)
            changed.append(str(meta["name"]))
    if not changed:
        raise LabError(f"{kind} {namespace}/{name} has no pods{' on ' + node if node else ''}")
    log(f"{kind} {namespace}/{name}: pods {', '.join(changed)} ready={ready}")
    return changed


def restore_all(lab: Lab, timeout: float = 120) -> float:
    """Undo every fault: release held components, re-label nodes, re-ready pods; wait until settled."""
    restarted = [held.name for held in (lab.cluster_dir / "held").glob("*")]
    since = time.time()
    for name in restarted:
        start_component(lab, name)
    wait_for("the API server to be ready", lambda: api_ready(lab), 120)
    for name in restarted:
        if name in ELECTED and lab.flavour.leader_elect:
            # a new instance waits for the old Lease to expire before it takes over
            wait_for(f"{name} to renew its Lease", functools.partial(lease_renewed_since, lab, name, since), 60)
        elif name in ELECTED:  # no Lease to watch: until it says it is ready
            wait_for(f"{name} to be ready", functools.partial(component_ready, lab, name), 60)
    nodes = json.loads(kubectl(lab, "get", "nodes", "-o", "json").stdout)["items"]
    for node in nodes:
        if node["metadata"].get("labels", {}).get(NODE_LABEL) != "kwok":
            restore_node(lab, node["metadata"]["name"])
    reready_pods(lab)
    return wait_settled(lab, timeout)
