"""The one polling loop of every command that checks again and again (``wait``, ``watch``, ``serve``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from kplanediag.analysis.tick import Tick
from kplanediag.cli.options import CannotAssess, Source

if TYPE_CHECKING:
    from kplanediag.analysis.fit import Fit
    from kplanediag.analysis.results import Report
    from kplanediag.snapshot.server import RequestTime


@dataclass(frozen=True)
class Outcome:
    report: Report | None
    error: CannotAssess | None
    reachable: bool = True
    requests: tuple[RequestTime, ...] = ()
    renewals: Mapping[str, datetime] = field(default_factory=dict)  # node Lease renewTimes read (index.py)


def check(
    source: Source, etcd_quota: int | None, renewals: Mapping[str, datetime] | None = None, fit: Fit | None = None
) -> Outcome:
    """One check; ``renewals``: the previous check's node Lease renewTimes (a Lease renewed since is
    a live kubelet, whatever its clock says); ``fit``: the cluster's config (--config, --ignore)."""
    from kplanediag.analysis.index import node_renewals  # noqa: PLC0415
    from kplanediag.analysis.report import analyze  # noqa: PLC0415

    try:
        snapshot, now = source.load()
    except CannotAssess as exc:
        return Outcome(None, exc)
    report = analyze(snapshot, now, etcd_quota=etcd_quota, renewals=renewals, fit=fit)
    return Outcome(report, None, snapshot.reachable, snapshot.requests, node_renewals(snapshot))


def check_once(
    source: Source, etcd_quota: int | None, fit: Fit | None = None
) -> tuple[Report | None, CannotAssess | None]:
    outcome = check(source, etcd_quota, fit=fit)
    return outcome.report, outcome.error


def guarded(
    source: Source, etcd_quota: int | None, renewals: Mapping[str, datetime] | None = None, fit: Fit | None = None
) -> Outcome:
    """``check``, with any unexpected error a result (class ``internal``), for a loop that must
    outlive every check (``serve``)."""
    try:
        return check(source, etcd_quota, renewals, fit)
    except Exception as exc:  # one check's failure, never the process's
        return Outcome(None, CannotAssess(f"internal error: {type(exc).__name__}: {exc}", "internal"))


# Collect, analyse, hand each result to the caller, sleep the interval, until the caller is satisfied or the
# timeout passes. Each check is a whole run with its own deadline; a check that cannot assess the cluster
# (exit 3) is a result like any other, not the end of the loop.
def poll(
    source: Source,
    interval: float,
    timeout: float | None,
    done: Callable[[Tick], bool],
    etcd_quota: int | None = None,
    sleep: Callable[[float], object] = time.sleep,
    survive: bool = False,
    fit: Fit | None = None,
    watch_from: int = 2,
) -> Tick:
    """Check until ``done(tick)`` is true (that tick is returned) or ``timeout`` seconds have passed
    (the last tick is returned; the last check is cut to end by then). One check at a time; the
    next starts ``interval`` after the last ended. ``survive``: an unexpected error in a check is
    that check's result, not the end of the loop. From check ``watch_from`` on, a live source's lists
    are read through watches kept between checks (cli/watching.py; 0: never)."""
    from kplanediag.cli.watching import watching  # noqa: PLC0415

    start = time.monotonic()
    number, left = 0, timeout
    run = guarded if survive else check
    renewals: Mapping[str, datetime] = {}
    try:
        while True:
            number += 1
            if number == watch_from:
                source = watching(source)
            # a check that starts near the timeout is cut to end with it (what it misses is a gap)
            bounded = source if left is None else replace(source, deadline=max(0.1, min(source.deadline, left)))
            began = time.monotonic()
            outcome = run(bounded, etcd_quota, renewals, fit)
            renewals = outcome.renewals or renewals  # a failed check keeps the last read's
            ended = time.monotonic()
            tick = Tick(
                number, ended - start, outcome.report, outcome.error, ended - began, outcome.reachable, outcome.requests
            )
            if done(tick):
                return tick
            left = None if timeout is None else timeout - (time.monotonic() - start)
            if left is not None and left <= 0.1:
                return tick
            sleep(interval if left is None else min(interval, left))
    finally:
        if source.cache is not None:
            source.cache.stop()
