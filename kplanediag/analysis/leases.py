"""Lease freshness, judged against each Lease's own leaseDurationSeconds (never a hard-coded one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def lease_state(lease: Lease, now: datetime) -> LeaseState:
    spec = lease.spec
    renewed = spec.renew_time or spec.acquire_time
    return LeaseState(
        holder=spec.holder_identity or "",
        age=None if renewed is None else max(0.0, (now - renewed).total_seconds()),
        duration=spec.lease_duration_seconds,
    )
