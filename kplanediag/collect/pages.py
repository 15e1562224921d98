"""The pages of the lists one check reads: worker threads request each list's pages and hand every
body to the calling thread, which decodes it while the next ones are on the wire."""

from __future__ import annotations

import ctypes
import functools
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kplanediag.collect.answers import Response
from kplanediag.collect.endpoints import Timings, in_thread
from kplanediag.collect.errors import CollectError, ListFailed, Stalled, UnreachableError
from kplanediag.collect.lists import (
    JSON,
    LISTS,
    PROTOBUF,
    ListCall,
    PageDecoder,
    continue_token,
    page_fields,
)
from kplanediag.collect.transport import Transport
from kplanediag.snapshot import Gap
from kplanediag.snapshot.decode import BadItems
from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.server import RequestTime

WORKERS = 4  # lists fetched at once; probes use two more threads
QUEUE_PAGES = 4  # pages waiting to be decoded; fetchers wait beyond that
MAX_PAGES = 10_000  # 20 million objects at 2,000 a page: a server that goes on is broken
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's default, kept fixed


@dataclass(frozen=True)
class Page:
    call: ListCall
    response: Response


@dataclass(frozen=True)
class Done:
    """The last word of one list call: None when every page was fetched, else why it stopped."""

    call: ListCall
    error: str | None
    pages: int
    seconds: float
    size: int  # bytes received
    wire: str  # the Content-Type of the last page
    slowest: float = 0.0  # seconds of the slowest page
    read_at: datetime | None = None  # the API server's Date on the first page: the list is as of then

    def timing(self) -> RequestTime:
        kind = "list-namespaced" if "/namespaces/" in self.call.path else "list"
        return RequestTime(
            source=self.call.label, kind=kind, seconds=self.seconds, slowest_page=self.slowest, pages=self.pages
        )

    def describe(self) -> str:
        wire = {PROTOBUF: "protobuf", JSON: "json"}.get(self.wire, self.wire or "no answer")
        return f"{self.pages} page(s), {self.size / 1e6:.2f} MB {wire}, {self.seconds * 1000:.0f} ms"


def fetch_pages(
    transport: Transport,
    call: ListCall,
    server: tuple[int, int] | None,
    timings: Timings,
    pages: queue.Queue[Page | Done],
    stop: threading.Event,
    stalled: threading.Event | None = None,
) -> None:
    """Request every page of one list, queueing each body; ends with a Done. A request that got
    no byte back sets ``stalled``."""
    count, size, seconds, slowest, token, wire, seen = 0, 0, 0.0, 0.0, "", "", set()
    read_at: datetime | None = None
    error: str | None = None
    accept = call.accept
    try:
        while not stop.is_set():
            response = transport.get(call.path, page_fields(token, server, call), accept)
            timings.saw(response)
            read_at = read_at or response.server_time  # the continue pages come from the same snapshot
            count += 1
            seconds += response.seconds
            slowest = max(slowest, response.seconds)
            size += len(response.body)
            wire = response.content_type
            if response.status == 404 and call.optional and count == 1:
                break  # the API is not served: none of its objects exist (an empty list)
            if response.status != 200:
                raise ListFailed(response.reason())
            token = continue_token(response.body, response.content_type)
            _put(pages, Page(call, response), stop)
            if not token or (call.max_pages is not None and count >= call.max_pages):
                break  # done, or a bounded read (events) has what it may take
            if token in seen:
                raise ListFailed(f"the server repeated a continue token after {count} pages")
            if count >= MAX_PAGES:
                raise ListFailed(f"more than {MAX_PAGES} pages: stopped")
            seen.add(token)
    except ListFailed as exc:
        error = exc.reason
    except UnreachableError as exc:
        error = str(exc)
        if isinstance(exc, Stalled) and stalled is not None:
            stalled.set()
    except CollectError as exc:  # a TLS or credential failure after /version answered
        error = str(exc)
    except Exception as exc:  # never a fetcher that dies without its Done: the run would wait for its deadline
        error = f"internal error: {type(exc).__name__}: {exc}"
    _put(pages, Done(call, error, count, seconds, size, wire, slowest, read_at), stop)


def _put(pages: queue.Queue[Page | Done], item: Page | Done, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pages.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


@functools.cache
def unmap_freed_pages() -> bool:
    """Page bodies (about 4 MB each, read by WORKERS threads) given back to the system once decoded.
    glibc's malloc raises its mmap threshold to the size of each mapped buffer freed (up to 32 MB), so
    after the first page every body came from the threads' heaps, which kept them resident after
    they were freed: 18 MB of a 30,000-pod check's peak RSS. Fixing the threshold at its default maps
    and unmaps each body. Elsewhere than glibc, nothing is changed (False)."""
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # glibc only: musl and macOS have no such name
        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (ValueError, OSError, AttributeError, TypeError):
        return False


def read_lists(
    transport: Transport,
    server: tuple[int, int] | None,
    timings: Timings,
    gaps: list[Gap],
    say: Callable[[str], None],
    requests: list[RequestTime],
    calls: tuple[ListCall, ...] = LISTS,
    read_at: dict[str, datetime] | None = None,
) -> tuple[dict[str, list[Resource]], dict[str, BadItems], set[ListCall]]:
    """Every list: the objects by resource, the malformed items by resource, and the calls that failed
    (each with its gap); the time each complete list is as of goes into ``read_at`` by its label.
    Worker threads request the pages of each list (the next page is asked for as soon as a page's
    continue token is read from its first bytes) and hand each body to this thread, which decodes it
    into typed objects while the next ones are on the wire. A bounded queue keeps at most QUEUE_PAGES
    pages in memory; no whole list body is ever held."""
    unmap_freed_pages()
    items: dict[str, list[Resource]] = {call.resource: [] for call in calls}
    bad = {call.resource: BadItems(call.resource) for call in calls}
    failed: set[ListCall] = set()
    pages: queue.Queue[Page | Done] = queue.Queue(maxsize=QUEUE_PAGES)
    stop = threading.Event()
    slots = threading.Semaphore(WORKERS)
    stalled = threading.Event()

    def fetch(call: ListCall) -> None:
        with slots:
            if stalled.is_set():  # one round of the timeout is enough to know: not another per list
                why = (
                    f"not requested: an earlier request got no answer within {transport.timeout:g}s (the server stalls)"
                )
                _put(pages, Done(call, why, 0, 0.0, 0, ""), stop)
                return
            fetch_pages(transport, call, server, timings, pages, stop, stalled)

    try:
        for call in calls:
            in_thread(functools.partial(fetch, call))
        times = read_at if read_at is not None else {}
        _drain(pages, transport, items, bad, PageDecoder(), failed, gaps, say, requests, calls, times)
    finally:
        stop.set()  # on any exception, let the fetchers end instead of waiting on a full queue
    return items, bad, failed


def _drain(
    pages: queue.Queue[Page | Done],
    transport: Transport,
    items: dict[str, list[Resource]],
    bad: dict[str, BadItems],
    decoder: PageDecoder,
    failed: set[ListCall],
    gaps: list[Gap],
    say: Callable[[str], None],
    requests: list[RequestTime],
    calls: tuple[ListCall, ...],
    read_at: dict[str, datetime],
) -> None:
    """Decode pages as they arrive until every list call has said it is done, or the deadline."""
    broken: set[ListCall] = set()  # calls whose page could not be decoded: their later pages are dropped
    pending = set(calls)
    while pending:
        try:
            item = pages.get(timeout=max(0.05, min(1.0, transport.remaining())))
        except queue.Empty:
            if transport.remaining() > 0:
                continue
            for call in pending:  # the deadline passed: what is not complete is a gap
                failed.add(call)
                gaps.append(Gap(source=call.label, reason="not complete before the run's deadline"))
            return
        call = item.call
        if isinstance(item, Done):
            pending.discard(call)
            requests.append(item.timing())
            error = item.error or ("malformed response" if call in broken else None)
            if error:
                failed.add(call)
                if call not in broken:
                    gaps.append(Gap(source=call.label, reason=error))
            if item.read_at is not None and not error:
                read_at[call.label] = item.read_at
            say(f"{call.path}: {item.describe()}" + (f": {error}" if error else ""))
            continue
        if call in broken:
            continue
        try:
            decoder.decode(
                call.kind, item.response.body, item.response.content_type, items[call.resource], bad[call.resource]
            )
        except ListFailed as exc:
            broken.add(call)
            gaps.append(Gap(source=call.label, reason=exc.reason))
