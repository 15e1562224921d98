"""kplanediag against the k3s-shaped lab (``python -m lab.labctl --flavour k3s``, lab/seed-k3s; make
e2e-k3s): the k3s profile, and control-plane faults judged by their effects.

A k3s server with its sqlite (kine) datastore runs the scheduler and the controller-manager without
leader election: there is no Lease to read, so a missing one says nothing. A stopped scheduler shows
as pods nobody schedules (KPD-125), a stopped controller-manager as a Deployment whose ReplicaSet
stays below the desired count (KPD-126). Each fault test restores the cluster (fixture ``k3s``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lab import labctl
from tests.e2e.conftest import Cluster

PENDING_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "e2e-pending", "namespace": "shop", "labels": {"e2e": "pending"}},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]},
}
SCALED = ("shop", "web")  # 2 replicas in lab/seed-k3s/workloads.yaml; the controller-manager test asks for 4


def components(doc: dict[str, Any], name: str) -> dict[str | None, str]:
    return {c["node"]: c["status"] for c in doc["components"] if c["name"] == name}


def codes(doc: dict[str, Any]) -> set[str]:
    return {f["code"] for f in doc["findings"]}


def entry(doc: dict[str, Any], failure_prefix: str) -> dict[str, Any]:
    matches = [b for b in doc["blastRadius"] if b["failure"].startswith(failure_prefix)]
    assert matches, f"no blast entry {failure_prefix!r} in {[b['failure'] for b in doc['blastRadius']]}"
    first: dict[str, Any] = matches[0]
    return first


def get(lab: labctl.Lab, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(labctl.kubectl(lab, "get", *args, "-o", "json").stdout)
    return obj


@pytest.fixture
def k3s(cluster: Cluster) -> Iterator[labctl.Lab]:
    """The k3s-shaped lab's fault helpers; restores the cluster before and after the test."""
    if cluster.target != "k3s":
        pytest.skip("k3s-shaped lab only (make e2e-k3s: KPLANEDIAG_E2E_TARGET=k3s)")
    lab = labctl.default_lab("k3s")
    labctl.restore_all(lab)
    yield lab
    # back to the seed's state first (the seed's replica counts, no test pod), then every fault undone
    labctl.kubectl(lab, "delete", "pod", "-n", "shop", "-l", "e2e=pending", "--ignore-not-found", "--wait=false")
    labctl.kubectl(lab, "apply", "-f", str(lab.flavour.seed / "workloads.yaml"))
    labctl.restore_all(lab)


def test_the_lab_is_k3s_shaped(cluster: Cluster, k3s: labctl.Lab) -> None:
    """What the k3s profile is judged on really is there (and what k3s lacks really is not)."""
    leases = {o["metadata"]["name"] for o in get(k3s, "lease", "-n", "kube-system")["items"]}
    assert not leases & {"kube-scheduler", "kube-controller-manager"}, leases
    pods = get(k3s, "pods", "-A")["items"]
    assert not [p["metadata"]["name"] for p in pods if p["metadata"].get("labels", {}).get("tier") == "control-plane"]
    daemonsets = [d["metadata"]["name"] for d in get(k3s, "daemonsets", "-A")["items"]]
    assert all(name.startswith("svclb-") for name in daemonsets), daemonsets  # servicelb only
    dns = get(k3s, "deployment", "-n", "kube-system", "coredns")
    assert dns["metadata"]["labels"]["k8s-app"] == "kube-dns"
    assert dns["status"].get("readyReplicas") == dns["spec"]["replicas"]
    assert get(k3s, "service", "-n", "kube-system", "kube-dns")["spec"]["clusterIP"] == "10.43.0.10"
    nodes = get(k3s, "nodes")["items"]
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes} == {"v1.36.2+k3s1"}
    servers = [n for n in nodes if n["metadata"]["labels"].get("node-role.kubernetes.io/control-plane") == "true"]
    assert len(servers) == 1 and "node-role.kubernetes.io/etcd" not in servers[0]["metadata"]["labels"]
    assert servers[0]["metadata"]["annotations"]["k3s.io/node-args"].startswith('["server"')
    for name in labctl.ELECTED:
        pid = labctl.component_pid(k3s, name)
        assert pid is not None, f"{name} does not run"
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert b"--leader-elect=false" in f.read().split(b"\0"), name


def test_healthy_k3s_lab_is_healthy_with_the_k3s_profile(cluster: Cluster, k3s: labctl.Lab) -> None:
    code, doc = cluster.report()
    findings = [(f["severity"], f["code"], f["message"]) for f in doc["findings"]]
    assert code == 0, (doc["summary"], findings)
    assert doc["summary"]["status"] == "healthy", (doc["summary"], findings)
    assert [f for f in findings if f[0] in ("warning", "critical")] == []
    assert doc["cluster"].get("profile") == "k3s", doc["cluster"]
    evidence = doc["cluster"].get("profileEvidence")
    assert isinstance(evidence, list) and evidence, doc["cluster"]
    assert all(isinstance(e, str) for e in evidence), evidence
    assert any("+k3s" in e for e in evidence), evidence
    for name in labctl.ELECTED:  # no leader Lease, and not down for it
        statuses = components(doc, name)
        assert statuses, f"no {name} component in {[c['name'] for c in doc['components']]}"
        assert set(statuses.values()) <= {"healthy", "unknown"}, (name, statuses)
    for name in ("kube-proxy", "cni"):  # embedded in the k3s process: not visible, and said so
        found = [c for c in doc["components"] if c["name"] == name]
        assert found, f"no {name} component in {[c['name'] for c in doc['components']]}"
        for c in found:
            assert c["status"] == "unknown" and "k3s" in c["detail"], c


def test_stopped_scheduler_is_down_by_its_unscheduled_pod(cluster: Cluster, k3s: labctl.Lab) -> None:
    labctl.stop_component(k3s, "kube-scheduler")
    labctl.kubectl(k3s, "apply", "-f", "-", input_=json.dumps(PENDING_POD))
    start = time.monotonic()
    doc = cluster.wait_report(
        "kube-scheduler down (KPD-125) with the pending pod counted",
        lambda d: (
            "KPD-125" in codes(d)
            and "down" in components(d, "kube-scheduler").values()
            and any(b["failure"].startswith("kube-scheduler") and b["affected"]["pods"] for b in d["blastRadius"])
        ),
        timeout=180,
    )
    print(f"KPD-125 after {time.monotonic() - start:.0f}s of the pod unscheduled")
    node = get(k3s, "pod", "-n", "shop", "e2e-pending")["spec"].get("nodeName")
    assert not node, f"e2e-pending was scheduled to {node}: a scheduler still runs"
    assert "down" in components(doc, "kube-scheduler").values()
    assert entry(doc, "kube-scheduler")["affected"]["pods"] >= 1
    assert doc["summary"]["status"] != "healthy"


def test_stopped_controller_manager_is_seen_by_an_unreconciled_deployment(cluster: Cluster, k3s: labctl.Lab) -> None:
    namespace, name = SCALED
    labctl.stop_component(k3s, "kube-controller-manager")
    labctl.kubectl(k3s, "scale", "deployment", name, "-n", namespace, "--replicas=4")
    start = time.monotonic()
    doc = cluster.wait_report("KPD-126 (controller-manager not reconciling)", lambda d: "KPD-126" in codes(d), 90)
    print(f"KPD-126 after {time.monotonic() - start:.0f}s")
    deployment = get(k3s, "deployment", "-n", namespace, name)
    assert deployment["status"].get("replicas", 0) < 4, f"{namespace}/{name} was reconciled: a controller runs"
    found = [f for f in doc["findings"] if f["code"] == "KPD-126"]
    assert all(f["component"] == "kube-controller-manager" for f in found), found
