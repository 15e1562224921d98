"""kplanediag against a real kind data plane (kubelet, containerd, kube-proxy, CNI in real node
containers), with faults injected inside those containers. Runs with `make e2e-kind`."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from lab import kindctl, labctl
from tests.e2e.conftest import Cluster
from tests.e2e.test_diagnosis import codes, components, entry

WORKER, WORKER2, CP = "kplanediag-worker", "kplanediag-worker2", "kplanediag-control-plane"


def node_down(doc: dict[str, Any], node: str) -> bool:
    return components(doc, "kubelet").get(node) == "down" and any(
        b["failure"].startswith("node failure") for b in doc["blastRadius"]
    )


def test_real_data_plane_is_recognised(cluster: Cluster, kind: kindctl.Kind) -> None:
    code, doc = cluster.report()
    assert code == 0, doc["summary"]
    runtimes = {c["version"] for c in doc["components"] if c["name"] == "container-runtime"}
    assert all(v.startswith("containerd://2.") for v in runtimes), runtimes
    assert set(components(doc, "cni")) == {CP, WORKER, WORKER2}
    assert set(components(doc, "kube-proxy").values()) == {"healthy"}


def test_kubelet_stopped_in_a_worker(cluster: Cluster, kind: kindctl.Kind) -> None:
    kindctl.stop_service(kind, WORKER, "kubelet")
    doc = cluster.wait_report(f"kubelet down on {WORKER}", lambda d: node_down(d, WORKER), timeout=120)
    assert codes(doc) & {"KPD-201", "KPD-202"}
    assert entry(doc, "node failure")["affected"]["nodes"] == [WORKER]


def test_containerd_stopped_in_a_worker(cluster: Cluster, kind: kindctl.Kind) -> None:
    kindctl.stop_service(kind, WORKER2, "containerd")
    doc = cluster.wait_report(
        f"container runtime down on {WORKER2}",
        lambda d: components(d, "container-runtime").get(WORKER2) == "down",
        timeout=120,
    )
    assert "KPD-210" in codes(doc)
    assert entry(doc, "node failure")["affected"]["nodes"] == [WORKER2]


def test_kube_proxy_crashing_on_one_node(cluster: Cluster, kind: kindctl.Kind) -> None:
    kindctl.crash_kube_proxy(kind, WORKER)
    doc = cluster.wait_report(
        f"kube-proxy down on {WORKER}", lambda d: components(d, "kube-proxy").get(WORKER) == "down", timeout=120
    )
    assert "KPD-300" in codes(doc)
    assert components(doc, "kube-proxy")[WORKER2] == "healthy"
    assert entry(doc, f"kube-proxy down on {WORKER}")["scope"] == "node"


def test_whole_node_paused(cluster: Cluster, kind: kindctl.Kind) -> None:
    kindctl.pause_node(kind, WORKER2)
    doc = cluster.wait_report(f"{WORKER2} down", lambda d: node_down(d, WORKER2), timeout=120)
    assert components(doc, "kubelet")[WORKER] == "healthy"


def test_killed_static_pod_container_is_restarted_by_the_kubelet(cluster: Cluster, kind: kindctl.Kind) -> None:
    def restarts() -> int:
        pod = client.CoreV1Api(cluster.api).read_namespaced_pod(f"kube-scheduler-{CP}", "kube-system")
        statuses = pod.status.container_statuses if pod.status else None
        return sum(int(cs.restart_count) for cs in statuses or [])

    before = restarts()
    kindctl.kill_static_pod(kind, CP, "kube-scheduler")
    labctl.wait_for("the kubelet to restart kube-scheduler", lambda: restarts() > before, 90, 1)
    doc = cluster.wait_report(
        "kube-scheduler healthy again",
        lambda d: set(components(d, "kube-scheduler").values()) == {"healthy"},
        timeout=90,
    )
    assert "KPD-120" not in codes(doc)
