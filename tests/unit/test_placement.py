"""Where displaced pods would go (issue 25): quantities, the scheduler's filters and what-if's notes on
the lab's snapshot (tests/unit/data/lab-healthy.json, captured from `make cluster-up`: web has a
required hostname anti-affinity, cart a hostname nodeSelector, queue and ledger are StatefulSets) and
on the OpenShift 4.8 capture (../shared/real-captures: emptyDir volumes, StatefulSets, allocatable)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kplanediag.analysis.scheduling.placement import Room, place, quantity, requests
from kplanediag.analysis.whatif import what_if
from tests.unit.factories import find, items, snap
from tests.unit.test_whatif import capture, needs_captures

LAB = "lab-healthy"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("8", Decimal(8)),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("64Mi", Decimal(64 * 2**20)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("16266848Ki", Decimal(16266848 * 1024)),
        ("1k", Decimal(1000)),
        ("2M", Decimal(2_000_000)),  # M is mega, m is milli
        ("2e3", Decimal(2000)),
        ("100n", Decimal("1e-7")),
        ("bogus", None),
        ("NaN", None),
        ("1Mb", None),
        ("", None),
    ],
)
def test_quantities_read_as_the_api_writes_them(text: str, value: Decimal | None) -> None:
    assert quantity(text) == value


def notes(name: str, hypotheses: list[str], edit: Any = None) -> list[str]:
    report = what_if(snap(name, edit), hypotheses)
    assert report.what_if is not None
    return list(report.what_if.notes)


def note(all_notes: list[str], start: str) -> str:
    found = [n for n in all_notes if n.startswith(start)]
    assert found, f"no note starting {start!r} in {all_notes}"
    return found[0]


def test_anti_affinity_leaves_the_lost_web_replica_nowhere_to_go() -> None:
    """web's two replicas repel each other per hostname and the control plane is tainted: losing
    worker2 leaves its replica no node (the lab's real scheduler says the same words, e2e)."""
    said = notes(LAB, ["node/kplanediag-worker2"])
    stuck = note(said, "nowhere to go:")
    assert "Deployment shop/web: 1 pod (0/3 nodes are available:" in stuck
    assert "1 node(s) didn't match pod anti-affinity rules" in stuck
    assert "1 node(s) had untolerated taint(s)" in stuck and "1 node(s) not Ready" in stuck
    waiting = note(said, "not replaced while the node is unreachable:")
    assert "StatefulSet payments/ledger" in waiting and "StatefulSet shop/queue" in waiting
    assert note(
        said, "rescheduled: 1 pod of 1 workload (Deployment kube-system/coredns) fit on kplanediag-control-plane"
    )


def test_a_drain_moves_statefulset_pods_and_a_budget_keeps_what_it_holds() -> None:
    said = notes(LAB, ["drain/kplanediag-worker"])
    assert not any(n.startswith("not replaced") for n in said)  # evicted pods are deleted: replaced
    stuck = note(said, "nowhere to go:")
    assert "shop/queue" not in stuck  # queue-1 is held on the node by its budget (2 healthy, needs 2)
    assert "Deployment shop/cart: 1 pod (0/3 nodes are available:" in stuck  # nodeSelector: the drained node


def test_node_selector_is_a_filter() -> None:
    def move_cart(data: dict[str, Any]) -> None:
        for pod in items(data, "pods"):
            if pod["metadata"]["name"].startswith("cart-"):
                pod["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "kplanediag-worker"}

    stuck = note(notes(LAB, ["node/kplanediag-worker"], move_cart), "nowhere to go:")
    assert "Deployment shop/cart: 1 pod (0/3 nodes are available:" in stuck
    assert "1 node(s) didn't match Pod's node affinity/selector" in stuck


def test_requests_against_what_is_left_of_allocatable() -> None:
    """coredns asks 200m per replica; the control plane has 100m allocatable: with worker2 lost and
    worker drained, nothing takes coredns, and the reason is cpu."""

    def tight(data: dict[str, Any]) -> None:
        find(data, "nodes", "kplanediag-control-plane")["status"]["allocatable"]["cpu"] = "100m"
        for pod in items(data, "pods"):
            if pod["metadata"]["name"].startswith("coredns-"):
                pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "200m", "memory": "70Mi"}}

    said = notes(LAB, ["node/kplanediag-worker2", "drain/kplanediag-worker"], tight)
    stuck = note(said, "nowhere to go:")
    assert "Deployment kube-system/coredns: 2 pods (0/3 nodes are available:" in stuck
    assert "1 Insufficient cpu" in stuck
    roomy = notes(LAB, ["node/kplanediag-worker2", "drain/kplanediag-worker"])
    assert "coredns" in note(roomy, "rescheduled:")


def test_pods_count_and_memory_are_judged_too() -> None:
    snapshot = snap(LAB)
    nodes = [n for n in snapshot.nodes if n.metadata.name == "kplanediag-worker2"]
    pods = [p for p in snapshot.pods if p.spec.node_name == "kplanediag-worker2"]
    room = Room.of(nodes, pods)
    assert room.free["kplanediag-worker2"]["pods"] == 110 - len(pods)
    movers = [p for p in snapshot.pods if p.metadata.name.startswith("coredns-")]
    assert requests(movers[0]) == {}  # the lab's CoreDNS asks nothing: fits anywhere it is tolerated
    room.free["kplanediag-worker2"]["pods"] = Decimal(0)
    placed, stuck = place(room, movers[:1])
    assert not placed and "1 Too many pods" in stuck[movers[0].key]


def test_without_allocatable_resources_are_not_judged() -> None:
    def old(data: dict[str, Any]) -> None:
        for node in items(data, "nodes"):
            node["status"].pop("allocatable", None)

    said = notes(LAB, ["node/kplanediag-worker2"], old)
    assert "resources not judged: no node's allocatable is in the snapshot" in said


def test_nothing_is_scheduled_while_the_control_plane_is_down() -> None:
    said = notes(LAB, ["control-plane", "node/kplanediag-worker2"])
    assert not any(n.startswith(("nowhere to go", "rescheduled")) for n in said)
    assert "none is scheduled while the control plane is down" in note(said, "2 pods to replace")


@needs_captures
def test_openshift_worker_lost_statefulsets_wait_and_emptydir_goes() -> None:
    snapshot, at = capture("openshift-4.8-aws-sdn-healthy")
    report = what_if(snapshot, ["node/ip-10-0-254-204.ec2.internal"], at)
    assert report.what_if is not None
    said = list(report.what_if.notes)
    waiting = note(said, "not replaced while the node is unreachable:")
    assert "StatefulSet openshift-monitoring/prometheus-k8s" in waiting
    assert "openshift-monitoring/prometheus-k8s-1 (emptyDir)" in note(said, "local storage lost:")
    assert note(said, "rescheduled: 8 pods of 8 workloads (")
    assert not any(n.startswith(("nowhere to go", "resources not judged")) for n in said)
