"""The API server's /metrics (Prometheus text format) read into ServerMetrics: only the families
kplanediag judges are parsed (a line is skipped by its first bytes), so a 20 MB exposition of a big
cluster costs a scan, not a parse. Older family names are read where the newer one is absent."""

from __future__ import annotations

import math
import re
from collections import defaultdict

from kplanediag.snapshot.server import PriorityLevel, ServerMetrics, StorageSize

ACCEPT = "text/plain;version=0.0.4"
# database size: the current family (1.28+), then the names it replaced
STORAGE_SIZE = (
    ("apiserver_storage_size_bytes", "storage_cluster_id"),
    ("apiserver_storage_db_total_size_in_bytes", "endpoint"),
    ("etcd_db_total_size_in_bytes", "endpoint"),
)
# objects per resource: {group, resource} since 1.34ish, then "resource.group" names
OBJECTS = ("apiserver_resource_objects", "apiserver_storage_objects", "etcd_object_counts")
STORAGE_ERRORS = "etcd_request_errors_total"
APF_WAITING = "apiserver_flowcontrol_current_inqueue_requests"
APF_EXECUTING = "apiserver_flowcontrol_current_executing_seats"
APF_LIMIT = "apiserver_flowcontrol_nominal_limit_seats"
APF_REJECTED = "apiserver_flowcontrol_rejected_requests_total"
FAMILIES = (
    *(name for name, _ in STORAGE_SIZE),
    *OBJECTS,
    STORAGE_ERRORS,
    APF_WAITING,
    APF_EXECUTING,
    APF_LIMIT,
    APF_REJECTED,
)
_PREFIXES = tuple(name.encode() for name in FAMILIES)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
Sample = tuple[dict[str, str], float]


def _sample(line: str) -> tuple[str, dict[str, str], float] | None:
    """``name{a="b"} 1.5 [timestamp]`` -> (name, labels, value); None for a line that is no sample."""
    brace = line.find("{")
    if brace >= 0:
        close = line.rfind("}")
        if close < brace:
            return None
        name, labels_text, rest = line[:brace], line[brace + 1 : close], line[close + 1 :]
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(labels_text)}
    else:
        name, _, rest = line.partition(" ")
        labels = {}
    fields = rest.split()
    if not fields:
        return None
    try:
        value = float(fields[0])
    except ValueError:
        return None
    return name.strip(), labels, value


def samples(body: bytes) -> dict[str, list[Sample]]:
    """The samples of the FAMILIES in an exposition, by family name (exact names: a histogram's
    ``_bucket`` lines of a family with a longer name are not confused with it)."""
    wanted = set(FAMILIES)
    found: dict[str, list[Sample]] = defaultdict(list)
    for raw in body.split(b"\n"):
        if not raw.startswith(_PREFIXES):
            continue
        parsed = _sample(raw.decode("utf-8", errors="replace"))
        if parsed is not None and parsed[0] in wanted and math.isfinite(parsed[2]):
            found[parsed[0]].append((parsed[1], parsed[2]))
    return dict(found)


def parse_metrics(body: bytes) -> ServerMetrics:
    found = samples(body)
    storage: list[StorageSize] = []
    for family, label in STORAGE_SIZE:
        if family in found:
            storage = [StorageSize(cluster=lab.get(label, ""), bytes=v, metric=family) for lab, v in found[family]]
            break
    objects: dict[str, int] = {}
    for family in OBJECTS:
        if family in found:
            for lab, v in found[family]:
                if v >= 0:  # -1: the count could not be read
                    group = lab.get("group", "")
                    objects[lab.get("resource", "") + (f".{group}" if group else "")] = int(v)
            break
    errors: dict[str, int] = defaultdict(int)
    for lab, v in found.get(STORAGE_ERRORS, ()):
        errors[lab.get("operation", "")] += int(v)
    return ServerMetrics(
        storage=tuple(storage),
        objects=objects,
        storage_errors=dict(errors),
        priority_levels=_priority_levels(found),
        families=tuple(sorted(found)),
        bytes_read=len(body),
    )


def _priority_levels(found: dict[str, list[Sample]]) -> tuple[PriorityLevel, ...]:
    waiting: dict[str, int] = defaultdict(int)
    executing: dict[str, float] = defaultdict(float)
    limit: dict[str, float] = {}
    rejected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for lab, v in found.get(APF_WAITING, ()):
        waiting[lab.get("priority_level", "")] += int(v)
    for lab, v in found.get(APF_EXECUTING, ()):
        executing[lab.get("priority_level", "")] += v
    for lab, v in found.get(APF_LIMIT, ()):
        limit[lab.get("priority_level", "")] = v
    for lab, v in found.get(APF_REJECTED, ()):
        if v:
            rejected[lab.get("priority_level", "")][lab.get("reason", "")] += int(v)
    names = sorted(set(waiting) | set(executing) | set(limit) | set(rejected))
    return tuple(
        PriorityLevel(
            name=name,
            waiting=waiting.get(name, 0),
            executing_seats=executing.get(name, 0.0),
            limit_seats=limit.get(name),
            rejected=dict(rejected.get(name, {})),
        )
        for name in names
    )
