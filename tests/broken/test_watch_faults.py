"""serve's watch caches against the fake API server, for what a real one does not show on demand: a
watch that goes silent (no event, no bookmark), a 410 Gone at the watch's start, garbage bytes on
the stream. The cache must say it is stale, list again, and never serve old objects as current."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kplanediag.collect import collector
from kplanediag.collect.impersonation import Impersonation
from kplanediag.collect.transport import Transport, connect
from kplanediag.collect.watch import window
from kplanediag.collect.watch.cache import Cache
from kplanediag.snapshot.server import WatchStatus
from tests.broken.conftest import FakeAPIServer, Reply, Request, initial_events, json_reply

PODS = "/api/v1/pods"


def cache_of(server: FakeAPIServer, write_kubeconfig: Callable[..., Path]) -> tuple[Cache, Callable[[], Transport]]:
    kubeconfig = str(write_kubeconfig(server.url))

    def transport(deadline: float | None = None) -> Transport:
        return connect(kubeconfig, None, 5.0, deadline, Impersonation(None, (), None))

    return Cache(transport), lambda: transport(time.monotonic() + 20)  # the cache's: none; a check's: 20s


def changes(r: Request) -> bool:
    """A watch of pods' changes (not a streaming list's first watch)."""
    return r.path == PODS and r.query.get("watch") == "true" and r.query.get("sendInitialEvents") != "true"


def watches(server: FakeAPIServer, path: str = PODS) -> int:
    return sum(1 for r in server.requests if r.path == path and r.query.get("watch") == "true")


def lists(server: FakeAPIServer, path: str = PODS) -> int:
    return sum(1 for r in server.requests if r.path == path and r.query.get("watch") != "true")


def pods(cache: Cache) -> WatchStatus:
    return next(s for s in cache.statuses() if s.label == "pods")


def wait_until(what: Callable[[], bool], timeout: float = 15) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if what():
            return True
        time.sleep(0.05)
    return False


def test_a_silent_watch_is_stale_and_the_check_lists_afresh(
    server: FakeAPIServer, write_kubeconfig: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(window, "STALE_AFTER", 1.0)
    server.route = lambda r: Reply(hang=True) if changes(r) else None
    cache, transport = cache_of(server, write_kubeconfig)
    try:
        first = collector.collect(transport(), cache=cache)
        assert first.gaps == ()
        assert lists(server) == 0  # the informer's streaming list; the check read the cache
        assert wait_until(lambda: pods(cache).stale)  # the others' watches are silent too: nothing changes
        assert pods(cache).synced
        said_by_serve(cache)
        second = collector.collect(transport(), cache=cache)
        assert second.gaps == ()
        assert lists(server) >= 1  # the stale cache was not read: the check listed pods itself
        assert wait_until(lambda: pods(cache).restarts >= 1)
        assert "TimeoutError" in pods(cache).error
    finally:
        cache.stop()


def said_by_serve(cache: Cache) -> None:
    """serve's /readyz names the stale cache (503) and its metrics say it."""
    from kplanediag.render.metrics import exposition  # noqa: PLC0415
    from kplanediag.serve.routes import readyz, run_stats  # noqa: PLC0415
    from kplanediag.serve.state import State  # noqa: PLC0415

    state = State(30.0, watch_status=cache.statuses)

    class Server:
        def __init__(self) -> None:
            self.state = state

        def rendered(self, path: str, view: object, render: Callable[[], bytes]) -> bytes:
            return render()

    status, _, body, _ = readyz(Server(), state.view())
    assert status == 503 and b"stale watch caches (" in body and b"pods" in body
    view = state.view()
    assert view.watches == ()  # taken at each check: none recorded yet
    stats = dataclasses.replace(run_stats(view, 30.0), watches=cache.statuses())
    text = exposition(None, stats).decode()
    assert 'kplanediag_watch_stale{list="pods"} 1.0' in text


def test_gone_at_the_watch_start_lists_again(server: FakeAPIServer, write_kubeconfig: Callable[..., Path]) -> None:
    gone = {"kind": "Status", "status": "Failure", "reason": "Expired", "code": 410, "message": "too old"}

    def route(r: Request) -> Reply | None:
        if changes(r) and sum(map(changes, server.requests)) <= 2:  # the first two watches of changes
            return json_reply(gone, status=410)
        if r.path == PODS and r.query.get("sendInitialEvents") == "true":  # ends after its initial events
            return Reply(watch=0.1, body=initial_events(r))
        return None

    server.route = route
    cache, transport = cache_of(server, write_kubeconfig)
    try:
        collector.collect(transport(), cache=cache)
        assert wait_until(lambda: pods(cache).lists >= 3)
        status = pods(cache)
        assert not status.stale and status.restarts == 0  # a relist is the answer to 410, not a failure
    finally:
        cache.stop()


def test_garbage_on_the_stream_restarts_the_watch(server: FakeAPIServer, write_kubeconfig: Callable[..., Path]) -> None:
    server.route = lambda r: (
        Reply(watch=30, body=b"\x00garbage\n") if r.path == PODS and r.query.get("watch") == "true" else None
    )
    cache, transport = cache_of(server, write_kubeconfig)
    try:
        collector.collect(transport(), cache=cache)
        assert wait_until(lambda: pods(cache).restarts >= 2)
        status = pods(cache)
        assert "malformed watch event" in status.error
        assert watches(server) >= 2  # resumed from its version, without listing again
        assert lists(server) == 1
    finally:
        cache.stop()


def test_watch_not_granted_is_listed_by_each_check(
    server: FakeAPIServer, write_kubeconfig: Callable[..., Path]
) -> None:
    forbidden = {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403}
    server.route = lambda r: json_reply(forbidden, status=403) if r.query.get("watch") == "true" else None
    cache, transport = cache_of(server, write_kubeconfig)
    try:
        collector.collect(transport(), cache=cache)
        assert wait_until(lambda: "not granted" in pods(cache).error)
        second = collector.collect(transport(), cache=cache)
        assert second.gaps == ()
        assert lists(server) == 2  # the informer's first list, then the second check's own
        time.sleep(1.5)
        assert watches(server) == 1  # asked once, never again
        assert not pods(cache).stale  # nothing old is served: the checks read it themselves
    finally:
        cache.stop()
