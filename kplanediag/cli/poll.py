"""The one polling loop of every command that checks again and again (``wait`` today): collect,
analyse, hand each result to the caller, sleep the interval, until the caller is satisfied or the
timeout passes. Each check is a whole run with its own deadline; a check that cannot assess the
cluster (exit 3) is a result like any other, not the end of the loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kplanediag.cli.options import CannotAssess, Source

if TYPE_CHECKING:
    from kplanediag.analysis.model import Report


@dataclass(frozen=True)
class Tick:
    """One check of the loop: its report (None when it could not assess) and when it ended."""

    number: int
    elapsed: float  # seconds since the loop started
    report: Report | None
    error: CannotAssess | None = None

    @property
    def status(self) -> str:
        return self.report.status if self.report is not None else "unknown"


def check_once(source: Source, etcd_quota: int | None) -> tuple[Report | None, CannotAssess | None]:
    from kplanediag.analysis.report import analyze  # noqa: PLC0415

    try:
        snapshot, now = source.load()
    except CannotAssess as exc:
        return None, exc
    return analyze(snapshot, now, etcd_quota=etcd_quota), None


def poll(
    source: Source,
    interval: float,
    timeout: float | None,
    done: Callable[[Tick], bool],
    etcd_quota: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Tick:
    """Check until ``done(tick)`` is true (that tick is returned) or ``timeout`` seconds have passed
    (the last tick is returned; the last check is cut to end by then)."""
    start = time.monotonic()
    number, left = 0, timeout
    while True:
        number += 1
        # a check that starts near the timeout is cut to end with it (what it misses is a gap)
        bounded = source if left is None else replace(source, deadline=max(0.1, min(source.deadline, left)))
        report, error = check_once(bounded, etcd_quota)
        tick = Tick(number, time.monotonic() - start, report, error)
        if done(tick):
            return tick
        left = None if timeout is None else timeout - (time.monotonic() - start)
        if left is not None and left <= 0.1:
            return tick
        sleep(interval if left is None else min(interval, left))
