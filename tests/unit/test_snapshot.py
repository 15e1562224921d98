"""Snapshot input: health-check parsing, save/load round trip, kubectl List input, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kplanediag.analysis.model import Status
from kplanediag.analysis.report import analyze
from kplanediag.snapshot import (
    HealthCheck,
    SnapshotError,
    load_snapshot,
    parse_health_body,
    save_snapshot,
    snapshot_from_dict,
)
from tests.unit.factories import items, raw, statuses

READYZ_ETCD_DOWN = """[+]ping ok
[+]log ok
[-]etcd failed: reason withheld
[+]poststarthook/start-apiserver-admission-initializer ok
[-]etcd-readiness failed: reason withheld
readyz check failed
"""


def test_parse_health_body() -> None:
    checks = parse_health_body(READYZ_ETCD_DOWN)
    assert checks == (
        HealthCheck("ping", True),
        HealthCheck("log", True),
        HealthCheck("etcd", False, "reason withheld"),
        HealthCheck("poststarthook/start-apiserver-admission-initializer", True),
        HealthCheck("etcd-readiness", False, "reason withheld"),
    )


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    original = snapshot_from_dict(raw("lab-worker-silenced"))
    path = tmp_path / "snap.json"
    save_snapshot(original, path)
    assert load_snapshot(path) == original


def kubectl_list(name: str, kinds: tuple[str, ...] | None = None) -> dict[str, object]:
    data = raw(name)
    objs = [o for key in data["resources"] for o in items(data, key) if kinds is None or o["kind"] in kinds]
    return {"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}


def test_kubectl_list_input(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps(kubectl_list("lab-worker-silenced")))
    snap = load_snapshot(path)
    assert snap.source == "kubectl-list"
    assert [str(g) for g in snap.gaps] == [
        "version: not in a kubectl List",
        "livez: not in a kubectl List",
        "readyz: not in a kubectl List",
    ]
    rep = analyze(snap)
    # input limits are gaps, not failures: no KPD-900, and the API server is unknown, not down
    assert "KPD-900" not in {f.code for f in rep.findings}
    assert statuses(rep, "kube-apiserver") == {"kplanediag-control-plane": Status.UNKNOWN}
    assert statuses(rep, "kubelet")["kplanediag-worker"] is Status.DOWN
    assert rep.status == "critical"


def test_list_without_some_kinds_records_them_as_gaps(tmp_path: Path) -> None:
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(kubectl_list("lab-healthy", ("Node",))))
    snap = load_snapshot(path)
    assert snap.has("nodes") and not snap.has("pods")
    assert "pods: not in the input List" in [str(g) for g in snap.gaps]


def test_now_of_a_list_is_its_newest_timestamp(tmp_path: Path) -> None:
    data = kubectl_list("lab-healthy")
    path = tmp_path / "list.json"
    path.write_text(json.dumps(data))
    leases = [o for o in raw("lab-healthy")["resources"]["leases"]]
    newest = max(lease["spec"]["renewTime"] for lease in leases)
    assert load_snapshot(path).collected_at.isoformat().startswith(newest[:19])


def test_typed_list_items_get_their_kind(tmp_path: Path) -> None:
    data = raw("lab-healthy")
    nodes = [{k: v for k, v in n.items() if k != "kind"} for n in items(data, "nodes")]
    path = tmp_path / "nodelist.json"
    path.write_text(json.dumps({"kind": "NodeList", "apiVersion": "v1", "items": nodes}))
    assert len(load_snapshot(path).items("nodes")) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"kind": "Pod"}', "neither a kplanediag snapshot nor a kubectl List"),
        ('{"kind": "KplanediagSnapshot", "schemaVersion": 99}', "unsupported snapshot schemaVersion 99"),
        ('{"kind": "KplanediagSnapshot", "schemaVersion": 1}', "malformed snapshot"),
        ('{"kind": "List", "items": []}', "no timestamp"),
        ('{"kind": "List"}', "without an items array"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"cannot read .*: No such file"):
        load_snapshot(tmp_path / "absent.json")
