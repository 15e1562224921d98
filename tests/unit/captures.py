"""The real captures of ../shared/real-captures (sources and correct diagnoses in its README), loaded
at their capture time, optionally edited first (each test that edits one says what and why)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kplanediag.analysis.index import ClusterIndex
from kplanediag.snapshot import Snapshot, parse_time
from kplanediag.snapshot.files import load_snapshot

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "real-captures"
needs_captures = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"{CAPTURES} not present")
Edit = Callable[[dict[str, Any]], None]


def capture_time(name: str) -> datetime:
    at = parse_time(json.loads((CAPTURES / "capture-times.json").read_text())[name])
    assert at is not None
    return at


def capture(name: str, tmp_path: Path | None = None, edit: Edit | None = None) -> Snapshot:
    """The capture as a Snapshot; with ``edit``, its JSON edited and written under ``tmp_path`` first."""
    path = CAPTURES / f"{name}.json"
    if edit is not None:
        assert tmp_path is not None
        data = json.loads(path.read_text())
        edit(data)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
    return load_snapshot(path)


def capture_index(name: str, tmp_path: Path | None = None, edit: Edit | None = None) -> ClusterIndex:
    return ClusterIndex.build(capture(name, tmp_path, edit), capture_time(name))


def make_unschedulable(pod: dict[str, Any], message: str, since: str) -> None:
    """Edit a captured pod into one Pending Unschedulable since ``since`` with the scheduler's ``message``."""
    pod["spec"].pop("nodeName", None)
    pod["status"] = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastTransitionTime": since,
            }
        ],
    }
