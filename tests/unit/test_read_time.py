"""A Lease is judged at the time its list was read (Snapshot.read_at), not at the end of a slow collection:
the lab's real snapshots (tests/unit/data/lab-*.json, captured from the lab cluster), their collection
made to end 115 s after the Leases were read, as a 150,000-pod check on a busy control plane did."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec

from kplanediag.analysis.report import analyze
from kplanediag.analysis.whatif.edits import fail_nodes
from kplanediag.snapshot import Snapshot, load_snapshot, save_snapshot
from tests.unit.factories import DATA

SLOW = timedelta(seconds=115)
LEASE_LISTS = ("leases (kube-system)", "leases (kube-node-lease)")


def slow(snap: Snapshot, read: bool = True) -> Snapshot:
    """``snap`` as if its last list ended SLOW after the Leases were read (``read``: and said so)."""
    later = snap.collected_at + SLOW
    read_at = dict.fromkeys(LEASE_LISTS, snap.collected_at) if read else {}
    local = snap.local_clock + SLOW if snap.local_clock else None
    return msgspec.structs.replace(snap, collected_at=later, local_clock=local, read_at=read_at)


def codes(snap: Snapshot) -> list[str]:
    return sorted(f.code for f in analyze(snap).findings)


def verdict(snap: Snapshot) -> tuple[str, list[str], list[tuple[str, str | None, str]]]:
    report = analyze(snap)
    return report.status, codes(snap), sorted((c.name, c.node, str(c.status)) for c in report.components)


def test_a_slow_collection_judges_leases_when_they_were_read() -> None:
    for name in ("lab-healthy", "lab-scheduler-stale", "lab-worker-silenced"):
        snap = load_snapshot(DATA / f"{name}.json")
        assert verdict(slow(snap)) == verdict(snap), name


def test_without_read_times_the_same_collection_looks_like_failing_writes() -> None:
    """What a file or an older snapshot (no read_at) still gets: judged at collected_at."""
    snap = load_snapshot(DATA / "lab-healthy.json")
    assert "KPD-422" not in codes(snap)
    assert "KPD-422" in codes(slow(snap, read=False))


def test_read_time_is_never_after_the_collection() -> None:
    snap = load_snapshot(DATA / "lab-healthy.json")
    late = msgspec.structs.replace(snap, read_at={"leases (kube-system)": snap.collected_at + SLOW})
    assert late.read_time("leases", "kube-system") == snap.collected_at
    assert late.read_time("leases", "kube-node-lease") == snap.collected_at  # not read: collected_at
    assert late.read_time("pods") == snap.collected_at


def test_read_times_are_saved_and_loaded(tmp_path: Path) -> None:
    snap = slow(load_snapshot(DATA / "lab-healthy.json"))
    path = tmp_path / "snap.json"
    save_snapshot(snap, path)
    loaded = load_snapshot(path)
    assert loaded.read_at == snap.read_at and loaded == snap
    assert load_snapshot(DATA / "lab-healthy.json").read_at == {}  # a file without them: judged at collected_at


def test_what_if_a_node_fails_after_a_slow_collection() -> None:
    """what-if makes a node's Lease stale by its read time, so a slow collection does not hide the failure."""
    snap = slow(load_snapshot(DATA / "lab-healthy.json"))
    node = next(n.metadata.name for n in snap.nodes if "worker" in n.metadata.name)
    failed = analyze(fail_nodes(snap, {node}, snap.collected_at))
    kubelet = next(c for c in failed.components if c.name == "kubelet" and c.node == node)
    assert kubelet.status.value != "healthy"
