"""One kind's cache: listed once (paged, protobuf), then kept current by a watch with bookmarks, resumed
from its last resourceVersion after a dropped connection and listed again only on 410 Gone."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kplanediag.collect.errors import AuthenticationError, CollectError, ListFailed
from kplanediag.collect.lists import (
    ListCall,
    PageDecoder,
    continue_token,
    list_version,
    page_fields,
)
from kplanediag.collect.watch import window
from kplanediag.collect.watch.events import GONE, Event, EventDecoder, Frames
from kplanediag.snapshot.decode import BadItems
from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.limits import max_input
from kplanediag.snapshot.server import WatchStatus

if TYPE_CHECKING:
    from kplanediag.collect.transport import Transport

CHUNK = 1 << 16


class Gone(Exception):
    """The server no longer has the resourceVersion the watch resumes from: list again."""


class NoStreaming(Exception):
    """The streaming list did not work here: the paged list is used from now on."""


class Forbidden(Exception):
    """RBAC grants ``list`` but not ``watch``: the checks list this kind themselves."""


def key_of(obj: Resource) -> str:
    """The object's place in the API's own list order (etcd's key order: namespace/name, or name)."""
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name


class Informer:
    """The cache of one list call, kept by its own thread (``run``) until ``stop`` is set."""

    def __init__(self, call: ListCall, transport: Callable[[], Transport], server: tuple[int, int] | None) -> None:
        self.call = call
        self._transport = transport
        self._server = server
        self._lock = threading.Lock()
        self._objects: dict[str, Resource] = {}
        self._bad = BadItems(call.resource)
        self._version = ""
        self._served = True
        self._contact: float | None = None
        self._gap: float | None = None  # the usual seconds between two words from the server (moving average)
        self.synced = threading.Event()
        self._events = self._lists = self._restarts = self._requests = 0
        self._error = ""
        self._failing = False  # the last request failed: until one succeeds, the cache is not current
        self.forbidden = False
        self._decoder = EventDecoder(call.kind)
        self._streaming = server is not None and server >= window.STREAMING
        self._staging: dict[str, Resource] | None = None  # a streaming list's objects, until its end bookmark
        self._staging_bad = BadItems(call.resource)

    def run(self, stop: threading.Event) -> None:
        backoff = window.BACKOFF
        transport: Transport | None = None
        while not stop.is_set():
            try:
                transport = transport or self._transport()
                if not self._version and self._streaming:
                    self._stream(transport, stop)
                elif not self._version:
                    self._list(transport)
                if self._version:
                    self._watch(transport, stop)
                else:  # not served (or a list without a version to watch from): listed again later
                    stop.wait(window.NOT_SERVED)
                backoff = window.BACKOFF
                continue
            except Gone:
                self._version = ""  # list again at once
                continue
            except NoStreaming as exc:
                self._streaming = False
                self._failed(f"the streaming list did not work: {exc}; lists are paged from now on")
                continue
            except Forbidden:
                with self._lock:
                    self.forbidden = True
                    self._error = "watch not granted (403 Forbidden): each check lists it"
                self.synced.set()  # settled: nothing to wait for
                return
            except AuthenticationError as exc:
                transport = None  # credentials expire: made again from the kubeconfig
                self._failed(str(exc))
            except (CollectError, Exception) as exc:  # the cache outlives every failure: said, then retried
                self._failed(exc.reason if isinstance(exc, ListFailed) else f"{type(exc).__name__}: {exc}")
            stop.wait(backoff * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)
            backoff = min(window.MAX_BACKOFF, backoff * 2)

    def _failed(self, reason: str) -> None:
        with self._lock:
            self._error = reason
            self._restarts += 1
            self._failing = True

    def _list(self, transport: Transport) -> None:
        call, decoder, bad = self.call, PageDecoder(), BadItems(self.call.resource)
        out: list[Resource] = []
        token, version, pages, served = "", "", 0, True
        while True:
            response = transport.get(call.path, page_fields(token, self._server, call), call.accept)
            pages += 1
            self._requests += 1
            if response.status == 404 and call.optional and pages == 1:
                served = False
                break  # the API is not served: none of its objects exist; looked at again after a while
            if response.status != 200:
                raise ListFailed(response.reason())
            version = version or list_version(response.body, response.content_type)
            token = continue_token(response.body, response.content_type)
            decoder.decode(call.kind, response.body, response.content_type, out, bad)
            if not token:
                break
        with self._lock:
            self._objects = {key_of(obj): obj for obj in out}
            self._bad, self._version, self._contact = bad, version, time.monotonic()
            self._served = served
            self._lists += 1
            self._error, self._failing = "", False
        self.synced.set()

    def _watch(self, transport: Transport, stop: threading.Event) -> None:
        fields = {
            "resourceVersion": self._version,
            "timeoutSeconds": str(int(window.WATCH_SECONDS * random.uniform(1.0, 1.1))),  # noqa: S311 (jitter)
        }
        self._open(transport, stop, fields)

    def _stream(self, transport: Transport, stop: threading.Event) -> None:
        """The streaming list: the current objects as ADDED events, then the bookmark that ends them
        (synced there), then the changes, on one watch; the API server builds no list response."""
        fields = {
            "sendInitialEvents": "true",
            "resourceVersion": "1",  # any state newer than revision 1: the watch cache's, now
            "resourceVersionMatch": "NotOlderThan",
            "timeoutSeconds": str(window.INITIAL_SECONDS),
        }
        self._staging, self._staging_bad = {}, BadItems(self.call.resource)
        try:
            self._open(transport, stop, fields)
        except (Gone, Forbidden, AuthenticationError):
            raise
        except Exception as exc:  # refused (400, 422), malformed, cut short: the paged list from now on
            raise NoStreaming(exc.reason if isinstance(exc, ListFailed) else f"{type(exc).__name__}: {exc}") from exc
        finally:
            staged, self._staging = self._staging, None
        if staged is not None and not stop.is_set():
            raise NoStreaming("the watch ended before its initial events did")

    def _open(self, transport: Transport, stop: threading.Event, fields: dict[str, str]) -> None:
        call = self.call
        fields = {"watch": "true", "allowWatchBookmarks": "true", **fields, **dict(call.query)}
        self._requests += 1
        raw = transport.stream(call.path, fields, call.accept, window.STALE_AFTER)
        ended = False  # read to its end: the connection can be used again
        try:
            if raw.status == GONE:
                raise Gone()
            if raw.status == 403:
                raise Forbidden()
            if raw.status == 401:
                raise AuthenticationError("the API server rejected the credentials (401 Unauthorized)")
            if raw.status != 200:
                raise ListFailed(f"watch: HTTP {raw.status}")
            ended = self._follow(raw, stop)
        finally:
            if not ended:
                raw.close()  # an unread body must not meet the next request on this connection
            raw.release_conn()

    def _follow(self, raw: Any, stop: threading.Event) -> bool:
        """Apply the events until the server ends the watch (True) or ``stop`` is set (False)."""
        frames = Frames(str(raw.headers.get("Content-Type") or ""), max_input())
        with self._lock:
            self._contact, self._failing = time.monotonic(), False
        while not stop.is_set():
            chunk = raw.read1(CHUNK)
            if not chunk:
                return True  # the server ended the watch (its timeoutSeconds): resumed from the last version
            for frame in frames.feed(chunk):
                self._apply(self._decoder.decode(frame, frames.protobuf))
        return False

    def _apply(self, event: Event) -> None:
        if event.type == "ERROR":
            if event.code == GONE:
                raise Gone()
            raise ListFailed(f"watch: {event.message or 'an error event'} ({event.code})")
        with self._lock:
            now = time.monotonic()
            if self._contact is not None and self._staging is None:  # a streaming list's items are no changes
                gap = now - self._contact
                self._gap = gap if self._gap is None else 0.9 * self._gap + 0.1 * gap
            self._contact = now
            self._events += 1
            if self._staging is not None:
                self._stage(event)
                return
            if event.version:
                self._version = event.version
            if event.type == "BOOKMARK":
                return
            elif event.obj is None:  # unreadable: its old state is dropped, never kept as if current
                self._bad.add(event.who or "an item", event.bad)
                self._objects.pop(event.who, None)
            elif event.type == "DELETED":
                self._objects.pop(key_of(event.obj), None)
            else:
                self._objects[key_of(event.obj)] = event.obj

    def _stage(self, event: Event) -> None:
        """One event of a streaming list's initial state (under the lock); its end bookmark makes it
        the cache's."""
        assert self._staging is not None
        if event.initial_end:  # its version is the state's: where the watch goes on from
            self._objects, self._staging = self._staging, None
            self._bad, self._version = self._staging_bad, event.version
            self._lists += 1
            self._error, self._failing = "", False
            self.synced.set()
        elif event.type == "BOOKMARK":
            return
        elif event.obj is None:
            self._staging_bad.add(event.who or "an item", event.bad)
        elif event.type == "DELETED":
            self._staging.pop(key_of(event.obj), None)
        else:
            self._staging[key_of(event.obj)] = event.obj

    def read(self) -> tuple[tuple[Resource, ...], BadItems]:
        """The cached objects in the API's list order, and the items that could not be read."""
        with self._lock:
            objects = dict(self._objects)
            bad = self._bad
        return tuple(objects[key] for key in sorted(objects)), bad

    def usable(self, now: float | None = None) -> bool:
        """Its objects are current: listed, watched, not stale, and heard from within its reading window
        (window.readable)."""
        now = time.monotonic() if now is None else now
        status = self.status(now)
        if self.forbidden or status.stale:
            return False
        return not self._served or window.readable(status.silent_for, self._gap, self.call.heartbeats)

    def status(self, now: float | None = None) -> WatchStatus:
        now = time.monotonic() if now is None else now
        with self._lock:
            silent = None if self._contact is None else now - self._contact
            return WatchStatus(
                label=self.call.label,
                synced=self._lists > 0,
                stale=not self.forbidden
                and (not self.synced.is_set() or (self._served and window.stale(silent, self._failing))),
                silent_for=silent,
                objects=len(self._objects),
                events=self._events,
                lists=self._lists,
                restarts=self._restarts,
                requests=self._requests,
                error=self._error,
            )
