"""Node and scheduling faults for the lab cluster (tests/e2e/test_causes_faults.py), each a context manager:
every worker's kubelet silenced at once, a skewed kubelet clock, a throwaway kwok worker, cordons, taints."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lab.faults import apply, delete_namespace, namespace_doc
from lab.labctl import (
    NODE_LABEL,
    Lab,
    LabError,
    kubectl,
    lease_renewed_since,
    log,
    node_ready,
    restore_node,
    silence_node,
    start_component,
    stop_component,
    wait_for,
)

# Workloads live in the test's own namespace; taints use ``kpd-test/*`` keys only, and a NoExecute taint goes
# on a throwaway worker that runs nothing of the seed but DaemonSet pods (which tolerate every taint): the
# shared lab's pods are never evicted.
NAMESPACE = "kpd-causes"
EXTRA_WORKER = "kpd-test-worker"
CM = "kube-controller-manager"
IMAGE = "registry.example/kpd-test:1.0"  # kwok runs no container: the image is never pulled

Json = dict[str, Any]


def micro_time(when: datetime) -> str:
    """A MicroTime as the API writes it (RFC 3339, microseconds, Z)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- every worker silenced -----------------------------------------------------------------------


def workers(lab: Lab) -> list[str]:
    """The nodes without the control-plane role label, by name."""
    nodes = json.loads(kubectl(lab, "get", "nodes", "-o", "json").stdout)["items"]
    labels = [(n["metadata"]["name"], n["metadata"].get("labels") or {}) for n in nodes]
    return sorted(name for name, lab_ in labels if "node-role.kubernetes.io/control-plane" not in lab_)


@contextmanager
def silenced(lab: Lab, nodes: list[str]) -> Iterator[list[str]]:
    """Stop the kubelet heartbeat of every node in ``nodes`` at once (as labctl.silence_node does for one);
    on exit their heartbeat resumes and their pods are re-posted ready."""
    try:
        for node in nodes:
            silence_node(lab, node)
        yield nodes
    finally:
        for node in nodes:
            restore_node(lab, node)


# --- a kubelet whose clock is skewed -------------------------------------------------------------


@dataclass
class SkewedKubelet:
    node: str
    shift: float  # seconds the renewTime written is behind the real time
    period: float  # seconds between renewals
    renewals: int = 0
    last_renew: str = ""
    relabelled: int = 0  # times the kwok label came back (a concurrent restore) and was removed again
    errors: list[str] = field(default_factory=list)
    leading_since: float = 0.0  # time.monotonic() when the restarted controller-manager took the lead


@contextmanager
def skewed_kubelet(lab: Lab, node: str, shift: float = 600, period: float = 2.0) -> Iterator[SkewedKubelet]:
    """kwok stops heartbeating ``node`` (its label removed) and a thread renews the node's Lease in
    kube-node-lease every ``period`` seconds, as the kubelet does, but with renewTime and acquireTime
    ``shift`` seconds in the past: a kubelet whose clock is that far behind. The node lifecycle
    controller judges a Lease by when it sees renewTime move forward, by its own clock, so the node
    stays Ready. On exit kwok heartbeats the node again (a fresh Lease) and its pods are re-posted ready.

    A clock that jumps back under a running controller is another fault: the controller keeps the
    last renewTime it saw (kwok's, on time) and takes a renewal only once renewTime passes it, so the
    node would go Unknown after the grace period. A kubelet skewed since before the controller started
    watching is what is wanted: the controller-manager is restarted (SIGTERM, it hands its leader
    Lease over at once) right after the first skewed renewal, within the grace period, so the new
    leader's first sight of the Lease is a skewed one. ``leading_since``: when the new leader took over."""
    state = SkewedKubelet(node, shift, period)
    stop = threading.Event()

    def renew() -> None:
        while not stop.is_set():
            try:
                if NODE_LABEL in (_node(lab, node)["metadata"].get("labels") or {}):
                    state.relabelled += 1  # another test's restore_all gave it back to kwok
                    silence_node(lab, node)
                when = micro_time(datetime.now(UTC) - timedelta(seconds=shift))
                patch = json.dumps({"spec": {"renewTime": when, "acquireTime": when}})
                kubectl(lab, "patch", "lease", node, "-n", "kube-node-lease", "--type=merge", "-p", patch, timeout=10)
                state.renewals += 1
                state.last_renew = when
            except Exception as exc:
                state.errors.append(f"{type(exc).__name__}: {exc}")
            stop.wait(period)

    silence_node(lab, node)
    worker = threading.Thread(target=renew, name=f"skewed-kubelet-{node}", daemon=True)
    worker.start()
    try:
        wait_for(f"the first skewed renewal of {node}'s Lease", lambda: state.renewals > 0, 20)
        since = time.time()
        stop_component(lab, "kube-controller-manager", signal.SIGTERM)
        start_component(lab, "kube-controller-manager")
        wait_for("the new controller-manager to lead", lambda: lease_renewed_since(lab, CM, since), 60, 0.5)
        state.leading_since = time.monotonic()
        log(f"kubelet of {node} renews its Lease {shift:.0f}s behind every {period:.0f}s")
        yield state
    finally:
        stop.set()
        worker.join(timeout=30)
        restore_node(lab, node)


def _node(lab: Lab, name: str) -> Json:
    obj: Json = json.loads(kubectl(lab, "get", "node", name, "-o", "json").stdout)
    return obj


def lease(lab: Lab, namespace: str, name: str) -> Json:
    obj: Json = json.loads(kubectl(lab, "get", "lease", name, "-n", namespace, "-o", "json").stdout)
    return obj


# --- a throwaway worker, a namespace, workloads ----------------------------------------------------


@contextmanager
def extra_worker(lab: Lab, name: str = EXTRA_WORKER) -> Iterator[str]:
    """A kwok worker like the seed's (8 CPU, 16 GiB, 110 pods, heartbeated by kwok), deleted on exit
    with the pods bound to it (its DaemonSet pods: nothing else is left to the pod GC's 40 s)."""
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                NODE_LABEL: "kwok",
            },
        },
        "spec": {"taints": []},
        "status": {
            "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "nodeInfo": {
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://2.1.9",
                "kubeletVersion": "v1.36.2",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux forky/sid",
            },
        },
    }
    try:
        apply(lab, json.dumps(node))
        wait_for(f"node {name} to be Ready", lambda: node_ready(lab, name), 60, 1)
        log(f"added worker {name}")
        yield name
    finally:
        kubectl(lab, "delete", "node", name, "--ignore-not-found", "--wait=true", "--timeout=60s", timeout=70)
        bound = ("-A", f"--field-selector=spec.nodeName={name}", "--ignore-not-found")
        kubectl(lab, "delete", "pods", *bound, "--grace-period=0", "--force", check=False)
        log(f"removed worker {name}")


@contextmanager
def namespace(lab: Lab, name: str = NAMESPACE) -> Iterator[str]:
    try:
        apply(lab, namespace_doc(name))
        wait_for(f"namespace {name}'s default ServiceAccount", lambda: _has_default_sa(lab, name), 30)
        yield name
    finally:
        delete_namespace(lab, name)


def _has_default_sa(lab: Lab, ns: str) -> bool:
    return kubectl(lab, "get", "serviceaccount", "default", "-n", ns, check=False).returncode == 0


def deployment(lab: Lab, ns: str, name: str, replicas: int, node: str | None = None) -> None:
    """A Deployment of ``replicas`` pods labelled app=<name>, pinned to ``node`` by nodeSelector if given."""
    spec: Json = {"containers": [{"name": name, "image": IMAGE}]}
    if node is not None:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }
    apply(lab, json.dumps(doc))


def wait_ready(lab: Lab, ns: str, name: str, replicas: int, timeout: float = 60) -> None:
    ready = (f"--for=jsonpath={{.status.readyReplicas}}={replicas}", "deployment", name, "-n", ns)
    kubectl(lab, "wait", *ready, f"--timeout={timeout:.0f}s", timeout=timeout + 10)


def pods(lab: Lab, ns: str, app: str) -> list[Json]:
    items: list[Json] = json.loads(kubectl(lab, "get", "pods", "-n", ns, "-l", f"app={app}", "-o", "json").stdout)[
        "items"
    ]
    return items


def disruption_budget(lab: Lab, ns: str, name: str, app: str, min_available: int) -> None:
    doc = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}},
    }
    apply(lab, json.dumps(doc))


def disruptions_allowed(lab: Lab, ns: str, name: str) -> int | None:
    obj = json.loads(kubectl(lab, "get", "pdb", name, "-n", ns, "-o", "json").stdout)
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return None
    allowed = status.get("disruptionsAllowed")
    return allowed if isinstance(allowed, int) else None


# --- cordons and taints --------------------------------------------------------------------------


@contextmanager
def cordoned(lab: Lab, node: str) -> Iterator[str]:
    try:
        kubectl(lab, "cordon", node)
        yield node
    finally:
        kubectl(lab, "uncordon", node)


@contextmanager
def tainted(lab: Lab, nodes: list[str], key: str, effect: str) -> Iterator[str]:
    """Taint each node with ``key``=kpd-test:``effect``; removed from all of them on exit."""
    if not key.startswith("kpd-test/"):
        raise LabError(f"lab taints use kpd-test/* keys, not {key!r}")
    taint = f"{key}=kpd-test:{effect}"
    try:
        for node in nodes:
            kubectl(lab, "taint", "nodes", node, taint, "--overwrite")
        log(f"tainted {', '.join(nodes)} with {taint}")
        yield taint
    finally:
        for node in nodes:
            kubectl(lab, "taint", "nodes", node, f"{key}:{effect}-", check=False)
        log(f"removed taint {taint}")


def wait_pending(lab: Lab, ns: str, app: str, timeout: float = 60) -> Json:
    """Until a pod of app=<app> is Pending with PodScheduled=False Unschedulable; returns it."""
    found: list[Json] = []

    def probe() -> bool:
        for pod in pods(lab, ns, app):
            conds = (pod.get("status") or {}).get("conditions") or []
            if any(c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conds):
                found.append(pod)
                return True
        return False

    wait_for(f"a pod of {ns}/{app} Pending Unschedulable", probe, timeout, 1)
    return found[-1]


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f}s"
