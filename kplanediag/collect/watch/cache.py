"""The watch caches of one cluster (one Informer per unbounded list call), started by the first check
that reads through them and kept between checks: what each check reads instead of listing again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kplanediag.collect.lists import LISTS, ListCall
from kplanediag.collect.watch.informer import Informer
from kplanediag.snapshot import Gap
from kplanediag.snapshot.decode import BadItems
from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.server import WatchStatus

if TYPE_CHECKING:
    from kplanediag.collect.transport import Transport


class Cache:
    """Informers for the watched calls, each on its own daemon thread from ``start`` until ``stop``."""

    def __init__(self, transport: Callable[[], Transport]) -> None:
        self._transport = transport
        self._informers: dict[ListCall, Informer] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def calls(self) -> tuple[ListCall, ...]:
        return tuple(call for call in LISTS if call.watched)

    def start(self, server: tuple[int, int] | None) -> None:
        """Start the informers (once; ``server``: the API server's version, for the list parameters)."""
        with self._lock:
            if self._informers:
                return
            for call in self.calls:
                informer = self._informers[call] = Informer(call, self._transport, server)
                name = f"watch {call.label}"
                threading.Thread(target=informer.run, args=(self._stop,), name=name, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def read(
        self, remaining: Callable[[], float]
    ) -> tuple[dict[ListCall, tuple[Resource, ...]], dict[ListCall, BadItems], dict[ListCall, Gap]]:
        """Each call's cached objects, waiting for a first list at most ``remaining()`` seconds; a call
        not listed by then is a gap (not listed again by the check: its informer's list is under way).
        A call whose watch is stale (no word for STALE_AFTER) is left out: the check lists it afresh
        (its old objects would be judged as current: old Leases, dead nodes)."""
        objects: dict[ListCall, tuple[Resource, ...]] = {}
        bad: dict[ListCall, BadItems] = {}
        gaps: dict[ListCall, Gap] = {}
        for call, informer in self._informers.items():
            if not informer.synced.wait(max(0.0, min(remaining(), 3600.0))):  # no deadline: an hour
                status = informer.status()
                why = f": {status.error}" if status.error else ""
                gaps[call] = Gap(source=call.label, reason=f"not complete before the run's deadline{why}")
                continue
            if informer.forbidden:
                continue  # listed by the check
            if informer.usable():
                objects[call], bad[call] = informer.read()
        return objects, bad, gaps

    def statuses(self) -> tuple[WatchStatus, ...]:
        now = time.monotonic()
        return tuple(informer.status(now) for informer in self._informers.values())
