"""Real list responses of the lab cluster in JSON and protobuf (see capture.py)."""

from __future__ import annotations

from kplanediag.collect.lists import LISTS, ListCall


def capture_name(call: ListCall) -> str:
    """``nodes``, ``leases-kube-system``: the file name of a protobuf list's capture here."""
    parts = call.path.split("/")
    return f"{call.resource}-{parts[parts.index('namespaces') + 1]}" if "namespaces" in parts else call.resource


PATHS = tuple((capture_name(c), c.path) for c in LISTS if not c.json_only)  # every list read as protobuf
