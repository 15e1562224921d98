"""What a run learns about the API server beyond its objects: the serving certificate seen in the
TLS handshake, the parts of /metrics kplanediag judges (etcd storage, API Priority and Fairness),
and how long the server took to answer kplanediag's own requests."""

from __future__ import annotations

from collections.abc import Mapping

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
    executing_seats: float = 0
    limit_seats: float | None = None  # nominal concurrency limit, seats
    rejected: Mapping[str, int] = msgspec.field(default_factory=dict)


class ServerMetrics(Record, frozen=True):
    """What was read from the API server's /metrics. ``families`` names the families present, so
    that a metric this server version does not export is told from one that is zero."""

    storage: tuple[StorageSize, ...] = ()
    objects: Mapping[str, int] = msgspec.field(default_factory=dict)  # apiserver_storage_objects per resource
    storage_errors: Mapping[str, int] = msgspec.field(default_factory=dict)  # etcd_request_errors_total per operation
    priority_levels: tuple[PriorityLevel, ...] = ()
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
