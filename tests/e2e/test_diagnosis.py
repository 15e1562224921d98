"""kplanediag against the real lab cluster, one scenario per fault; each test restores the cluster."""

from __future__ import annotations

import json
import time
from typing import Any

from lab import labctl
from tests.e2e.conftest import Cluster

WORKER = "kplanediag-worker"
PENDING_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "e2e-pending", "namespace": "shop", "labels": {"e2e": "pending"}},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]},
}


def components(doc: dict[str, Any], name: str) -> dict[str | None, str]:
    return {c["node"]: c["status"] for c in doc["components"] if c["name"] == name}


def codes(doc: dict[str, Any]) -> set[str]:
    return {f["code"] for f in doc["findings"]}


def entry(doc: dict[str, Any], failure_prefix: str) -> dict[str, Any]:
    matches = [b for b in doc["blastRadius"] if b["failure"].startswith(failure_prefix)]
    assert matches, f"no blast entry {failure_prefix!r} in {[b['failure'] for b in doc['blastRadius']]}"
    first: dict[str, Any] = matches[0]
    return first


def test_healthy_cluster_exits_0(cluster: Cluster) -> None:
    if cluster.target == "lab":
        labctl.restore_all(labctl.default_lab())
    code, doc = cluster.report()
    assert code == 0, doc["summary"]
    assert doc["summary"]["status"] == "healthy"
    assert doc["cluster"]["controlPlaneMode"] == "self-hosted"
    names = {c["name"] for c in doc["components"]}
    assert {
        "kube-apiserver",
        "etcd",
        "kube-scheduler",
        "kube-controller-manager",
        "kubelet",
        "container-runtime",
        "kube-proxy",
        "cni",
        "coredns",
    } <= names
    assert doc["blastRadius"] == []


def test_stopped_scheduler_is_down_and_pending_pods_are_counted(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.stop_component(lab, "kube-scheduler")
    labctl.kubectl(lab, "apply", "-f", "-", input_=json.dumps(PENDING_POD))
    # the pending pod and the stale Lease are read by separate lists: wait until one report has both
    doc = cluster.wait_report(
        "kube-scheduler down with the pending pod counted",
        lambda d: (
            "down" in components(d, "kube-scheduler").values()
            and any(b["failure"].startswith("kube-scheduler") and b["affected"]["pods"] for b in d["blastRadius"])
        ),
    )
    node = labctl.kubectl(lab, "get", "pod", "-n", "shop", "e2e-pending", "-o", "jsonpath={.spec.nodeName}").stdout
    assert node == "", f"e2e-pending was scheduled to {node}: a scheduler still runs"
    assert "KPD-120" in codes(doc)
    blast = entry(doc, "kube-scheduler")
    assert blast["scope"] == "management"
    assert blast["affected"]["pods"] >= 1
    assert any(w["name"] == "e2e-pending" for w in blast["affected"]["workloads"])
    assert "keep running" in blast["stillWorks"][0]
    assert doc["summary"]["status"] == "critical"


def test_stopped_controller_manager_is_down(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.stop_component(lab, "kube-controller-manager")
    doc = cluster.wait_report(
        "kube-controller-manager down", lambda d: "down" in components(d, "kube-controller-manager").values()
    )
    blast = entry(doc, "kube-controller-manager")
    assert any("reconciliation stops" in b for b in blast["breaks"])
    assert components(doc, "kube-scheduler") != {} and "down" not in components(doc, "kube-scheduler").values()


def test_stopped_etcd_fails_readyz_and_writes(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.stop_component(lab, "etcd")
    doc = cluster.wait_report("etcd down", lambda d: "KPD-110" in codes(d), timeout=60)
    assert "down" in components(doc, "etcd").values()
    assert doc["summary"]["status"] == "critical"
    blast = entry(doc, "etcd")
    assert blast["breaks"][0].startswith("writes fail")
    code, _ = cluster.report()
    assert code == 2
    # once the node Leases lapse (nothing can renew them), the kubelets are not silent: etcd stays the one cause
    doc = cluster.wait_report(
        "node Leases not renewable while etcd is down",
        lambda d: any(c["name"] == "kubelet" and "writes failing" in c.get("detail", "") for c in d["components"]),
        timeout=90,
    )
    assert "down" in components(doc, "etcd").values(), components(doc, "etcd")
    assert not codes(doc) & {"KPD-200", "KPD-201", "KPD-202"}, codes(doc)
    assert doc["blastRadius"][0]["failure"].startswith("etcd")


def test_stopped_api_server_is_unreachable_within_the_timeout(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.stop_component(lab, "kube-apiserver")
    start = time.monotonic()
    proc = cluster.kplanediag("check", "-o", "json", "--request-timeout", "3")
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    assert elapsed < 3 + 2, f"took {elapsed:.1f}s"
    doc = json.loads(proc.stdout)
    assert codes(doc) == {"KPD-100"}
    assert "unreachable" in doc["findings"][0]["message"]
    assert components(doc, "kube-apiserver") == {None: "down"}


def test_silenced_worker(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.silence_node(lab, WORKER)
    doc = cluster.wait_report(
        f"kubelet down on {WORKER} and its pods marked",
        lambda d: (
            components(d, "kubelet").get(WORKER) == "down"
            and any(b["failure"].startswith("node failure") for b in d["blastRadius"])
            and "KPD-201" in codes(d)
        ),
    )
    assert components(doc, "kubelet")["kplanediag-worker2"] == "healthy"
    blast = entry(doc, "node failure")
    assert blast["scope"] == "node" and blast["affected"]["nodes"] == [WORKER]
    impact = {(w["kind"], w["namespace"], w["name"]): w["impact"] for w in blast["affected"]["workloads"]}
    assert impact[("Deployment", "shop", "cart")] == "outage"
    assert impact[("Pod", "shop", "debug")] == "outage"
    assert impact[("Deployment", "shop", "web")] == "degraded"
    assert impact[("StatefulSet", "shop", "queue")] == "degraded"
    services = {(s["namespace"], s["name"]): s["impact"] for s in blast["affected"]["services"]}
    assert services[("shop", "cart")] == "outage"
    assert services[("shop", "web")] == "degraded"
    assert any(p.startswith("shop/queue") for p in blast["affected"]["podDisruptionBudgets"])


def test_kube_proxy_not_ready_on_one_node(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.set_workload_ready(lab, "daemonset", "kube-system", "kube-proxy", False, "kplanediag-worker2")
    doc = cluster.wait_report("kube-proxy down", lambda d: "KPD-300" in codes(d), timeout=30)
    assert components(doc, "kube-proxy")["kplanediag-worker2"] == "down"
    assert components(doc, "kube-proxy")[WORKER] == "healthy"
    blast = entry(doc, "kube-proxy down on kplanediag-worker2")
    assert blast["scope"] == "node"


def test_coredns_not_ready_is_a_cluster_wide_dns_failure(cluster: Cluster, lab: labctl.Lab) -> None:
    labctl.set_workload_ready(lab, "deployment", "kube-system", "coredns", False)
    doc = cluster.wait_report("CoreDNS down", lambda d: "KPD-320" in codes(d), timeout=30)
    blast = entry(doc, "coredns")
    assert blast["scope"] == "cluster"
    assert blast["affected"]["namespaces"] == ["payments", "shop"]
    assert "name resolution fails" in blast["breaks"][0]
