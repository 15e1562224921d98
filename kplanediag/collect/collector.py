"""Collects one Snapshot: /version, then /livez, /readyz, /metrics and every list at once (pages.py),
or from serve's watch cache; a failed list or a malformed item becomes a gap."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

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
from kplanediag.collect.errors import UnreachableError
from kplanediag.collect.lists import (
    LISTS,
    ListCall,
)
from kplanediag.collect.pages import read_lists
from kplanediag.collect.transport import Transport
from kplanediag.snapshot import Gap, Probe, Resources, Snapshot, minor_version
from kplanediag.snapshot.credentials import public_url
from kplanediag.snapshot.decode import BadItems
from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.server import RequestTime

if TYPE_CHECKING:
    from kplanediag.collect.watch.cache import Cache


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
    read_at: dict[str, datetime] = {}
    items, bad, failed = _lists(transport, server, timings, gaps, say, requests, cache, read_at)
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
        resources=Resources(**lists),
        gaps=tuple(gaps),
        serving_certificate=certificate,
        metrics=metrics,
        requests=tuple(requests),
        read_at=read_at,
    )


def _lists(
    transport: Transport,
    server: tuple[int, int] | None,
    timings: Timings,
    gaps: list[Gap],
    say: Callable[[str], None],
    requests: list[RequestTime],
    cache: Cache | None,
    read_at: dict[str, datetime],
) -> tuple[dict[str, list[Resource]], dict[str, BadItems], set[ListCall]]:
    """Every list, from the watch cache where it keeps one, else read now (pages.py); when each is
    as of goes into ``read_at`` (a cache: the server's time when it was read, by this machine's clock
    since the last Date)."""
    cached: dict[ListCall, tuple[Resource, ...]] = {}
    cached_bad: dict[ListCall, BadItems] = {}
    unsynced: dict[ListCall, Gap] = {}
    if cache is not None:
        cache.start(server)
        cached, cached_bad, unsynced = cache.read(transport.remaining)
        gaps += unsynced.values()
        if timings.newest is not None and timings.local is not None:
            now = timings.newest + (datetime.now(UTC) - timings.local)
            read_at.update((call.label, now) for call in cached)
    calls = tuple(call for call in LISTS if call not in cached and call not in unsynced)
    items, bad, failed = read_lists(transport, server, timings, gaps, say, requests, calls, read_at)
    for call, objects in cached.items():
        items.setdefault(call.resource, []).extend(objects)
        if call in cached_bad:
            bad.setdefault(call.resource, BadItems(call.resource)).merge(cached_bad[call])
    return items, bad, failed | set(unsynced)


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
