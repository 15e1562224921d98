"""The collected cluster state as typed data: the kinds (kinds.py) and how each is read (registry.py),
one run's Snapshot (model.py), item-by-item decoding (decode.py) and files, saved and loaded (files.py)."""

from kplanediag.snapshot.errors import SnapshotError
from kplanediag.snapshot.files import load_bytes, load_snapshot, save_snapshot
from kplanediag.snapshot.model import (
    PROBES,
    RESOURCES,
    Gap,
    HealthCheck,
    Probe,
    Resources,
    Snapshot,
    VersionInfo,
    format_time,
    minor_version,
    parse_health_body,
    parse_time,
)

__all__ = [
    "PROBES",
    "RESOURCES",
    "Gap",
    "HealthCheck",
    "Probe",
    "Resources",
    "Snapshot",
    "SnapshotError",
    "VersionInfo",
    "format_time",
    "load_bytes",
    "load_snapshot",
    "minor_version",
    "parse_health_body",
    "parse_time",
    "save_snapshot",
]
