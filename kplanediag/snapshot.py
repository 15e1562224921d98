"""The collected cluster state as plain data: produced by collect, read by analysis, saved by users.

Also reads a saved snapshot back, or a plain ``kind: List`` as printed by ``kubectl get ... -o json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
SNAPSHOT_KIND = "KplanediagSnapshot"

Obj = Mapping[str, Any]
"""One Kubernetes object as the API server sent it (raw JSON, never a model class)."""

# Every list kplanediag collects: List item kind -> resource key in the snapshot.
RESOURCE_KINDS: Mapping[str, str] = {
    "Node": "nodes",
    "Pod": "pods",
    "Lease": "leases",
    "DaemonSet": "daemonsets",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "ReplicaSet": "replicasets",
    "Service": "services",
    "EndpointSlice": "endpointslices",
    "PodDisruptionBudget": "poddisruptionbudgets",
}
RESOURCES: tuple[str, ...] = tuple(RESOURCE_KINDS.values())
PROBES = ("version", "livez", "readyz")

_CHECK_LINE = re.compile(r"^\[(?P<mark>[+-])\](?P<name>[^ ]+)\s*(?P<rest>.*)$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class SnapshotError(ValueError):
    """A file that cannot be read as a snapshot or a kubectl List."""


@dataclass(frozen=True)
class HealthCheck:
    """One ``[+]name ok`` / ``[-]name failed: reason`` line of /livez?verbose or /readyz?verbose."""

    name: str
    ok: bool
    message: str = ""


@dataclass(frozen=True)
class Probe:
    """The answer of one health endpoint; ``status`` is None when the request got no HTTP answer."""

    endpoint: str
    status: int | None
    checks: tuple[HealthCheck, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def failed_checks(self) -> tuple[HealthCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)


@dataclass(frozen=True)
class Gap:
    """Something that could not be observed, and why ("leases: forbidden")."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class Snapshot:
    """Everything one run collected. ``resources`` holds only the lists that were read."""

    collected_at: datetime
    source: str
    server: str | None = None
    reachable: bool = True
    version: Mapping[str, Any] | None = None
    livez: Probe | None = None
    readyz: Probe | None = None
    resources: Mapping[str, tuple[Obj, ...]] = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()

    def items(self, resource: str) -> tuple[Obj, ...]:
        """The objects of one resource; empty when it was not collected (see ``has``)."""
        return self.resources.get(resource, ())

    def has(self, resource: str) -> bool:
        return resource in self.resources


def parse_health_body(body: str) -> tuple[HealthCheck, ...]:
    """Parse the check lines of a verbose health endpoint; other lines are ignored."""
    checks = []
    for line in body.splitlines():
        m = _CHECK_LINE.match(line.strip())
        if m:
            rest = m.group("rest").strip()
            message = "" if rest == "ok" else rest.removeprefix("failed:").strip() or rest
            checks.append(HealthCheck(m.group("name"), m.group("mark") == "+", message))
    return tuple(checks)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp (Time or MicroTime) as an aware datetime; None if absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- saving -------------------------------------------------------------------------------------


def _probe_to_dict(probe: Probe | None) -> dict[str, Any] | None:
    if probe is None:
        return None
    return {
        "endpoint": probe.endpoint,
        "status": probe.status,
        "error": probe.error,
        "checks": [{"name": c.name, "ok": c.ok, "message": c.message} for c in probe.checks],
    }


def snapshot_to_dict(snap: Snapshot) -> dict[str, Any]:
    return {
        "kind": SNAPSHOT_KIND,
        "schemaVersion": SCHEMA_VERSION,
        "collectedAt": format_time(snap.collected_at),
        "source": snap.source,
        "server": snap.server,
        "reachable": snap.reachable,
        "version": snap.version,
        "livez": _probe_to_dict(snap.livez),
        "readyz": _probe_to_dict(snap.readyz),
        "resources": {key: list(items) for key, items in snap.resources.items()},
        "gaps": [{"source": g.source, "reason": g.reason} for g in snap.gaps],
    }


def save_snapshot(snap: Snapshot, path: Path) -> None:
    path.write_text(json.dumps(snapshot_to_dict(snap), separators=(",", ":")) + "\n")


# --- loading ------------------------------------------------------------------------------------


def _probe_from_dict(raw: Any) -> Probe | None:
    if raw is None:
        return None
    checks = tuple(HealthCheck(c["name"], bool(c["ok"]), c.get("message", "")) for c in raw["checks"])
    return Probe(raw["endpoint"], raw.get("status"), checks, raw.get("error", ""))


def snapshot_from_dict(raw: Mapping[str, Any]) -> Snapshot:
    version = raw.get("schemaVersion")
    if version != SCHEMA_VERSION:
        raise SnapshotError(f"unsupported snapshot schemaVersion {version!r} (this kplanediag reads {SCHEMA_VERSION})")
    try:
        collected_at = parse_time(raw["collectedAt"])
        if collected_at is None:
            raise SnapshotError(f"collectedAt is not a timestamp: {raw['collectedAt']!r}")
        return Snapshot(
            collected_at=collected_at,
            source=raw.get("source", "snapshot"),
            server=raw.get("server"),
            reachable=bool(raw.get("reachable", True)),
            version=raw.get("version"),
            livez=_probe_from_dict(raw.get("livez")),
            readyz=_probe_from_dict(raw.get("readyz")),
            resources={key: tuple(items) for key, items in raw.get("resources", {}).items() if key in RESOURCES},
            gaps=tuple(Gap(g["source"], g["reason"]) for g in raw.get("gaps", [])),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise SnapshotError(f"malformed snapshot: missing or invalid field {exc}") from exc


def _timestamps(value: Any) -> Iterator[datetime]:
    if isinstance(value, str):
        if _TIMESTAMP.match(value):
            parsed = parse_time(value)
            if parsed:
                yield parsed
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item)


def snapshot_from_list(raw: Mapping[str, Any]) -> Snapshot:
    """A ``kind: List`` from kubectl (or a typed list such as NodeList, whose items carry no kind).

    Health endpoints are never in it: they become gaps.
    """
    items = raw.get("items")
    if not isinstance(items, list):
        raise SnapshotError(f"kind: {raw.get('kind')} without an items array")
    list_kind = str(raw.get("kind", ""))
    item_kind = list_kind.removesuffix("List") if list_kind != "List" else ""
    resources: dict[str, list[Obj]] = {}
    for item in items:
        key = RESOURCE_KINDS.get(item.get("kind") or item_kind) if isinstance(item, Mapping) else None
        if key:
            resources.setdefault(key, []).append(item)
    newest = max(_timestamps(items), default=None)
    if newest is None:
        raise SnapshotError("the List holds no timestamp to take as 'now': pass --at")
    gaps = [Gap(p, "not in a kubectl List") for p in PROBES]
    gaps += [Gap(r, "not in the input List") for r in RESOURCES if r not in resources]
    return Snapshot(
        collected_at=newest,
        source="kubectl-list",
        resources={key: tuple(objs) for key, objs in resources.items()},
        gaps=tuple(gaps),
    )


def load_snapshot(path: Path) -> Snapshot:
    """Read a saved snapshot or a kubectl List; every problem is a SnapshotError with a clear text."""
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise SnapshotError(f"{path}: expected a JSON object")
    kind = raw.get("kind")
    if kind == SNAPSHOT_KIND:
        return snapshot_from_dict(raw)
    if kind == "List" or (isinstance(kind, str) and kind.endswith("List")):
        return snapshot_from_list(raw)
    raise SnapshotError(f"{path}: kind {kind!r} is neither a kplanediag snapshot nor a kubectl List")
