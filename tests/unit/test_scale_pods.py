"""The bench workload made directly (lab/scale/pods.py): objects the controllers adopt, pods spread over nodes."""

from __future__ import annotations

from collections import Counter

from lab.scale import pods as objects


def test_suffixes_are_stable_and_in_the_controllers_alphabet() -> None:
    assert objects.suffix("x", 10) == objects.suffix("x", 10)
    assert objects.suffix("x", 10) != objects.suffix("y", 10)
    assert len(objects.template_hash("app-000001")) == 10
    assert set(objects.template_hash("app-000001")) <= set(objects.ALPHABET)


def test_replicaset_matches_its_deployment_but_for_the_hash() -> None:
    """The Deployment controller adopts the ReplicaSet: owned by it, selected by it, and the same
    template once pod-template-hash is left out (EqualIgnoreHash)."""
    dep = objects.deployment("app-000007", 10)
    rs = objects.replicaset("app-000007", "dep-uid", 10)
    hashed = objects.template_hash("app-000007")
    assert rs["metadata"]["name"] == f"app-000007-{hashed}"
    assert rs["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "app-000007",
            "uid": "dep-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    labels = dict(rs["spec"]["template"]["metadata"]["labels"])
    assert labels.pop(objects.HASH_LABEL) == hashed
    assert labels == dep["spec"]["template"]["metadata"]["labels"]
    assert rs["spec"]["template"]["spec"] == dep["spec"]["template"]["spec"]
    selector = dep["spec"]["selector"]["matchLabels"]
    assert selector.items() <= rs["metadata"]["labels"].items()
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "13"
    assert rs["spec"]["replicas"] == dep["spec"]["replicas"] == 10


def test_max_replicas_rounds_the_surge_up() -> None:
    assert [objects.max_replicas(n) for n in (1, 4, 10, 30)] == [2, 5, 13, 38]


def test_pods_are_owned_selected_and_bound() -> None:
    rs = objects.replicaset("app-000007", "dep-uid", 10)
    made = [objects.pod("app-000007", "rs-uid", i, f"node-{i}") for i in range(10)]
    assert len({p["metadata"]["name"] for p in made}) == 10
    for i, p in enumerate(made):
        assert p["metadata"]["name"].startswith(rs["metadata"]["name"] + "-")
        assert rs["spec"]["selector"]["matchLabels"].items() <= p["metadata"]["labels"].items()
        assert p["metadata"]["labels"] == rs["spec"]["template"]["metadata"]["labels"]
        (owner,) = p["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "ReplicaSet",
            rs["metadata"]["name"],
            "rs-uid",
            True,
        )
        assert p["spec"]["nodeName"] == f"node-{i}"
        assert p["spec"]["containers"] == rs["spec"]["template"]["spec"]["containers"]


def test_service_and_pdb_select_the_workload() -> None:
    svc, pdb = objects.service("app-000003"), objects.pdb("app-000003")
    pod = objects.pod("app-000003", "uid", 0, "n")
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert {svc["metadata"]["namespace"], pdb["metadata"]["namespace"], pod["metadata"]["namespace"]} == {"bench"}
    assert objects.paths("bench")["Pod"] == "/api/v1/namespaces/bench/pods"


def test_a_workloads_objects_share_its_namespace_of_a_hundred_workloads() -> None:
    for serial, ns in ((99, "bench"), (100, "bench-001"), (12345, "bench-123")):
        name = objects.workload_name(serial)
        made = [
            objects.deployment(name, 10),
            objects.replicaset(name, "uid", 10),
            objects.pod(name, "uid", 3, "n"),
            objects.service(name),
            objects.pdb(name),
        ]
        assert {o["metadata"]["namespace"] for o in made} == {ns}
    assert objects.paths("bench-001")["PodDisruptionBudget"] == (
        "/apis/policy/v1/namespaces/bench-001/poddisruptionbudgets"
    )


def test_pods_spread_evenly_and_a_workload_over_distinct_nodes() -> None:
    nodes = [f"node-{i}" for i in range(50)]
    per, workloads = 10, 150  # 1,500 pods on 50 nodes
    placed = [[objects.node_for(s * per + r, nodes) for r in range(per)] for s in range(workloads)]
    assert all(len(set(replicas)) == per for replicas in placed)
    assert set(Counter(n for replicas in placed for n in replicas).values()) == {30}
