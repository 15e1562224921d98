"""what-if, then reality (issue 25): each test asks `what-if` first, then makes the hypothesis real
(silence the node, cordon it, stop its kubelet) and checks that the real report's blast radius is
what was predicted: the same workloads in outage and degraded, the same Services without endpoints,
the same budget holding the drain. The kind pair (a worker's kubelet stopped) is in
test_kind_faults.py and the HA kind pair (a control-plane node paused) in test_kind_ha.py, beside the
faults of their clusters."""

from __future__ import annotations

import json
from typing import Any

from lab import labctl
from lab.node_faults import cordoned
from tests.e2e.conftest import Cluster
from tests.e2e.test_diagnosis import codes, entry

WORKER, WORKER2 = "kplanediag-worker", "kplanediag-worker2"


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
