"""What a run learns about the API server beyond its objects: its serving certificate, the parts of
/metrics kplanediag judges (etcd storage, APF, webhook calls), and how long it took to answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from kplanediag.snapshot.kinds import Time


class Record(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Options of every record of a snapshot that is not a Kubernetes object (saved as they are, so
    defaults are kept explicit); model.py's records share it."""


class Certificate(Record, frozen=True):
    """The API server's serving certificate (the leaf of the chain it presented)."""

    subject: str = ""
    issuer: str = ""
    not_before: Time | None = None
    not_after: Time | None = None
    dns_names: tuple[str, ...] = ()


class StorageSize(Record, frozen=True):
    """One storage backend's database size as the API server last sampled it."""

    cluster: str  # storage_cluster_id (or the etcd endpoint of older metric names)
    bytes: float
    metric: str  # the metric family it came from


class PriorityLevel(Record, frozen=True):
    """API Priority and Fairness state of one priority level at the moment /metrics was read.
    ``rejected`` counts since the API server started (a counter), by reason."""

    name: str
    waiting: int = 0  # requests in queue now
    executing_seats: float = 0.0
    limit_seats: float | None = None  # nominal concurrency limit, seats
    rejected: Mapping[str, int] = msgspec.field(default_factory=dict)


class WebhookCalls(Record, frozen=True):
    """The API server's calls to one admission webhook (by its name in the configuration), all
    counters since the API server started. ``rejections`` by error_type (calling_webhook_error: the
    call failed with failurePolicy Fail; no_error: the webhook denied; apiserver_internal_error),
    ``codes`` calls by HTTP code (200 allowed; a denial's code; 503 or the webhook's own code for a
    failed call), ``ignored_errors`` the calls not 200 that were not rejected (failed, failurePolicy
    Ignore); ``buckets`` the cumulative duration histogram (upper bound in seconds -> calls, +Inf
    included). ``fail_open`` None: no sample of that family (older servers do not export it)."""

    name: str
    type: str = ""  # "validating" | "admit" (mutating), as the API server labels it
    rejections: Mapping[str, int] = msgspec.field(default_factory=dict)
    codes: Mapping[str, int] = msgspec.field(default_factory=dict)
    ignored_errors: int = 0
    fail_open: int | None = None
    buckets: Mapping[str, int] = msgspec.field(default_factory=dict)
    duration_sum: float = 0.0
    duration_count: int = 0


class ServerMetrics(Record, frozen=True):
    """What was read from the API server's /metrics. ``families`` names the families present, so
    that a metric this server version does not export is told from one that is zero."""

    storage: tuple[StorageSize, ...] = ()
    objects: Mapping[str, int] = msgspec.field(default_factory=dict)  # apiserver_storage_objects per resource
    storage_errors: Mapping[str, int] = msgspec.field(default_factory=dict)  # etcd_request_errors_total per operation
    priority_levels: tuple[PriorityLevel, ...] = ()
    webhooks: tuple[WebhookCalls, ...] = ()  # admission webhooks the API server has called
    families: tuple[str, ...] = ()
    bytes_read: int = 0


class RequestTime(Record, frozen=True):
    """How long the API server took to answer one of kplanediag's calls (a list: all its pages)."""

    source: str  # "version", "livez", "readyz", "metrics", or a list's label
    kind: str  # "get" (one object or endpoint) | "list" (cluster-scoped) | "list-namespaced"
    seconds: float
    slowest_page: float | None = None
    pages: int = 1
    status: int | None = None


@dataclass(frozen=True)
class WatchStatus:
    """What one cache can say of itself at a given moment, for the check's gaps, /readyz and /metrics."""

    label: str  # the list call's label (pods, leases (kube-node-lease), ...)
    synced: bool  # listed at least once
    stale: bool  # not synced, or no word from the server within its window (collect/watch)
    silent_for: float | None  # seconds since the last word from the server (None: never)
    objects: int
    events: int
    lists: int  # lists made (the first and every relist)
    restarts: int  # watches made again after a dropped or failed one
    requests: int  # list pages and watch requests made
    error: str  # the last failure, "" when none
