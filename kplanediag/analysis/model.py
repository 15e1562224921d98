"""The results of analysis, as frozen dataclasses: components, findings, blast-radius entries, report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Plane(StrEnum):
    CONTROL = "control-plane"
    DATA = "data-plane"
    CROSS = "cross-plane"  # configured in the control plane, served by pods: webhooks, aggregated APIs


class Status(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class Impact(StrEnum):
    OUTAGE = "outage"
    DEGRADED = "degraded"


STATUS_RANK = {Status.DOWN: 0, Status.DEGRADED: 1, Status.UNKNOWN: 2, Status.HEALTHY: 3}
"""Sort key for "worst first"."""


@dataclass(frozen=True)
class Component:
    """One instance of a control-plane or data-plane component, with the evidence it was found by."""

    name: str
    plane: Plane
    status: Status
    node: str | None = None
    version: str | None = None
    evidence: tuple[str, ...] = ()
    detail: str = ""
    role: str | None = None  # leader-elected instances: "leader" | "standby"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    plane: Plane
    component: str
    subject: str
    message: str
    since: datetime | None = None  # when the state it reports began, where an object says it
    caused_by: str | None = None  # the root cause that explains it (analysis/causes): "CODE subject"

    @property
    def key(self) -> str:
        """How a cause is named by the findings it explains: code and subject."""
        return f"{self.code} {self.subject}"


@dataclass(frozen=True)
class Impacted:
    """A workload or Service that loses pods: ``lost`` of them, ``ready_elsewhere`` still serving."""

    kind: str
    namespace: str
    name: str
    impact: Impact
    ready_elsewhere: int
    lost: int


@dataclass(frozen=True)
class Affected:
    nodes: tuple[str, ...] = ()
    pods: int = 0
    workloads: tuple[Impacted, ...] = ()
    services: tuple[Impacted, ...] = ()
    namespaces: tuple[str, ...] = ()
    disruption_budgets: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlastEntry:
    """What one current failure breaks, what it degrades, and what still works."""

    failure: str
    plane: Plane
    scope: str  # "management" | "node" | "cluster"
    summary: str
    affected: Affected
    breaks: tuple[str, ...]
    still_works: tuple[str, ...]
    failure_class: str  # one of analysis/knowledge/classes.py's CLASSES: what /metrics labels it by
    component: str  # the component whose failure it is (kubelet for a node failure)
    severity: Severity = Severity.WARNING  # the root cause's: entries are ordered worst first
    cause: Finding | None = None  # the root-cause finding this entry is the blast radius of
    effects: tuple[str, ...] = ()  # what else the cause explains (findings it absorbs, instances, pods)


@dataclass(frozen=True)
class ClusterInfo:
    server: str | None
    version: str | None
    control_plane_mode: str  # "self-hosted" | "managed" | "unknown"
    collected_at: datetime
    evaluated_at: datetime
    mode_evidence: tuple[str, ...] = ()
    profile: str = "unknown"
    profile_evidence: tuple[str, ...] = ()
    single_node: bool = False
    observations: tuple[str, ...] = ()  # facts worth a line: etcd size against quota, certificate expiry
    collected_at_from: str = ""  # how a file's capture time was told (Snapshot.collected_at_from)
    judged_by: str = ""  # the clock "now" was read from (analysis/clock.py)
    clock_note: str = ""  # said when that clock is not the usual one: "judged by this machine's clock (...)"

    @property
    def told_by(self) -> tuple[str, ...]:
        """How the capture time was told and which clock judged, as lines (none for a usual live check)."""
        return tuple(line for line in (self.collected_at_from, self.clock_note) if line)
