"""Regenerates the unit-test snapshots from the lab cluster: real API JSON in real failure states.

    python -m tests.unit.data.capture [NAME ...]   (needs `make cluster-up`; takes about two minutes)

Each scenario injects a fault with the lab helpers, waits for the cluster to show it, saves a
snapshot, then restores the cluster. The files keep whole objects as the API server sent them (the
version-1 snapshot layout, which ``--from`` still reads), not only the fields kplanediag reads
today, so that later rules can be tested on the same real data.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kplanediag.analysis.report import analyze
from kplanediag.collect.answers import JSON
from kplanediag.collect.collector import collect
from kplanediag.collect.lists import LISTS
from kplanediag.collect.transport import Transport, connect
from kplanediag.snapshot import format_time, parse_health_body
from lab import labctl

HERE = Path(__file__).parent
PENDING_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "pending-probe", "namespace": "shop", "labels": {"app": "pending-probe"}},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]},
}


def whole_lists(transport: Transport) -> dict[str, list[dict[str, Any]]]:
    """Every list kplanediag reads, as whole JSON objects (kind and apiVersion put back)."""
    resources: dict[str, list[dict[str, Any]]] = {}
    for call in LISTS:
        body = json.loads(transport.get(call.path, {"resourceVersion": "0"}, JSON).body)
        api_version = body["apiVersion"]
        for item in body["items"]:
            item["kind"], item["apiVersion"] = call.kind.__name__, api_version
            item["metadata"].pop("managedFields", None)
            resources.setdefault(call.resource, []).append(item)
    return resources


def save(lab: labctl.Lab, name: str) -> None:
    transport = connect(str(lab.kubeconfig), None, 5)
    version = transport.get("/version")
    probes = {}
    for endpoint in ("livez", "readyz"):
        answer = transport.get(f"/{endpoint}", {"verbose": "true"})
        checks = [{"name": c.name, "ok": c.ok, "message": c.message} for c in parse_health_body(answer.text())]
        probes[endpoint] = {"endpoint": f"/{endpoint}?verbose", "status": answer.status, "error": "", "checks": checks}
    resources = whole_lists(transport)
    now = version.server_time
    assert now is not None, "the API server sent no Date header"
    data: dict[str, Any] = {
        "kind": "KplanediagSnapshot",
        "schemaVersion": 1,
        "collectedAt": format_time(now),
        "source": "live",
        "server": transport.server,
        "reachable": True,
        "version": version.json() if version.status == 200 else None,
        **probes,
        "resources": resources,
        "gaps": [],
    }
    (HERE / f"{name}.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"saved {name}.json at {data['collectedAt']}")


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
