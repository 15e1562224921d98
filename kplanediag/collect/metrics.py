"""The API server's /metrics read into ServerMetrics by prometheus_client's text parser, fed only the
lines of the families kplanediag judges (kept by their first bytes). Older names read where the newer is absent."""

from __future__ import annotations

import math
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from kplanediag.snapshot.server import PriorityLevel, ServerMetrics, StorageSize, WebhookCalls

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
# admission webhook calls, by webhook name (counters since the API server started)
WEBHOOK_REJECTIONS = "apiserver_admission_webhook_rejection_count"
WEBHOOK_REQUESTS = "apiserver_admission_webhook_request_total"
WEBHOOK_FAIL_OPEN = "apiserver_admission_webhook_fail_open_count"
WEBHOOK_DURATION = "apiserver_admission_webhook_admission_duration_seconds"
WEBHOOK_FAMILIES = (
    WEBHOOK_REJECTIONS,
    WEBHOOK_REQUESTS,
    WEBHOOK_FAIL_OPEN,
    *(f"{WEBHOOK_DURATION}_{part}" for part in ("bucket", "sum", "count")),
)
FAMILIES = (
    *(name for name, _ in STORAGE_SIZE),
    *OBJECTS,
    STORAGE_ERRORS,
    APF_WAITING,
    APF_EXECUTING,
    APF_LIMIT,
    APF_REJECTED,
    *WEBHOOK_FAMILIES,
)
_PREFIXES = tuple(name.encode() for name in FAMILIES)
Sample = tuple[dict[str, str], float]


def _parsed(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of ``text`` by prometheus_client's parser; ValueError at the first line that is no
    sample (the text format has no other error)."""
    return [(s.name, s.labels, float(s.value)) for f in text_string_to_metric_families(text) for s in f.samples]


def samples(body: bytes) -> dict[str, list[Sample]]:
    """The samples of the FAMILIES in an exposition, by family name (exact names: a histogram's
    ``_bucket`` lines of a family with a longer name are not confused with it). Lines are kept by
    their first bytes, then parsed together; a line the parser refuses is skipped alone."""
    wanted = set(FAMILIES)
    kept = [raw for raw in body.split(b"\n") if raw.startswith(_PREFIXES)]
    text = b"\n".join(kept).decode("utf-8", errors="replace")
    try:
        parsed = _parsed(text)
    except ValueError:  # one bad line: the others, one by one
        parsed = []
        for line in text.split("\n"):
            try:
                parsed += _parsed(line)
            except ValueError:
                continue
    found: dict[str, list[Sample]] = defaultdict(list)
    for name, labels, value in parsed:
        if name in wanted and math.isfinite(value):
            found[name].append((labels, value))
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
        webhooks=webhook_calls(found),
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


def webhook_calls(found: dict[str, list[Sample]]) -> tuple[WebhookCalls, ...]:
    """Admission webhook calls per webhook (name and type): rejections by error_type, requests by
    HTTP code, fail-open count (None when the family is absent) and the duration histogram, summed
    over the operation and rejected labels."""
    rejections: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    codes: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    fail_open: dict[tuple[str, str], int] = defaultdict(int)
    buckets: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sums: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)

    def key(lab: dict[str, str]) -> tuple[str, str]:
        return lab.get("name", ""), lab.get("type", "")

    for lab, v in found.get(WEBHOOK_REJECTIONS, ()):
        rejections[key(lab)][lab.get("error_type", "")] += int(v)
    ignored: dict[tuple[str, str], int] = defaultdict(int)
    for lab, v in found.get(WEBHOOK_REQUESTS, ()):
        codes[key(lab)][lab.get("code", "")] += int(v)
        if lab.get("rejected") == "false" and lab.get("code") != "200":
            ignored[key(lab)] += int(v)
    for lab, v in found.get(WEBHOOK_FAIL_OPEN, ()):
        fail_open[key(lab)] += int(v)
    for lab, v in found.get(f"{WEBHOOK_DURATION}_bucket", ()):
        buckets[key(lab)][lab.get("le", "")] += int(v)
    for lab, v in found.get(f"{WEBHOOK_DURATION}_sum", ()):
        sums[key(lab)] += v
    for lab, v in found.get(f"{WEBHOOK_DURATION}_count", ()):
        counts[key(lab)] += int(v)
    exported = WEBHOOK_FAIL_OPEN in found
    names = sorted(set(rejections) | set(codes) | set(fail_open) | set(buckets) | set(counts))
    return tuple(
        WebhookCalls(
            name=name,
            type=kind,
            rejections=dict(rejections.get((name, kind), {})),
            codes=dict(codes.get((name, kind), {})),
            ignored_errors=ignored.get((name, kind), 0),
            fail_open=fail_open.get((name, kind), 0) if exported else None,
            buckets=dict(buckets.get((name, kind), {})),
            duration_sum=sums.get((name, kind), 0.0),
            duration_count=counts.get((name, kind), 0),
        )
        for name, kind in names
    )
