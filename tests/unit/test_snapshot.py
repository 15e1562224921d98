"""Snapshot files: health-check parsing, version-2 save/load round trip, version-1 snapshots, kubectl
Lists (JSON and YAML), malformed items as gaps, bad files as clear errors. Data: the lab captures."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
import yaml

from kplanediag.analysis.model import Status
from kplanediag.analysis.report import analyze
from kplanediag.snapshot import (
    RESOURCES,
    HealthCheck,
    SnapshotError,
    load_snapshot,
    parse_health_body,
    save_snapshot,
)
from kplanediag.snapshot.bundles import FORMATS
from kplanediag.snapshot.kinds import Pod
from tests.unit.factories import DATA, items, raw, snapshot_from_dict, statuses

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
        HealthCheck(name="ping", ok=True),
        HealthCheck(name="log", ok=True),
        HealthCheck(name="etcd", ok=False, message="reason withheld"),
        HealthCheck(name="poststarthook/start-apiserver-admission-initializer", ok=True),
        HealthCheck(name="etcd-readiness", ok=False, message="reason withheld"),
    )


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    original = load_snapshot(DATA / "lab-worker-silenced.json")  # a version-1 file: whole objects
    path = tmp_path / "snap.json"
    save_snapshot(original, path)
    saved = json.loads(path.read_text())
    assert (saved["kind"], saved["snapshotVersion"]) == ("KplanediagSnapshot", 2)
    assert "managedFields" not in path.read_text()  # only the typed fields are kept
    assert path.stat().st_size < (DATA / "lab-worker-silenced.json").stat().st_size / 2
    loaded = load_snapshot(path)
    assert loaded == original
    assert len(loaded.pods) == 19 and loaded.counts()["leases"] == 6
    assert analyze(loaded) == analyze(original)


def test_a_malformed_item_is_a_named_gap_not_a_lost_list(tmp_path: Path) -> None:
    data = raw("lab-healthy")
    first, second = items(data, "pods")[:2]
    first["status"]["phase"] = 7  # wrong type
    second["metadata"] = "not an object"
    snap = snapshot_from_dict(data)
    assert len(snap.pods) == len(items(raw("lab-healthy"), "pods")) - 2
    (gap,) = [g for g in snap.gaps if g.source == "pods"]
    name = f"{first['metadata']['namespace']}/{first['metadata']['name']}"
    assert gap.reason.startswith("2 items could not be read and are left out: ")
    assert f"{name} (Expected `str`, got `int` - at `$.status.phase`)" in gap.reason
    assert "an item without a name (Expected `object`, got `str` - at `$.metadata`)" in gap.reason
    rep = analyze(snap)
    assert "pods: 2 items could not be read" in " ".join(rep.gaps)
    assert any(f.code == "KPD-900" and f.subject == "pods" for f in rep.findings)


def test_typed_objects_read_the_api_fields() -> None:
    pod = next(p for p in snapshot_from_dict(raw("lab-healthy")).pods if p.name.startswith("web-"))
    assert isinstance(pod, Pod)
    assert pod.namespace == "shop" and pod.spec.node_name.startswith("kplanediag-")
    assert pod.controller is not None and pod.controller.kind == "ReplicaSet"
    assert any(t.key == "node.kubernetes.io/unreachable" and t.toleration_seconds == 300 for t in pod.spec.tolerations)
    assert msgspec.json.decode(msgspec.json.encode(pod), type=Pod) == pod


def kubectl_list(name: str, kinds: tuple[str, ...] | None = None) -> dict[str, object]:
    data = raw(name)
    objs = [o for key in data["resources"] for o in items(data, key) if kinds is None or o["kind"] in kinds]
    return {"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}


def test_kubectl_list_input(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps(kubectl_list("lab-worker-silenced")))
    snap = load_snapshot(path)
    assert snap.source == "kubectl-list"
    # the capture predates the API kinds (webhooks, APIServices, CSRs): each is named as not in the List
    captured = raw("lab-worker-silenced")["resources"]
    assert [str(g) for g in snap.gaps] == [
        "version: not in a kubectl List",
        "livez: not in a kubectl List",
        "readyz: not in a kubectl List",
        *(f"{r}: not in the input List" for r in RESOURCES if r not in captured),
    ]
    assert "validatingwebhookconfigurations: not in the input List" in map(str, snap.gaps)
    rep = analyze(snap)
    # input limits are gaps, not failures: no KPD-900, and the API server is not down: with no health
    # endpoint in a file, its Ready static pod (the kubelet probes /readyz) is the evidence
    assert "KPD-900" not in {f.code for f in rep.findings}
    assert statuses(rep, "kube-apiserver") == {"kplanediag-control-plane": Status.HEALTHY}
    api = next(c for c in rep.components if c.name == "kube-apiserver")
    assert "pod Ready: the kubelet's probes pass" in api.evidence
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
    assert len(load_snapshot(path).nodes) == 3


def test_yaml_list_input(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump(kubectl_list("lab-worker-silenced")))
    from_yaml = load_snapshot(path)
    json_path = tmp_path / "list.json"
    json_path.write_text(json.dumps(kubectl_list("lab-worker-silenced")))
    assert from_yaml.resources == load_snapshot(json_path).resources
    assert statuses(analyze(from_yaml), "kubelet")["kplanediag-worker"] is Status.DOWN


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "expected a JSON or YAML object"),
        ("a: [b", "is not JSON or YAML"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "expected a JSON or YAML object"),
        ('{"kind": "Pod"}', "neither a kplanediag snapshot nor a kubectl List"),
        ('{"kind": "KplanediagSnapshot", "schemaVersion": 99}', "unsupported snapshot version 99"),
        ('{"kind": "KplanediagSnapshot", "snapshotVersion": 3}', "unsupported snapshot version 3"),
        ('{"kind": "KplanediagSnapshot", "schemaVersion": 1}', "malformed snapshot"),
        ('{"kind": "KplanediagSnapshot", "snapshotVersion": 2, "collectedAt": "x"}', "not a timestamp"),
        (
            '{"kind": "KplanediagSnapshot", "snapshotVersion": 2, "collectedAt": "2026-01-01T00:00:00Z", '
            '"resources": {"nodes": "x"}}',
            "malformed snapshot",
        ),
        ('{"kind": "List", "items": []}', "no timestamp"),
        ('{"kind": "List"}', "without an items array"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(path)


@pytest.mark.parametrize("content", ["kplanediag-worker\n", "root:x:0:0:root:/root:/bin/bash\n", "", "[1, 2]"])
def test_text_of_no_format_names_every_format_read(tmp_path: Path, content: str) -> None:
    """A plain file given to --from (a host name, /etc/passwd, nothing): the error lists the bundle
    formats too, as the errors for a directory or an archive of none of them do."""
    path = tmp_path / "hostname"
    path.write_text(content)
    with pytest.raises(SnapshotError, match="expected a JSON or YAML object") as raised:
        load_snapshot(path)
    assert str(raised.value).endswith(f"kplanediag reads: {FORMATS}")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"cannot read .*: No such file"):
        load_snapshot(tmp_path / "absent.json")


def test_encoding_a_snapshot_makes_no_copy_of_it() -> None:
    """A live check keeps its snapshot as the last known state, encoded whole: joining the head
    and the body as bytes cost three times its size (255 MB peak at 30,000 pods); encoded into one
    buffer it costs its size and the buffer's growth."""
    import tracemalloc  # noqa: PLC0415

    from bench.offline import synthesize  # noqa: PLC0415
    from kplanediag.snapshot.files import load_bytes  # noqa: PLC0415
    from kplanediag.snapshot.writer import encode_snapshot  # noqa: PLC0415
    from tests.unit.factories import snapshot_from_dict  # noqa: PLC0415

    snap = snapshot_from_dict(synthesize(200, 10, 50))
    tracemalloc.start()
    try:
        data = encode_snapshot(snap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data) > 2 << 20
    assert peak < 1.7 * len(data), f"peak {peak / 2**20:.1f} MiB for {len(data) / 2**20:.1f} MiB"
    assert load_bytes(bytes(data)).pods == snap.pods


def test_a_snapshot_is_written_in_pieces_to_the_byte(tmp_path: Path) -> None:
    """``snapshot save`` and the last known state write the lists a chunk of items at a time: the same
    bytes as the one-buffer encoding, for every snapshot of the suite's data and a big synthetic one,
    in a fraction of its size (the whole file in memory was 30 MB beside a 30,000-pod check)."""
    import io  # noqa: PLC0415
    import tracemalloc  # noqa: PLC0415

    from bench.offline import synthesize  # noqa: PLC0415
    from kplanediag.snapshot.writer import TooBig, encode_snapshot, write_snapshot  # noqa: PLC0415
    from tests.unit.factories import snapshot_from_dict  # noqa: PLC0415

    for path in sorted(DATA.glob("*.json")):
        small = load_snapshot(path)
        out = io.BytesIO()
        assert write_snapshot(small, out) == len(encode_snapshot(small)), path.name
        assert out.getvalue() == bytes(encode_snapshot(small)) + b"\n", path.name
    snap = snapshot_from_dict(synthesize(200, 10, 50))
    whole = bytes(encode_snapshot(snap))
    file = tmp_path / "big.json"
    with file.open("wb") as handle:
        tracemalloc.start()
        try:
            write_snapshot(snap, handle)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert file.read_bytes() == whole + b"\n"
    assert peak < 0.4 * len(whole), f"peak {peak / 2**20:.1f} MiB for {len(whole) / 2**20:.1f} MiB"
    with pytest.raises(TooBig):
        write_snapshot(snap, io.BytesIO(), limit=len(whole) - 1)
    assert write_snapshot(snap, io.BytesIO(), limit=len(whole)) == len(whole)


def test_an_input_without_timestamps_is_read_at_the_given_at(tmp_path: Path) -> None:
    """The lab's real node List (tests/unit/data/wire/nodes.json) with every timestamp removed, as a
    List and as a cluster-info dump: refused without --at ('pass --at'), read at --at with it, and
    the report says the time came from --at (before, --at did not help: the loader had refused)."""
    import re  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from kplanediag.snapshot import SnapshotError, load_snapshot, parse_time  # noqa: PLC0415

    stamp = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z")

    def untimed(value: object) -> object:
        if isinstance(value, dict):
            return {k: untimed(v) for k, v in value.items() if not (isinstance(v, str) and stamp.fullmatch(v))}
        return [untimed(v) for v in value] if isinstance(value, list) else value

    text = json.dumps(untimed(json.loads((DATA / "wire" / "nodes.json").read_text())))
    assert not stamp.search(text)
    listed = tmp_path / "nodes.json"
    listed.write_text(text)
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "nodes.json").write_text(text)
    at = parse_time("2026-11-23T22:30:00Z")
    for path in (listed, dump):
        with pytest.raises(SnapshotError, match="pass --at"):
            load_snapshot(path)
        snap = load_snapshot(path, at)
        assert snap.collected_at == at and snap.collected_at_from.startswith("--at")
        assert len(snap.nodes) == 3
    args = ["check", "-o", "json", "--from", str(listed), "--at", "2026-11-23T22:30:00Z"]
    run = subprocess.run(
        [sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode in (0, 1, 2), run.stderr
    assert json.loads(run.stdout)["cluster"]["collectedAtFrom"].startswith("--at")
