"""Collects one Snapshot: /version, then /livez, /readyz, /metrics and every list at once, each page
decoded while the next ones are on the wire; a failed list or a malformed item becomes a gap."""

from __future__ import annotations

import functools
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kplanediag.collect.answers import Response
from kplanediag.collect.certificate import parse_certificate
from kplanediag.collect.endpoints import (
    Timings,
    fetch_metrics,
    in_thread,
    metrics_result,
    probe,
    probe_result,
    version_of,
)
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
from kplanediag.snapshot import Gap, Probe, Resources, Snapshot, minor_version
from kplanediag.snapshot.credentials import public_url
from kplanediag.snapshot.decode import BadItems
from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.server import RequestTime

if TYPE_CHECKING:
    from kplanediag.collect.watch.cache import Cache

WORKERS = 4  # lists fetched at once; probes use two more threads
QUEUE_PAGES = 4  # pages waiting to be decoded; fetchers wait beyond that
MAX_PAGES = 10_000  # 20 million objects at 2,000 a page: a server that goes on is broken


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
    error: str | None = None
    accept = call.accept
    try:
        while not stop.is_set():
            response = transport.get(call.path, page_fields(token, server, call), accept)
            timings.saw(response)
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
    _put(pages, Done(call, error, count, seconds, size, wire, slowest), stop)


def _put(pages: queue.Queue[Page | Done], item: Page | Done, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pages.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


def collect(transport: Transport, verbose: bool = False, cache: Cache | None = None) -> Snapshot:
    """Everything kplanediag needs, in a handful of requests. Raises only for authentication
    failures; an unreachable API server gives a Snapshot with ``reachable=False``. With a ``cache``
    (serve), the lists it keeps by watching are read from it, the others listed."""

    def say(text: str) -> None:
        if verbose:
            print(f"[collect] {text}", file=sys.stderr)

    timings = Timings()
    local_start = datetime.now(UTC)
    if transport.via is not None:
        say(f"every request goes through the proxy {public_url(transport.via.url)} (from {transport.via.origin})")
    try:
        version_response = transport.get("/version")
    except UnreachableError as exc:
        say(f"unreachable: {exc}")
        return _unreachable(transport, local_start, exc)
    timings.saw(version_response)
    requests = [
        RequestTime(source="version", kind="get", seconds=version_response.seconds, status=version_response.status)
    ]
    version = version_of(version_response)
    reason = version_response.reason() if version_response.status != 200 else "malformed response: not a version object"
    gaps: list[Gap] = [] if version else [Gap(source="version", reason=reason)]
    server = minor_version(version.git_version if version else None)

    livez_future = in_thread(lambda: probe(transport, "/livez", timings, requests))
    readyz_future = in_thread(lambda: probe(transport, "/readyz", timings, requests))
    metrics_future = in_thread(lambda: fetch_metrics(transport, timings, requests))
    cached: dict[ListCall, tuple[Resource, ...]] = {}
    cached_bad: dict[ListCall, BadItems] = {}
    unsynced: dict[ListCall, Gap] = {}
    if cache is not None:
        cache.start(server)
        cached, cached_bad, unsynced = cache.read(transport.remaining)
        gaps += unsynced.values()
    calls = tuple(call for call in LISTS if call not in cached and call not in unsynced)
    items, bad, failed = _read_lists(transport, server, timings, gaps, say, requests, calls)
    for call, objects in cached.items():
        items.setdefault(call.resource, []).extend(objects)
        if call in cached_bad:
            bad.setdefault(call.resource, BadItems(call.resource)).merge(cached_bad[call])
    failed |= set(unsynced)
    livez = probe_result(livez_future, "livez", transport, gaps)
    readyz = probe_result(readyz_future, "readyz", transport, gaps)
    metrics = metrics_result(metrics_future, transport, gaps)
    certificate = parse_certificate(transport.peer_certificate) if transport.peer_certificate else None
    gaps += [gap for b in bad.values() if (gap := b.gap())]
    # a resource read by several calls (the Leases of two namespaces) is kept if any call succeeded;
    # the gap of the one that failed says which part is missing
    read = {call.resource for call in LISTS if call not in failed}
    lists = {resource: tuple(objs) for resource, objs in items.items() if resource in read}
    if timings.bad_date:
        gaps.append(_bad_date(timings.bad_date))
    return Snapshot(
        collected_at=timings.newest or local_start,
        collected_at_from="" if timings.newest else "this machine's clock (the API server sent no possible Date)",
        local_clock=timings.local if timings.newest else local_start,
        source="live",
        server=transport.server,
        version=version,
        livez=livez,
        readyz=readyz,
        resources=Resources(**lists),  # type: ignore[arg-type]  # each list holds its field's kind
        gaps=tuple(gaps),
        serving_certificate=certificate,
        metrics=metrics,
        requests=tuple(requests),
    )


def _unreachable(transport: Transport, local_start: datetime, exc: UnreachableError) -> Snapshot:
    """The Snapshot of a run whose /version got no answer: nothing else is asked."""
    return Snapshot(
        collected_at=local_start,
        source="live",
        server=transport.server,
        reachable=False,
        livez=Probe(endpoint="/livez?verbose", status=None, error=str(exc)),
        gaps=(Gap(source="all", reason=f"API server unreachable: {exc}"),),
    )


def _bad_date(header: str) -> Gap:
    return Gap(
        source="server-clock",
        reason=f"the API server's Date header {header!r} is no possible time: judged by this machine's clock",
    )


def _read_lists(
    transport: Transport,
    server: tuple[int, int] | None,
    timings: Timings,
    gaps: list[Gap],
    say: Callable[[str], None],
    requests: list[RequestTime],
    calls: tuple[ListCall, ...] = LISTS,
) -> tuple[dict[str, list[Resource]], dict[str, BadItems], set[ListCall]]:
    """Every list: the objects by resource, the malformed items by resource, and the calls that failed
    (each with its gap). Worker threads request the pages of each list (the next page is asked for as
    soon as a page's continue token is read from its first bytes) and hand each body to this thread,
    which decodes it into typed objects while the next ones are on the wire. A bounded queue keeps at
    most QUEUE_PAGES pages in memory; no whole list body is ever held."""
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
        _drain(pages, transport, items, bad, PageDecoder(), failed, gaps, say, requests, calls)
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
