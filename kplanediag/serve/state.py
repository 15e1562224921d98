"""What ``serve`` knows between checks: the latest good report, whether it is stale, and the
counters of every check so far. The polling loop writes it (``record``), the HTTP handlers read it
(``view``), under one lock; each view carries a generation so rendered pages can be cached."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from kplanediag.analysis.results import Report
    from kplanediag.analysis.tick import Tick
    from kplanediag.snapshot.server import WatchStatus

READY_INTERVALS = 3  # /readyz: a check has succeeded within this many intervals


@dataclass(frozen=True)
class Failure:
    """The last check that did not give a fresh report: its class, one line, and when it ended."""

    kind: str
    message: str
    at: float  # time.time()


@dataclass(frozen=True)
class View:
    """One consistent reading of the state, for one HTTP answer."""

    generation: int
    report: Report | None
    stale: bool
    checks: int
    failures: dict[str, int]
    last_success: float | None  # time.time() of the last fresh report
    last_success_monotonic: float | None
    last_duration: float | None
    last_failure: Failure | None
    api_requests: dict[str, int]  # by kind: get, list, list-namespaced
    api_errors: dict[str, int]  # by HTTP status class
    watches: tuple[WatchStatus, ...] = ()  # the watch caches as the last check left them


def failure_class(tick: Tick) -> str | None:
    """None for a check that gave a fresh report; else its class (the -o json error classes, plus
    ``unreachable`` / ``deadline`` for an API server that gave no answer in time)."""
    if tick.report is None:
        return tick.error.kind if tick.error is not None else "internal"
    if not tick.reachable:
        gaps = " ".join(tick.report.gaps)
        return "deadline" if "deadline" in gaps else "unreachable"
    return None


@dataclass
class State:
    interval: float
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _generation: int = 0
    _report: Report | None = None
    _stale: bool = True
    _checks: int = 0
    _failures: Counter[str] = field(default_factory=Counter)
    _last_success: float | None = None
    _last_success_monotonic: float | None = None
    _last_duration: float | None = None
    _last_failure: Failure | None = None
    _api_requests: Counter[str] = field(default_factory=Counter)
    _api_errors: Counter[str] = field(default_factory=Counter)
    watch_status: Callable[[], tuple[WatchStatus, ...]] | None = None  # serve's watch caches, if any
    _watches: tuple[WatchStatus, ...] = ()

    def record(self, tick: Tick) -> str | None:
        """Take one check's result; returns its failure class (None: a fresh report)."""
        from kplanediag.render.metrics import request_classes  # noqa: PLC0415

        kind = failure_class(tick)
        requests, errors = request_classes(tick.requests)
        watches = self.watch_status() if self.watch_status is not None else ()
        with self._lock:
            self._watches = watches
            self._generation += 1
            self._checks += 1
            self._last_duration = tick.seconds
            self._api_requests.update(requests)
            self._api_errors.update(errors)
            if kind is None:
                self._report, self._stale = tick.report, False
                self._last_success, self._last_success_monotonic = time.time(), time.monotonic()
            else:
                self._stale = True  # the previous report stays, marked stale
                self._failures[kind] += 1
                message = str(tick.error.format_message()) if tick.error is not None else self._gap(tick)
                self._last_failure = Failure(kind, message, time.time())
        return kind

    @staticmethod
    def _gap(tick: Tick) -> str:
        gaps = tick.report.gaps if tick.report is not None else ()
        return gaps[0] if gaps else "no report"

    def view(self) -> View:
        with self._lock:
            return View(
                self._generation,
                self._report,
                self._stale,
                self._checks,
                dict(self._failures),
                self._last_success,
                self._last_success_monotonic,
                self._last_duration,
                self._last_failure,
                dict(self._api_requests),
                dict(self._api_errors),
                self._watches,
            )

    def ready(self, view: View | None = None) -> bool:
        """A check has given a fresh report within READY_INTERVALS intervals."""
        v = view or self.view()
        since = v.last_success_monotonic
        return since is not None and time.monotonic() - since <= READY_INTERVALS * self.interval

    def stale_watches(self) -> tuple[WatchStatus, ...]:
        """The watch caches that are stale now (not as of the last check)."""
        return tuple(w for w in (self.watch_status() if self.watch_status else ()) if w.stale)
