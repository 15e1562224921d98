"""One run's collected state: the typed lists, the health endpoints, the server version and the gaps
(what could not be observed, and why). Produced by collect or read from a file; read by analysis."""

from __future__ import annotations

import re
from datetime import UTC, datetime

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
    Service,
    StatefulSet,
)
from kplanediag.snapshot.registry import KIND_OF_RESOURCE as KIND_OF_RESOURCE  # noqa: PLC0414 (re-exported)
from kplanediag.snapshot.registry import RESOURCE_OF_KIND as RESOURCE_OF_KIND  # noqa: PLC0414 (re-exported)
from kplanediag.snapshot.server import Certificate, Record, RequestTime, ServerMetrics

PROBES = ("version", "livez", "readyz")
THROTTLED = "throttled (HTTP 429)"  # the reason of a gap the API server's rate limits caused (KPD-441)
INPUT_LIMIT = "not in "  # the reason of a gap that only says what a file's format holds: "not in a kubectl List"
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


class Resources(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The lists read; None means not collected (a gap says why), an empty tuple means none exist.
    One field per kind of registry.py, in the saved files' order (tests/unit/test_registry.py checks)."""

    nodes: tuple[Node, ...] | None = None
    pods: tuple[Pod, ...] | None = None
    leases: tuple[Lease, ...] | None = None
    daemonsets: tuple[DaemonSet, ...] | None = None
    deployments: tuple[Deployment, ...] | None = None
    statefulsets: tuple[StatefulSet, ...] | None = None
    replicasets: tuple[ReplicaSet, ...] | None = None
    services: tuple[Service, ...] | None = None
    endpointslices: tuple[EndpointSlice, ...] | None = None
    poddisruptionbudgets: tuple[PodDisruptionBudget, ...] | None = None
    validatingwebhookconfigurations: tuple[ValidatingWebhookConfiguration, ...] | None = None
    mutatingwebhookconfigurations: tuple[MutatingWebhookConfiguration, ...] | None = None
    validatingadmissionpolicies: tuple[ValidatingAdmissionPolicy, ...] | None = None
    apiservices: tuple[APIService, ...] | None = None
    certificatesigningrequests: tuple[CertificateSigningRequest, ...] | None = None
    events: tuple[Event, ...] | None = None


RESOURCES: tuple[str, ...] = tuple(Resources.__struct_fields__)
assert set(RESOURCES) == set(KIND_OF_RESOURCE), "Resources has one field per kind of the registry"


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

    def has(self, resource: str) -> bool:
        """Whether a list was collected (it may be empty)."""
        return getattr(self.resources, resource) is not None

    def counts(self) -> dict[str, int]:
        """Items per collected list."""
        return {r: len(items) for r in RESOURCES if (items := getattr(self.resources, r)) is not None}

    # Typed shortcuts: the items of each list, empty when it was not collected (see ``has``).
    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.resources.nodes or ()

    @property
    def pods(self) -> tuple[Pod, ...]:
        return self.resources.pods or ()

    @property
    def leases(self) -> tuple[Lease, ...]:
        return self.resources.leases or ()

    @property
    def daemonsets(self) -> tuple[DaemonSet, ...]:
        return self.resources.daemonsets or ()

    @property
    def deployments(self) -> tuple[Deployment, ...]:
        return self.resources.deployments or ()

    @property
    def statefulsets(self) -> tuple[StatefulSet, ...]:
        return self.resources.statefulsets or ()

    @property
    def replicasets(self) -> tuple[ReplicaSet, ...]:
        return self.resources.replicasets or ()

    @property
    def services(self) -> tuple[Service, ...]:
        return self.resources.services or ()

    @property
    def endpointslices(self) -> tuple[EndpointSlice, ...]:
        return self.resources.endpointslices or ()

    @property
    def poddisruptionbudgets(self) -> tuple[PodDisruptionBudget, ...]:
        return self.resources.poddisruptionbudgets or ()

    @property
    def validating_webhooks(self) -> tuple[ValidatingWebhookConfiguration, ...]:
        return self.resources.validatingwebhookconfigurations or ()

    @property
    def mutating_webhooks(self) -> tuple[MutatingWebhookConfiguration, ...]:
        return self.resources.mutatingwebhookconfigurations or ()

    @property
    def admission_policies(self) -> tuple[ValidatingAdmissionPolicy, ...]:
        return self.resources.validatingadmissionpolicies or ()

    @property
    def apiservices(self) -> tuple[APIService, ...]:
        return self.resources.apiservices or ()

    @property
    def csrs(self) -> tuple[CertificateSigningRequest, ...]:
        return self.resources.certificatesigningrequests or ()

    @property
    def events(self) -> tuple[Event, ...]:
        return self.resources.events or ()


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
