"""One run's collected state: the typed lists, the health endpoints, the server version and the gaps
(what could not be observed, and why). Produced by collect or read from a file; read by analysis."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, TypeVar

import msgspec

from kplanediag.snapshot.api_kinds import (
    APIService,
    CertificateSigningRequest,
    Event,
    MutatingWebhookConfiguration,
    ValidatingAdmissionPolicy,
    ValidatingWebhookConfiguration,
)
from kplanediag.snapshot.kinds import (
    DaemonSet,
    Deployment,
    EndpointSlice,
    Lease,
    Node,
    Pod,
    PodDisruptionBudget,
    ReplicaSet,
    Resource,
    Service,
    StatefulSet,
)
from kplanediag.snapshot.registry import KIND_OF_RESOURCE as KIND_OF_RESOURCE  # noqa: PLC0414 (re-exported)
from kplanediag.snapshot.registry import KIND_SPECS
from kplanediag.snapshot.registry import RESOURCE_OF_KIND as RESOURCE_OF_KIND  # noqa: PLC0414 (re-exported)
from kplanediag.snapshot.server import Certificate, Record, RequestTime, ServerMetrics

PROBES = ("version", "livez", "readyz")
THROTTLED = "throttled (HTTP 429)"  # the reason of a gap the API server's rate limits caused (KPD-441)
INPUT_LIMIT = "not in "  # the reason of a gap that only says what a file's format holds: "not in a kubectl List"
R = TypeVar("R", bound=Resource)
_CHECK_LINE = re.compile(r"^\[(?P<mark>[+-])\](?P<name>[^ ]+)\s*(?P<rest>.*)$")


class HealthCheck(Record, frozen=True):
    """One ``[+]name ok`` / ``[-]name failed: reason`` line of /livez?verbose or /readyz?verbose."""

    name: str
    ok: bool
    message: str = ""


class Probe(Record, frozen=True):
    """The answer of one health endpoint; ``status`` is None when the request got no HTTP answer."""

    endpoint: str
    status: int | None
    checks: tuple[HealthCheck, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def answered(self) -> bool:
        """The endpoint judged health: 2xx, or a 5xx failing answer. 4xx (forbidden, throttled, not
        found) is no answer about health."""
        return self.status is not None and not 400 <= self.status < 500

    @property
    def failed_checks(self) -> tuple[HealthCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)


class Gap(Record, frozen=True):
    """Something that could not be observed, and why ("leases: forbidden")."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"

    @property
    def throttled(self) -> bool:
        """The read was refused with 429 (a name that holds "429", a redacted token, is no sign of it)."""
        return THROTTLED in self.reason

    @property
    def input_limit(self) -> bool:
        """What the input file's format does not hold ("not in the must-gather"), not a failed read."""
        return self.reason.startswith(INPUT_LIMIT)


class VersionInfo(Record, frozen=True):
    """The fields of /version kplanediag uses."""

    git_version: str = ""
    major: str = ""
    minor: str = ""
    platform: str = ""


class _Lists(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The lists read; None means not collected (a gap says why), an empty tuple means none exist.
    ``Resources`` adds one field per kind of registry.py, named by its ``resource``, in its order."""

    def of(self, kind: type[R]) -> tuple[R, ...] | None:
        """The items of ``kind``, None if the list was not collected."""
        items: tuple[R, ...] | None = getattr(self, RESOURCE_OF_KIND[kind.__name__])
        return items


if TYPE_CHECKING:  # mypy reads every list through the typed ``of``
    Resources = _Lists
else:
    Resources = msgspec.defstruct(
        "Resources",
        [(spec.resource, tuple[spec.kind, ...] | None, None) for spec in KIND_SPECS],
        bases=(_Lists,),
        module=__name__,
        frozen=True,
        kw_only=True,
        omit_defaults=True,
    )
RESOURCES: tuple[str, ...] = tuple(spec.resource for spec in KIND_SPECS)


class Items(Generic[R]):
    """``Snapshot.pods``: a typed shortcut to one kind's items, empty when not collected (see ``has``)."""

    def __init__(self, kind: type[R]) -> None:
        self.kind = kind

    def __get__(self, snapshot: Snapshot, owner: object = None) -> tuple[R, ...]:
        return snapshot.resources.of(self.kind) or ()


class Snapshot(Record, frozen=True):
    """Everything one run collected. ``resources`` holds only the lists that were read."""

    collected_at: datetime
    source: str
    collected_at_from: str = ""  # how a file's capture time was told ("" live: the API server's Date, else why not)
    server: str | None = None
    reachable: bool = True
    version: VersionInfo | None = None
    livez: Probe | None = None
    readyz: Probe | None = None
    resources: Resources = msgspec.field(default_factory=Resources)
    gaps: tuple[Gap, ...] = ()
    serving_certificate: Certificate | None = None  # None: not seen (no TLS, or not collected live)
    metrics: ServerMetrics | None = None  # None: /metrics not read (a gap says why, if it was tried)
    requests: tuple[RequestTime, ...] = ()  # timings of the live run's own requests
    # this machine's clock when the API server's Date said collected_at (live runs): the two clocks
    # are compared by the analysis (analysis/clock.py); None for files and older snapshots
    local_clock: datetime | None = None
    # the API server's time each list's objects are as of, by its label (list_label): the Date of its
    # first page, or when serve read its watch cache. A list read 40 s before the end of a slow
    # collection is 40 s older than collected_at; Leases are judged by it. Empty: files, older snapshots
    read_at: dict[str, datetime] = msgspec.field(default_factory=dict)

    def read_time(self, resource: str, namespace: str | None = None) -> datetime:
        """When a list's objects were read: its ``read_at``, else (and never after) ``collected_at``."""
        read = self.read_at.get(list_label(resource, namespace))
        return self.collected_at if read is None else min(read, self.collected_at)

    def has(self, resource: str) -> bool:
        """Whether a list was collected (it may be empty)."""
        return getattr(self.resources, resource) is not None

    def counts(self) -> dict[str, int]:
        """Items per collected list."""
        return {r: len(items) for r in RESOURCES if (items := getattr(self.resources, r)) is not None}

    def items(self, kind: type[R]) -> tuple[R, ...]:
        """The items of ``kind``, empty when the list was not collected (see ``has``)."""
        return self.resources.of(kind) or ()

    # Shortcuts for the kinds analysis reads most (any kind: ``items``).
    nodes = Items(Node)
    pods = Items(Pod)
    leases = Items(Lease)
    daemonsets = Items(DaemonSet)
    deployments = Items(Deployment)
    statefulsets = Items(StatefulSet)
    replicasets = Items(ReplicaSet)
    services = Items(Service)
    endpointslices = Items(EndpointSlice)
    poddisruptionbudgets = Items(PodDisruptionBudget)
    validating_webhooks = Items(ValidatingWebhookConfiguration)
    mutating_webhooks = Items(MutatingWebhookConfiguration)
    admission_policies = Items(ValidatingAdmissionPolicy)
    apiservices = Items(APIService)
    csrs = Items(CertificateSigningRequest)
    events = Items(Event)


def list_label(resource: str, namespace: str | None = None) -> str:
    """How one list call is named in gaps and ``read_at``: ``pods``, ``leases (kube-node-lease)``."""
    return f"{resource} ({namespace})" if namespace else resource


def parse_health_body(body: str) -> tuple[HealthCheck, ...]:
    """Parse the check lines of a verbose health endpoint; other lines are ignored."""
    checks = []
    for line in body.splitlines():
        m = _CHECK_LINE.match(line.strip())
        if m:
            rest = m.group("rest").strip()
            message = "" if rest == "ok" else rest.removeprefix("failed:").strip() or rest
            checks.append(HealthCheck(name=m.group("name"), ok=m.group("mark") == "+", message=message))
    return tuple(checks)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None if absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def minor_version(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of "v1.36.2", "v1.30.1-eks-abc" or "1.29+"; None if unparseable."""
    parts = (version or "").lstrip("v").split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()))
    except (IndexError, ValueError):
        return None
