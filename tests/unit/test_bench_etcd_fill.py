"""bench/etcd_fill.py's clones of the bench's first workload, on that workload as a real cluster made it.

Source: tests/unit/data/bench/workload-0.json, workload app-000000 read back from the scale bench's
own cluster (kplanediag-bench: kube-apiserver v1.36.2, kwok v0.8.0, 5,000 nodes) by
``etcd_fill.template`` (managedFields included) once bench/fill.py had made it through the API and
it was Running, Ready and in its endpoints (2026-12-07).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import etcd_fill
from lab import scale
from lab.scale import pods as objects

DATA = Path(__file__).parent / "data" / "bench" / "workload-0.json"
NODES = [f"node-{i:06d}" for i in range(5000)]


def parts() -> list[tuple[str, dict[str, Any]]]:
    return [(p, o) for p, o in json.loads(DATA.read_text())]


def cloned(serial: int) -> dict[str, dict[str, Any]]:
    """Workload ``serial``'s objects by etcd key."""
    cloner = etcd_fill.Cloner(parts(), 10, NODES)
    return {key: json.loads(value) for key, value in cloner.objects(serial)}


def test_the_template_is_a_whole_workload() -> None:
    kinds = sorted(o["kind"] for _, o in parts())
    assert kinds == sorted(
        ["Deployment", "ReplicaSet", "Service", "Endpoints", "EndpointSlice", "PodDisruptionBudget"] + ["Pod"] * 10
    )
    assert all("resourceVersion" not in o["metadata"] for _, o in parts())


def test_a_clone_has_its_own_names_under_the_apiservers_keys() -> None:
    objs = cloned(1234)
    name = objects.workload_name(1234)
    text = json.dumps(list(objs.values()))
    assert "app-000000" not in text
    assert objects.template_hash("app-000000") not in text
    assert '"namespace": "bench"' not in text  # metadata and every targetRef: its own namespace
    assert text.count('"namespace": "bench-012"') == 16 + 2 * 10  # 16 objects, 10 pods in two endpoint lists
    for key, obj in objs.items():
        assert obj["metadata"]["namespace"] == "bench-012"
        assert key.endswith(f"/bench-012/{obj['metadata']['name']}")
        assert obj["metadata"]["name"].startswith(name)
    pods = {o["metadata"]["name"] for o in objs.values() if o["kind"] == "Pod"}
    assert pods == {objects.pod_name(name, r) for r in range(10)}
    keys = {k.rsplit("/bench-012/", 1)[0] for k in objs}
    assert keys == {prefix for _, _, prefix in etcd_fill.KINDS}


def test_a_clones_references_follow_its_new_uids() -> None:
    objs = list(cloned(7).values())
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    template_uids = {o["metadata"]["uid"] for _, o in parts()}
    uids = {o["metadata"]["uid"] for o in objs}
    assert len(uids) == len(objs) and not uids & template_uids
    (dep,), (rs,), (svc,), (eps,) = (
        by_kind["Deployment"],
        by_kind["ReplicaSet"],
        by_kind["Service"],
        by_kind["Endpoints"],
    )
    assert rs["metadata"]["ownerReferences"][0]["uid"] == dep["metadata"]["uid"]
    pod_uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in by_kind["Pod"]}
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"] for p in by_kind["Pod"])
    (slice_,) = by_kind["EndpointSlice"]
    assert slice_["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    assert {e["targetRef"]["name"]: e["targetRef"]["uid"] for e in slice_["endpoints"]} == pod_uids
    addresses = [a for s in eps["subsets"] for a in s["addresses"]]
    assert {a["targetRef"]["name"]: a["targetRef"]["uid"] for a in addresses} == pod_uids


def test_each_pod_is_placed_and_addressed_and_its_endpoints_agree() -> None:
    objs = list(cloned(7).values())
    pods = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Pod"}
    expected = {objects.pod_name("app-000007", r): (NODES[70 + r], *etcd_fill.pod_ips(70 + r)) for r in range(10)}
    for name, pod in pods.items():
        node, v4, v6 = expected[name]
        assert pod["spec"]["nodeName"] == node
        assert pod["status"]["podIP"] == v4
        assert [i["ip"] for i in pod["status"]["podIPs"]] in ([v4], [v4, v6])
        assert pod["status"]["phase"] == "Running"
    (slice_,) = (o for o in objs if o["kind"] == "EndpointSlice")
    for ep in slice_["endpoints"]:
        node, v4, v6 = expected[ep["targetRef"]["name"]]
        assert ep["nodeName"] == node
        assert ep["addresses"] == [v6 if slice_["addressType"] == "IPv6" else v4]
    (eps,) = (o for o in objs if o["kind"] == "Endpoints")
    for address in (a for s in eps["subsets"] for a in s["addresses"]):
        node, v4, _ = expected[address["targetRef"]["name"]]
        assert (address["nodeName"], address["ip"]) == (node, v4)


def test_pod_ips_are_distinct_and_outside_kwoks_own_range() -> None:
    indexes = [*range(0, 300), *range(65000, 66000), *range(149700, 150000)]  # around each octet's wrap
    ips = [etcd_fill.pod_ips(i) for i in indexes]
    assert len({v4 for v4, _ in ips}) == len({v6 for _, v6 in ips}) == len(ips)
    assert not any(v4.startswith("10.0.") for v4, _ in ips)


def test_batches_keep_under_etcds_limits() -> None:
    items = [(f"/k/{i}", b"x" * 10000) for i in range(1000)]
    batches = list(etcd_fill.batches(iter(items)))
    assert [kv for b in batches for kv in b] == items
    assert all(len(b) <= etcd_fill.TXN_OPS for b in batches)
    assert all(sum(len(k) + len(v) for k, v in b) <= etcd_fill.TXN_BYTES for b in batches)
    assert max(len(b) for b in batches) < etcd_fill.TXN_OPS  # 10 kB values: the byte limit bites first


def test_a_template_that_is_not_bench_fills_is_refused() -> None:
    wrong = parts()
    pod = next(o for _, o in wrong if o["kind"] == "Pod")
    pod["metadata"]["name"] = "web-7d4b9c-somethingelse"  # not a pod of workload app-000000
    with pytest.raises(etcd_fill.EtcdFillError, match="not 10 pods of app-000000"):
        etcd_fill.Cloner(wrong, 10, NODES)
    with pytest.raises(etcd_fill.EtcdFillError, match="not 11 pods of app-000000"):
        etcd_fill.Cloner(parts(), 11, NODES)


def test_workloads_fill_namespaces_of_a_hundred_in_key_order() -> None:
    assert [scale.namespace_for(s) for s in (0, 99, 100, 1234, 14999)] == [
        "bench",
        "bench",
        "bench-001",
        "bench-012",
        "bench-149",
    ]
    assert all(scale.bench_namespace(n) for n in ("bench", "bench-001", "bench-149"))
    assert not any(scale.bench_namespace(n) for n in ("kube-system", "bench-x", "benchmark", "kplanediag"))


@pytest.mark.parametrize("target", [0, 30, 100, 150, 2999])
def test_shrinking_deletes_exactly_the_workloads_from_the_target_on(target: int) -> None:
    prefix = "/registry/pods"
    keys = [
        k
        for s in range(0, 3000, 7)
        for k in (f"{prefix}/{scale.namespace_for(s)}/{objects.pod_name(objects.workload_name(s), 0)}",)
    ]
    ranges = etcd_fill.shrink_ranges(prefix, target)
    gone = {k for k in keys for start, end in ranges if start <= k < end}
    kept = {k for k in keys if objects.serial_of(k.rsplit("/", 1)[1]) < target}
    assert gone == set(keys) - kept
    assert f"{prefix}/kube-system/x" not in {
        k for start, end in ranges for k in [f"{prefix}/kube-system/x"] if start <= k < end
    }


def test_a_template_whose_pods_were_replaced_still_clones_whole_workloads() -> None:
    """serve's bench deletes pods of namespace bench; their ReplicaSet's replacements have other names."""
    text = json.dumps(parts())
    old = sorted(o["metadata"]["name"] for p, o in parts() if p == "/registry/pods")
    for r, name in enumerate(old):
        text = text.replace(name, f"app-000000-{objects.template_hash('app-000000')}-zz{r:03d}")
    replaced = [(p, o) for p, o in json.loads(text)]
    objs = {k: json.loads(v) for k, v in etcd_fill.Cloner(replaced, 10, NODES).objects(42)}
    name = objects.workload_name(42)
    pods = {o["metadata"]["name"] for o in objs.values() if o["kind"] == "Pod"}
    assert pods == {objects.pod_name(name, r) for r in range(10)}
    (slice_,) = [o for o in objs.values() if o["kind"] == "EndpointSlice"]
    assert {e["targetRef"]["name"] for e in slice_["endpoints"]} == pods
    assert "zz0" not in json.dumps(list(objs.values()))
