"""Lease freshness, judged against each Lease's own leaseDurationSeconds (never a hard-coded one), at the
time its list was read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kplanediag.snapshot import Snapshot
from kplanediag.snapshot.kinds import Lease


@dataclass(frozen=True)
class LeaseState:
    holder: str
    age: float | None  # seconds since renewTime; None if never renewed
    duration: int | None

    @property
    def fresh(self) -> bool:
        return self.age is not None and self.duration is not None and self.age <= self.duration

    @property
    def released(self) -> bool:
        return not self.holder

    def describe(self) -> str:
        age = "never renewed" if self.age is None else f"renewed {self.age:.0f}s ago"
        duration = f"duration {self.duration}s" if self.duration is not None else "no duration"
        holder = f"holder {self.holder}" if self.holder else "no holder"
        return f"{holder}, {age} ({duration})"


def lease_now(snapshot: Snapshot, now: datetime, namespace: str) -> datetime:
    """``now`` for the Leases of ``namespace``: moved back by how long before the end of the collection
    their list was read. A 150,000-pod check on a busy control plane read them up to 115 s before its
    last answer: judged by that answer's time, every Lease looked 115 s old and writes failing."""
    return now - (snapshot.collected_at - snapshot.read_time("leases", namespace))


def lease_state(lease: Lease, now: datetime) -> LeaseState:
    spec = lease.spec
    renewed = spec.renew_time or spec.acquire_time
    return LeaseState(
        holder=spec.holder_identity or "",
        age=None if renewed is None else max(0.0, (now - renewed).total_seconds()),
        duration=spec.lease_duration_seconds,
    )
