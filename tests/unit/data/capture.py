"""Regenerates the unit-test snapshots from the lab cluster: real API JSON in real failure states.

    python -m tests.unit.data.capture [NAME ...]   (needs `make cluster-up`; takes about two minutes)

Each scenario injects a fault with the lab helpers, waits for the cluster to show it, saves a
snapshot with kplanediag's own collector, then restores the cluster.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from kplanediag.analysis.report import analyze
from kplanediag.collect.collector import collect
from kplanediag.collect.transport import connect
from kplanediag.snapshot import save_snapshot
from lab import labctl

HERE = Path(__file__).parent
PENDING_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "pending-probe", "namespace": "shop", "labels": {"app": "pending-probe"}},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]},
}


def save(lab: labctl.Lab, name: str) -> None:
    snap = collect(connect(str(lab.kubeconfig), None, 5))
    save_snapshot(snap, HERE / f"{name}.json")
    print(f"saved {name}.json at {snap.collected_at}")


def scenario(lab: labctl.Lab, name: str, inject: Callable[[], object], wait: Callable[[], bool]) -> None:
    labctl.restore_all(lab)
    inject()
    labctl.wait_for(f"{name} to show", wait, 90, 1)
    save(lab, name)
    labctl.restore_all(lab)
    labctl.kubectl(lab, "delete", "pod", "-n", "shop", "pending-probe", "--ignore-not-found", "--wait=false")


def main() -> None:
    lab = labctl.default_lab()

    def has_code(code: str) -> Callable[[], bool]:
        def probe() -> bool:
            report = analyze(collect(connect(str(lab.kubeconfig), None, 5)))
            return any(f.code == code for f in report.findings)

        return probe

    def stop_scheduler() -> None:
        labctl.stop_component(lab, "kube-scheduler", signal.SIGKILL)
        labctl.kubectl(lab, "apply", "-f", "-", input_=json.dumps(PENDING_POD))

    scenarios: dict[str, tuple[Callable[[], object], Callable[[], bool]]] = {
        "lab-worker-silenced": (
            lambda: labctl.silence_node(lab, "kplanediag-worker"),
            lambda: not labctl.node_ready(lab, "kplanediag-worker"),
        ),
        "lab-scheduler-stale": (stop_scheduler, has_code("KPD-120")),
        "lab-scheduler-released": (
            lambda: labctl.stop_component(lab, "kube-scheduler", signal.SIGTERM),
            has_code("KPD-121"),
        ),
        "lab-controller-manager-stale": (
            lambda: labctl.stop_component(lab, "kube-controller-manager"),
            has_code("KPD-120"),
        ),
        "lab-etcd-down": (lambda: labctl.stop_component(lab, "etcd"), has_code("KPD-110")),
        "lab-coredns-down": (
            lambda: labctl.set_workload_ready(lab, "deployment", "kube-system", "coredns", False),
            has_code("KPD-320"),
        ),
        "lab-kube-proxy-unready": (
            lambda: labctl.set_workload_ready(
                lab, "daemonset", "kube-system", "kube-proxy", False, "kplanediag-worker2"
            ),
            has_code("KPD-300"),
        ),
    }
    wanted = sys.argv[1:] or ["lab-healthy", *scenarios]
    for name in wanted:
        if name == "lab-healthy":
            labctl.restore_all(lab)
            save(lab, name)
        else:
            scenario(lab, name, *scenarios[name])


if __name__ == "__main__":
    main()
