"""what-if, then reality (issue 25): each test asks `what-if` first, then makes the hypothesis real
(silence the node, cordon it, stop its kubelet) and checks that the real report's blast radius is
what was predicted: the same workloads in outage and degraded, the same Services without endpoints,
the same budget holding the drain. The kind pair (a worker's kubelet stopped) is in
test_kind_faults.py and the HA kind pair (a control-plane node paused) in test_kind_ha.py, beside the
faults of their clusters."""

from __future__ import annotations

import json
from typing import Any

from lab import faults, labctl
from lab import node_faults as nf
from lab.node_faults import cordoned
from tests.e2e.conftest import Cluster
from tests.e2e.test_diagnosis import codes, entry

WORKER, WORKER2 = "kplanediag-worker", "kplanediag-worker2"
HOSTNAME = "kubernetes.io/hostname"


def predict(cluster: Cluster, *hypotheses: str) -> dict[str, Any]:
    proc = cluster.kplanediag("what-if", *hypotheses, "-o", "json")
    assert proc.returncode in (0, 1, 2), proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["whatIf"]["hypothetical"] is True
    return doc


def impacts(blast: dict[str, Any]) -> tuple[set[tuple[str, str, str, str]], set[tuple[str, str, str]]]:
    """Workloads (kind, namespace, name, impact) and Services (namespace, name, impact) of an entry."""
    work = {(w["kind"], w["namespace"], w["name"], w["impact"]) for w in blast["affected"]["workloads"]}
    services = {(s["namespace"], s["name"], s["impact"]) for s in blast["affected"]["services"]}
    return work, services


def show(before: object, after: object) -> None:
    """The pair, printed for the CI log (the closing note quotes it)."""
    print(f"[what-if] predicted {before}\n[what-if] real      {after}")


def node_failed(d: dict[str, Any], node: str) -> bool:
    return any(b["failure"].startswith("node failure") and node in b["affected"]["nodes"] for b in d["blastRadius"])


def test_lab_a_worker_predicted_then_silenced(cluster: Cluster, lab: labctl.Lab) -> None:
    predicted = predict(cluster, f"node/{WORKER}")
    assert predicted["summary"]["text"].startswith(f"WHAT-IF node {WORKER} fails")
    before = impacts(entry(predicted, "node failure"))
    assert ("Deployment", "shop", "cart", "outage") in before[0]  # the lab's single-replica workload
    labctl.silence_node(lab, WORKER)
    real = cluster.wait_report(f"{WORKER} failing", lambda d: node_failed(d, WORKER) and "KPD-201" in codes(d))
    after = impacts(entry(real, "node failure"))
    show(before, after)
    assert after == before


def test_lab_a_drain_predicted_then_cordoned(cluster: Cluster, lab: labctl.Lab) -> None:
    """The drain's verdict names the budget that holds it; cordoned for real, the same budget is
    reported holding the same pod (KPD-230), and nothing is evicted."""
    predicted = predict(cluster, f"drain/{WORKER2}")
    (verdict,) = predicted["whatIf"]["drainVerdicts"]
    assert verdict.startswith("blocked: PodDisruptionBudget shop/queue"), verdict
    held = entry(predicted, "drain blocked")["affected"]["podDisruptionBudgets"]
    with cordoned(lab, WORKER2):
        real = cluster.wait_report("the drain blocked", lambda d: "KPD-230" in codes(d), timeout=60)
        assert entry(real, "drain blocked")["affected"]["podDisruptionBudgets"] == held


def _spread_and_big(ns: str) -> list[dict[str, Any]]:
    """Two Deployments of 2 replicas: ``spread`` one per node (required hostname anti-affinity) and
    ``big`` asking 5 of each worker's 8 cpus (two never fit on one node)."""
    docs = []
    for name, extra, resources in (
        (
            "spread",
            {
                "affinity": {
                    "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {"labelSelector": {"matchLabels": {"app": "spread"}}, "topologyKey": HOSTNAME}
                        ]
                    }
                }
            },
            {},
        ),
        ("big", {}, {"requests": {"cpu": "5"}}),
    ):
        container = {"name": name, "image": nf.IMAGE, "resources": resources}
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container], **extra}},
                },
            }
        )
    return docs


def _unschedulable(pod: dict[str, Any]) -> str:
    (cond,) = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    return str(cond.get("message", ""))


def test_lab_nowhere_to_go_predicted_then_pending(cluster: Cluster, lab: labctl.Lab) -> None:
    """what-if drain/WORKER says which replacements have nowhere to go and why, in the scheduler's
    words; then the worker is cordoned and those pods deleted (the evictions a drain makes), and the
    real scheduler leaves their replacements Pending with the same message."""
    with nf.namespace(lab) as ns:
        for doc in _spread_and_big(ns):
            faults.apply(lab, json.dumps(doc))
        for name in ("spread", "big"):
            nf.wait_ready(lab, ns, name, 2)
        predicted = predict(cluster, f"drain/{WORKER}")
        (stuck,) = [n for n in predicted["whatIf"]["notes"] if n.startswith("nowhere to go")]
        expected = {
            "spread": "didn't match pod anti-affinity rules",
            "big": "Insufficient cpu",
        }
        said = {}
        for name, reason in expected.items():
            said[name] = stuck.split(f"Deployment {ns}/{name}: 1 pod (", 1)[1].split("), Deployment ", 1)[0]
            assert reason in said[name], stuck
        with nf.cordoned(lab, WORKER):
            for name in expected:
                victims = [p["metadata"]["name"] for p in nf.pods(lab, ns, name) if p["spec"]["nodeName"] == WORKER]
                labctl.kubectl(lab, "delete", "pod", "-n", ns, *victims, "--wait=false")
            real = {name: _unschedulable(nf.wait_pending(lab, ns, name)) for name in expected}
        show(stuck, real)
        for name in expected:
            assert real[name].startswith(said[name] + "."), (said[name], real[name])
