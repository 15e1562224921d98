"""--from on the bundles people attach to tickets (../shared/real-bundles, README there), read in place:
each is detected by content, dated from its own metadata where it has some, and diagnosed as its
converted twin in ../shared/real-captures is, or better where the bundle holds more than the twin
kept. Also: the cluster-info dump stream, multi-document YAML, a non-bundle, a garbage member."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tracemalloc
from datetime import timedelta
from functools import cache
from pathlib import Path

import msgspec
import pytest
import yaml
from click.testing import CliRunner

from kplanediag.analysis.model import Status
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.cli import cli
from kplanediag.snapshot import Snapshot, SnapshotError, parse_time
from kplanediag.snapshot.bundles import FORMATS
from kplanediag.snapshot.bundles.documents import UNREAD, documents, prune_yaml, read_keys
from kplanediag.snapshot.bundles.events import warnings_yaml
from kplanediag.snapshot.bundles.tree import walk_archive
from kplanediag.snapshot.files import load_snapshot
from tests.unit.bundle_twins import BUNDLES, CAPTURES, TWINS, Diagnosis, bundle_path, twin_report

pytestmark = pytest.mark.skipif(not BUNDLES.is_dir(), reason=f"{BUNDLES} not present")


@cache
def snap(folder: str) -> Snapshot:
    return load_snapshot(bundle_path(folder))


def report(folder: str) -> Report:
    return analyze(snap(folder))  # judged at its own capture time: no --at


# How each bundle's capture time is told, and how far from its twin's hand-chosen --at it may be.
TOLD = {
    "aks-1.16-cluster-info-dump": ("newest timestamp in the objects (a node heartbeat)", 10),
    "k3s-1.31-troubleshoot-bundle": ("newest timestamp in the objects (a Lease renewal)", 10),
    "kind-1.14-sonobuoy-results": ("sonobuoy's meta/run.log", 10),
    "kubeadm-1.8-sonobuoy-results": ("sonobuoy's meta/run.log", 10),
    "kurl-1.23-support-bundle-tree": ("newest timestamp in the objects (a container start)", 10),
    "oke-1.18-cluster-info-dump": ("newest timestamp in the objects", 10),
    # the end of the gather (10:14:13): 88 s after the twin's --at (newest heartbeat + 6 s), as the
    # must-gather's timestamp files say; no Lease was gathered, so no age depends on it
    "openshift-4.8-must-gather": ("the must-gather's timestamp files (the end of the gather)", 120),
    "rke2-1.33-cluster-info-dump": ("newest timestamp in the objects (a node heartbeat)", 10),
}

# Reading the must-gather (4 MB of xz, 97 MB unpacked, 2,000 YAML files) takes about 3 s of CPU,
# more on a loaded machine: the tests that read it get more than the unit tests' 10 s.
SLOW = pytest.mark.timeout(60)

# Where the bundle's diagnosis differs from the twin's, each difference and why the bundle's is right.
BETTER = {
    "openshift-4.8-must-gather": {
        "+component aggregated-api  healthy": "the must-gather keeps the 9 APIServices the twin dropped "
        "(v1.apps.openshift.io, ...): each Available, its Service with 3 ready endpoints",
        "+component mutating-webhook  healthy": "it keeps the 2 MutatingWebhookConfigurations (machine-api, "
        "pod-identity-webhook), each Service with ready endpoints",
        "+component validating-webhook  healthy": "it keeps the 5 ValidatingWebhookConfigurations "
        "(autoscaling, machine-api, multus, prometheusrules, snapshot), each Service with ready endpoints",
    },
}


@pytest.mark.parametrize("folder", sorted(TWINS))
@SLOW
def test_each_real_bundle_is_diagnosed_as_its_twin(folder: str) -> None:
    s = snap(folder)
    assert s.source == TWINS[folder][2]
    told, within = TOLD[folder]
    assert told in s.collected_at_from
    twin = TWINS[folder][1]
    at = parse_time(json.loads((CAPTURES / "capture-times.json").read_text())[twin])
    assert at is not None and abs(s.collected_at - at) <= timedelta(seconds=within), (s.collected_at, at)
    differences = Diagnosis.of(report(folder)).differences(Diagnosis.of(twin_report(folder)))
    assert differences == sorted(BETTER.get(folder, {})), differences


def test_the_report_says_how_the_capture_time_was_told() -> None:
    folder = "kind-1.14-sonobuoy-results"
    result = CliRunner().invoke(cli, ["check", "-o", "json", "--from", str(bundle_path(folder))])
    assert result.exit_code == 0, result.output
    cluster = json.loads(result.stdout)["cluster"]
    assert cluster["collectedAt"] == "2019-07-31T20:56:36Z"
    assert cluster["collectedAtFrom"].startswith("the last entry of sonobuoy's meta/run.log")
    table = CliRunner().invoke(cli, ["check", "--from", str(bundle_path(folder))]).stdout
    assert "captured 2019-07-31 20:56:36Z: told by the last entry of sonobuoy's meta/run.log" in table


@SLOW
def test_what_a_bundle_lacks_is_a_named_gap() -> None:
    gaps = {folder: {str(g) for g in snap(folder).gaps} for folder in TWINS}
    assert "leases: not in the must-gather" in gaps["openshift-4.8-must-gather"]
    assert "daemonsets: not in the troubleshoot support bundle" in gaps["kurl-1.23-support-bundle-tree"]
    assert "leases: not in the kubectl cluster-info dump" in gaps["rke2-1.33-cluster-info-dump"]
    assert "livez: not in the sonobuoy results" in gaps["kind-1.14-sonobuoy-results"]
    assert not any(g.startswith("version:") for g in gaps["kubeadm-1.8-sonobuoy-results"])  # serverversion.json
    assert "version: not in the must-gather" in gaps["openshift-4.8-must-gather"]
    # a gap of the format is no finding: the twin (a List, its gaps "not in the input List") has none either
    assert not [f for f in report("rke2-1.33-cluster-info-dump").findings if f.code == "KPD-900"]


def test_versions_come_from_the_bundles_version_files() -> None:
    assert report("kubeadm-1.8-sonobuoy-results").cluster.version == "v1.8.4"  # serverversion.json
    assert report("k3s-1.31-troubleshoot-bundle").cluster.version == "v1.31.2+k3s1"  # cluster_version.json
    assert report("kurl-1.23-support-bundle-tree").cluster.version == "v1.23.5"
    assert twin_report("kurl-1.23-support-bundle-tree").cluster.version is None  # the twin had none


def test_kinds_are_restored_and_sonobuoy_duplicates_dropped() -> None:
    # sonobuoy 0.10 items carry no kind (Nodes.json is a bare array); the file name tells it
    assert len(snap("kubeadm-1.8-sonobuoy-results").nodes) == 3
    # cluster-info dump items carry no kind: the List's kind tells it
    assert len(snap("oke-1.18-cluster-info-dump").nodes) == 4
    # each of the 5 namespace folders repeats every namespace's pods: 9 kube-system + 7 heptio-sonobuoy
    pods = snap("kind-1.14-sonobuoy-results").pods
    assert len(pods) == 16 and len({p.key for p in pods}) == 16


@SLOW
@pytest.mark.parametrize("folder", ["kind-1.14-sonobuoy-results", "kubeadm-1.8-sonobuoy-results"])
def test_endpoints_leader_locks_are_read_as_leases(folder: str) -> None:
    """Better evidence, same statuses: before 1.20 the scheduler and controller-manager lock
    Endpoints; the twins dropped them, so their leaders were judged healthy by the version rule
    ("before 1.20 leaders lock Endpoints or ConfigMaps") and by effects. The bundles keep the
    Endpoints: each lock, renewed 1-2 s before the capture, is the fresh leader Lease it stands for."""
    leases = {lease.key: lease for lease in snap(folder).leases}
    for name in ("kube-scheduler", "kube-controller-manager"):
        lock = leases[f"kube-system/{name}"]
        assert lock.labels == {"kplanediag.io/leader-lock": "Endpoints"}
        assert lock.spec.lease_duration_seconds == 15 and lock.spec.renew_time is not None
        assert timedelta(0) <= snap(folder).collected_at - lock.spec.renew_time <= timedelta(seconds=3)
        (comp,) = [c for c in report(folder).components if c.name == name]
        (twin,) = [c for c in twin_report(folder).components if c.name == name]
        assert comp.status is twin.status is Status.HEALTHY
        assert any(e.startswith(f"leader Lease kube-system/{name}: holder ") for e in comp.evidence), comp.evidence
        assert not any(e.startswith("leader Lease") for e in twin.evidence), twin.evidence


def test_core_events_become_the_timeline_the_twins_lacked() -> None:
    """Better evidence: the twins kept no Events; the bundles' core/v1 Events are read as
    events.k8s.io/v1 (involvedObject -> regarding, message -> note) into the timeline."""
    events = snap("k3s-1.31-troubleshoot-bundle").events
    assert events and all(e.regarding is not None and e.when is not None for e in events)
    assert any(e.note for e in events)
    entries = [e for e in report("k3s-1.31-troubleshoot-bundle").timeline if e.kind == "event"]
    assert entries and not [e for e in twin_report("k3s-1.31-troubleshoot-bundle").timeline if e.kind == "event"]
    # as a live check reads them: every event of default and kube-system, Warnings only elsewhere
    mg = snap("openshift-4.8-must-gather").events
    assert mg and all(e.type == "Warning" or e.namespace in ("default", "kube-system") for e in mg)


@SLOW
def test_warnings_cut_from_yaml_text_are_the_warnings_parsed() -> None:
    wanted = ("openshift-etcd", "openshift-ingress-canary")  # Warnings among Normal events; Normal ones only
    members = {
        path.split("/")[-3]: read()
        for path, read in walk_archive(bundle_path("openshift-4.8-must-gather"))
        if path.endswith("/core/events.yaml") and path.split("/")[-3] in wanted
    }
    for namespace, member in members.items():
        assert member is not None
        (_, _, every), (kind, _, cut) = documents(member, "all")[0], documents(warnings_yaml(member), "cut")[0]
        assert kind == "EventList"  # still the List, even with no item left
        warnings = [e for e in map(msgspec.json.decode, every) if e["type"] == "Warning"]
        assert [msgspec.json.decode(raw) for raw in cut] == warnings
        assert bool(warnings) is (namespace == "openshift-etcd") and len(every) > len(warnings)


def test_pruned_yaml_keys_are_never_read() -> None:
    assert not set(UNREAD) & read_keys()
    doc = b"metadata:\n  name: a\n  annotations:\n    x: y\n  managedFields:\n  - manager: m\n    time: t\n  uid: u\n"
    assert prune_yaml(doc) == b"metadata:\n  name: a\n  uid: u\n"


def _dump_stream(root: Path) -> bytes:
    """The dump directory as `kubectl cluster-info dump` prints it to stdout: the Lists one after
    another, each container's log between START and END lines."""
    out = [(root / "nodes.json").read_bytes()]
    for ns in sorted(p for p in root.iterdir() if p.is_dir()):
        for name in ("events", "replication-controllers", "services", "daemonsets", "deployments", "replicasets"):
            out.append((ns / f"{name}.json").read_bytes())
        out.append((ns / "pods.json").read_bytes())
        for logs in sorted(ns.glob("*/logs.txt")):
            pod = logs.parent.name
            out.append(f"==== START logs for container c of pod {ns.name}/{pod} ====\n".encode())
            out.append(logs.read_bytes() + b"{\n}\n")  # log lines may look like JSON: not read
            out.append(f"==== END logs for container c of pod {ns.name}/{pod} ====\n".encode())
    return b"".join(part if part.endswith(b"\n") else part + b"\n" for part in out)


def test_the_cluster_info_dump_stream_reads_as_its_directory(tmp_path: Path) -> None:
    folder = "aks-1.16-cluster-info-dump"
    stream = tmp_path / "dump.txt"
    stream.write_bytes(_dump_stream(bundle_path(folder)))
    read = load_snapshot(stream)
    assert read.source == "cluster-info-dump"
    assert read.counts() == snap(folder).counts()
    assert Diagnosis.of(analyze(read)) == Diagnosis.of(report(folder))


def test_multi_document_yaml_reads_as_its_list(tmp_path: Path) -> None:
    name = "kubeadm-1.27-no-cni-nodes-notready"
    data = json.loads((CAPTURES / f"{name}.json").read_text())
    path = tmp_path / "nodes.yaml"
    # as `kubectl get no -o yaml` writes a List, and a second object: one per document
    path.write_text(yaml.safe_dump_all([{"kind": "NodeList", "items": data["items"][:1]}, data["items"][1]]))
    at = parse_time(json.loads((CAPTURES / "capture-times.json").read_text())[name])
    multi = analyze(load_snapshot(path), at)
    assert len(load_snapshot(path).nodes) == 2
    assert Diagnosis.of(multi) == Diagnosis.of(analyze(load_snapshot(CAPTURES / f"{name}.json"), at))


@pytest.mark.parametrize("kind", ["directory", "gzip", "tar", "garbage-dump"])
def test_what_is_no_bundle_is_a_clear_error_naming_the_formats(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "input"
    if kind == "directory":  # with a dump's file names, but deeper than a dump keeps them
        path.mkdir()
        (path / "README.md").write_text("notes\n")
        (path / "a" / "b").mkdir(parents=True)
        (path / "a" / "b" / "nodes.json").write_text('{"kind": "NodeList", "items": []}')
    elif kind == "garbage-dump":  # a dump's file names, nothing readable in them
        path.mkdir()
        (path / "nodes.json").write_bytes(b"\x00\xff not json")
    elif kind == "gzip":
        path.write_bytes(gzip.compress(b"plain text, not a tar\n" * 100))
    else:
        with tarfile.open(path, "w") as archive:
            info = tarfile.TarInfo("notes/readme.txt")
            info.size = 5
            archive.addfile(info, io.BytesIO(b"notes"))
    with pytest.raises(
        SnapshotError, match=r"none of the formats kplanediag reads|not a readable archive|none of its files reads"
    ) as err:
        load_snapshot(path)
    assert FORMATS in str(err.value)
    result = CliRunner().invoke(cli, ["check", "--from", str(path)])
    assert result.exit_code == 3 and "must-gather" in result.stderr and "Traceback" not in result.output


def _copy_with(source: Path, target: Path, replace: dict[str, bytes]) -> None:
    """The real archive re-packed member by member, some members' bytes replaced."""
    with tarfile.open(source, "r|gz") as src, tarfile.open(target, "w:gz") as out:
        for member in src:
            handle = src.extractfile(member) if member.isfile() else None
            data = handle.read() if handle else b""
            for suffix, new in replace.items():
                if member.name.endswith(suffix):
                    data = new
            member.size = len(data)
            out.addfile(member, io.BytesIO(data) if member.isfile() else None)


def test_a_garbage_member_is_a_gap_not_a_crash(tmp_path: Path) -> None:
    source = bundle_path("kubeadm-1.8-sonobuoy-results")
    target = tmp_path / "results.tar.gz"
    _copy_with(source, target, {"resources/ns/kube-system/DaemonSets.json": b"\x00\xff garbage {[ not json"})
    read = load_snapshot(target)
    (gap,) = [g for g in read.gaps if g.source == "daemonsets"]
    assert "resources/ns/kube-system/DaemonSets.json" in gap.reason and "left out" in gap.reason
    assert len(read.nodes) == 3 and len(read.pods) == 19  # the rest is read
    rep = analyze(read)
    assert any(f.code == "KPD-900" and f.subject == "daemonsets" for f in rep.findings)  # a read that failed
    assert not [c for c in rep.components if c.status is Status.DOWN]


def test_a_cut_archive_is_read_to_the_cut(tmp_path: Path) -> None:
    whole = bundle_path("kind-1.14-sonobuoy-results").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) * 3 // 4])  # cut inside resources/ns/kube-system/core_v1_pods.json
    read = load_snapshot(cut)
    gaps = {g.source: g.reason for g in read.gaps}
    assert "cut short" in gaps["bundle"] and "core_v1_pods.json" in gaps["bundle"]
    assert gaps["pods"].startswith("not read: the archive is cut short")  # not "not in the sonobuoy results"
    assert len(read.daemonsets) == 6  # read before the cut
    assert any(f.code == "KPD-900" and f.subject == "pods" for f in analyze(read).findings)
    cut.write_bytes(whole[: len(whole) // 10])  # before any file kplanediag reads
    with pytest.raises(SnapshotError, match=r"cut short or corrupt after .* before any file kplanediag reads"):
        load_snapshot(cut)


def test_members_not_read_are_streamed_past_not_held(tmp_path: Path) -> None:
    """A bundle is never held whole: 64 MiB of host logs in the archive (what makes bundles big)
    cost a bounded buffer, not their size; only the members that hold kinds are read."""
    target = tmp_path / "big.tar.gz"
    source = bundle_path("kubeadm-1.8-sonobuoy-results")
    with tarfile.open(source, "r|gz") as src, tarfile.open(target, "w:gz", compresslevel=1) as out:
        for member in src:
            handle = src.extractfile(member) if member.isfile() else None
            out.addfile(member, io.BytesIO(handle.read()) if handle else None)
        logs = tarfile.TarInfo("plugins/systemd_logs/results/huge-node")
        logs.size = 64 << 20
        out.addfile(logs, io.BytesIO(bytes(logs.size)))
    tracemalloc.start()
    try:
        read = load_snapshot(target)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(read.nodes) == 3
    assert peak < 16 << 20, f"peak {peak / 2**20:.1f} MiB"


def test_an_unpacked_bundle_reads_as_its_archive(tmp_path: Path) -> None:
    folder = "kind-1.14-sonobuoy-results"
    with tarfile.open(bundle_path(folder)) as archive:
        archive.extractall(tmp_path, filter="data")  # the test unpacks it; kplanediag never does
    unpacked = load_snapshot(tmp_path)
    assert msgspec.json.encode(unpacked) == msgspec.json.encode(snap(folder))
