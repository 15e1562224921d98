"""kplanediag against a real kind data plane (kubelet, containerd, kube-proxy, CNI in real node
containers), with faults injected inside those containers (or through the API: a kube-proxy rollout
to an image that cannot be pulled). Runs with `make e2e-kind`."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client

from lab import kindctl, labctl
from tests.e2e.conftest import Cluster
from tests.e2e.test_diagnosis import codes, components, entry
from tests.e2e.test_whatif_pairs import impacts, node_failed, predict, show

WORKER, WORKER2, CP = "kplanediag-worker", "kplanediag-worker2", "kplanediag-control-plane"
GRACE = 40  # s: the node controller's node-monitor-grace-period, after which a silent node is Unknown
CONTROL = ("kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager")


def node_down(doc: dict[str, Any], node: str) -> bool:
    return components(doc, "kubelet").get(node) == "down" and any(
        b["failure"].startswith("node failure") for b in doc["blastRadius"]
    )


def causes(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The root causes the blast radius is made of: (code, component, subject), one per entry."""
    return [(b["cause"]["code"], b["cause"]["component"], b["cause"]["subject"]) for b in doc["blastRadius"]]


def root_findings(doc: dict[str, Any]) -> list[str]:
    """Findings that are a failure of their own (no causedBy), info aside: what kplanediag blames."""
    return [f"{f['code']} {f['subject']}" for f in doc["findings"] if f["causedBy"] is None and f["severity"] != "info"]


def since(start: float) -> str:
    return f"{time.monotonic() - start:.0f}s"


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


def test_cni_agent_crashing_on_one_node(cluster: Cluster, kind: kindctl.Kind) -> None:
    start = time.monotonic()
    kindctl.crash_cni_agent(kind, WORKER2)
    doc = cluster.wait_report(
        f"the CNI agent down on {WORKER2}", lambda d: components(d, "cni").get(WORKER2) == "down", timeout=120
    )
    print(f"CNI agent crash-looping on {WORKER2}: diagnosed after {since(start)}; causes {causes(doc)}")
    assert codes(doc) & {"KPD-310", "KPD-211"}, sorted(codes(doc))
    # the root cause is the CNI on that node, and nothing else is blamed
    assert {(component, WORKER2 in subject) for _, component, subject in causes(doc)} == {("cni", True)}, causes(doc)
    assert all(f.split()[0] in ("KPD-310", "KPD-211") for f in root_findings(doc)), root_findings(doc)
    # the node is alive: not a node failure
    assert components(doc, "kubelet") == {CP: "healthy", WORKER: "healthy", WORKER2: "healthy"}
    assert not codes(doc) & {"KPD-200", "KPD-201", "KPD-202"}
    assert not any(b["failure"].startswith("node failure") for b in doc["blastRadius"])
    # the other nodes' agents are unaffected
    assert components(doc, "cni")[WORKER] == components(doc, "cni")[CP] == "healthy"
    assert set(components(doc, "kube-proxy").values()) == {"healthy"}


def kube_proxy_pods(kind: kindctl.Kind) -> list[tuple[str, str, list[str]]]:
    """kube-proxy's pods as (node, image, the reasons its containers wait for)."""
    proc = kind.kubectl("-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-proxy", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    return [
        (
            pod["spec"].get("nodeName", ""),
            pod["spec"]["containers"][0]["image"],
            [
                cs["state"]["waiting"].get("reason", "")
                for cs in pod.get("status", {}).get("containerStatuses", [])
                if "waiting" in cs.get("state", {})
            ],
        )
        for pod in json.loads(proc.stdout)["items"]
    ]


@pytest.mark.timeout(600)  # the stalled rollout diagnosed, then undone and rolled out again
def test_kube_proxy_rolled_to_an_image_that_cannot_be_pulled(cluster: Cluster, kind: kindctl.Kind) -> None:
    start = time.monotonic()
    image = kindctl.roll_kube_proxy_to_missing_image(kind)
    try:

        def new_pod_node() -> str | None:
            nodes = [node for node, img, _ in kube_proxy_pods(kind) if img == image]
            return nodes[0] if len(nodes) == 1 and nodes[0] else None

        labctl.wait_for("the rollout to replace one kube-proxy pod", lambda: new_pod_node() is not None, 60, 1)
        node = new_pod_node()
        assert node
        doc = cluster.wait_report(
            f"kube-proxy down on {node}", lambda d: components(d, "kube-proxy").get(node) == "down", timeout=120
        )
        print(f"kube-proxy rolled to {image}, stalled on {node}: diagnosed after {since(start)}; causes {causes(doc)}")
        # the rollout stalls (maxUnavailable 1): one pod on the missing image, the others on the old one
        pulls = {"ErrImagePull", "ImagePullBackOff"}

        def pull_failing() -> bool:
            return any(set(reasons) & pulls for n, img, reasons in kube_proxy_pods(kind) if img == image)

        labctl.wait_for(f"the image pull to fail on {node}", pull_failing, 120, 1)
        pods = kube_proxy_pods(kind)
        print(f"kube-proxy pods (node, image, waiting): {pods}")
        assert [n for n, img, _ in pods if img == image] == [node], pods
        assert "KPD-300" in codes(doc)
        assert entry(doc, f"kube-proxy down on {node}")["scope"] == "node"
        assert {(component, node in subject) for _, component, subject in causes(doc)} == {("kube-proxy", True)}, (
            causes(doc)
        )
        assert all(f.split()[0] == "KPD-300" for f in root_findings(doc)), root_findings(doc)
        assert {n: s for n, s in components(doc, "kube-proxy").items() if n != node} == {
            n: "healthy" for n in (CP, WORKER, WORKER2) if n != node
        }
        assert set(components(doc, "kubelet").values()) == {"healthy"}
    finally:
        undone = time.monotonic()
        kindctl.undo_kube_proxy_rollout(kind)
        print(f"kube-proxy rollout undone and ready again in {since(undone)}")
    assert kindctl.kube_proxy_image(kind) != image


def node_ready(kind: kindctl.Kind, node: str) -> str:
    proc = kind.kubectl("get", "node", node, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')
    return proc.stdout.strip()


@pytest.mark.timeout(600)  # the grace period, the diagnosis, then the node Ready again
def test_worker_cut_off_from_the_api_server(cluster: Cluster, kind: kindctl.Kind) -> None:
    start = time.monotonic()
    kindctl.cut_from_api_server(kind, WORKER)
    try:
        labctl.wait_for(f"{WORKER} Ready=Unknown", lambda: node_ready(kind, WORKER) == "Unknown", GRACE + 120, 2)
        print(f"{WORKER} cut off from the API server: Ready=Unknown after {since(start)}")
        doc = cluster.wait_report(f"{WORKER} down", lambda d: node_down(d, WORKER), timeout=60)
        print(f"diagnosed after {since(start)}; causes {causes(doc)}")
        assert codes(doc) & {"KPD-201", "KPD-202"}
        assert entry(doc, "node failure")["affected"]["nodes"] == [WORKER]
        # the node failure is the one root cause: its add-on pods, marked not ready, are its effects
        assert {(component, subject) for _, component, subject in causes(doc)} == {("kubelet", WORKER)}, causes(doc)
        assert all(f.split()[0] in ("KPD-201", "KPD-202") for f in root_findings(doc)), root_findings(doc)
        # the control plane is not blamed: it answers, only this node does not reach it
        assert not [c for c in doc["components"] if c["name"] in CONTROL and c["status"] == "down"]
        assert not [f for f in doc["findings"] if f["code"].startswith("KPD-1") and f["severity"] == "critical"]
        assert components(doc, "kubelet")[WORKER2] == components(doc, "kubelet")[CP] == "healthy"
    finally:
        healed = time.monotonic()
        kindctl.heal_cut(kind, WORKER)
        labctl.wait_for(f"{WORKER} Ready again", lambda: node_ready(kind, WORKER) == "True", 120, 2)
        print(f"{WORKER} Ready again {since(healed)} after the rule was deleted")


def test_what_if_a_worker_fails_then_its_kubelet_is_stopped(cluster: Cluster, kind: kindctl.Kind) -> None:
    predicted = predict(cluster, f"node/{WORKER}")
    before = impacts(entry(predicted, "node failure"))
    kindctl.stop_service(kind, WORKER, "kubelet")
    real = cluster.wait_report(f"kubelet down on {WORKER}", lambda d: node_failed(d, WORKER), timeout=150)
    after = impacts(entry(real, "node failure"))
    show(before, after)
    assert after == before
