"""The single GETs of a run, beside the lists: /version, the health probes and /metrics, each in a
daemon thread, each timed; a failure is a gap (never the run's end). Also the run's clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import msgspec

from kplanediag.collect.answers import Response
from kplanediag.collect.errors import CollectError
from kplanediag.collect.metrics import ACCEPT as METRICS_ACCEPT
from kplanediag.collect.metrics import parse_metrics
from kplanediag.collect.transport import Transport
from kplanediag.snapshot import Gap, Probe, VersionInfo, parse_health_body
from kplanediag.snapshot.server import RequestTime, ServerMetrics

T = TypeVar("T")


def in_thread(fn: Callable[[], T]) -> Future[T]:
    """Run ``fn`` in a daemon thread: a stuck request never keeps the process from exiting (Ctrl-C,
    the run's deadline). Each request is bounded anyway; this only spares the wait."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


@dataclass
class Timings:
    """The newest server time seen in responses (the snapshot's "now") and this machine's clock then."""

    newest: datetime | None = None
    local: datetime | None = None  # this machine's clock when the newest server time arrived
    bad_date: str = ""  # a Date header that was no possible time
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, response: Response) -> None:
        if response.bad_date:
            self.bad_date = response.bad_date
        if response.server_time:
            with self.lock:
                if self.newest is None or response.server_time > self.newest:
                    self.newest = response.server_time
                    self.local = response.received


def probe(transport: Transport, endpoint: str, timings: Timings, requests: list[RequestTime]) -> Probe:
    response = transport.get(endpoint, {"verbose": "true"})
    timings.saw(response)
    requests.append(
        RequestTime(source=endpoint.strip("/"), kind="get", seconds=response.seconds, status=response.status)
    )
    error = response.reason() if 400 <= response.status < 500 else ""
    return Probe(
        endpoint=f"{endpoint}?verbose", status=response.status, checks=parse_health_body(response.text()), error=error
    )


def probe_result(future: Future[Probe], name: str, transport: Transport, gaps: list[Gap]) -> Probe:
    try:
        result = future.result(timeout=max(0.0, transport.remaining()) + 1)
        if not result.answered:
            gaps.append(Gap(source=name, reason=result.error))
        return result
    except TimeoutError:
        reason = "no answer before the run's deadline"
    except CollectError as exc:
        reason = str(exc)
    gaps.append(Gap(source=name, reason=reason))
    return Probe(endpoint=f"/{name}?verbose", status=None, error=reason)


def fetch_metrics(
    transport: Transport, timings: Timings, requests: list[RequestTime]
) -> tuple[ServerMetrics | None, str]:
    """/metrics, parsed; (None, why) when it cannot be read (forbidden: a gap, not a failure)."""
    response = transport.get("/metrics", accept=METRICS_ACCEPT, gzip=True)  # text: a twentieth of it gzipped
    timings.saw(response)
    requests.append(RequestTime(source="metrics", kind="get", seconds=response.seconds, status=response.status))
    if response.status != 200:
        return None, response.reason()
    return parse_metrics(response.body), ""


def metrics_result(
    future: Future[tuple[ServerMetrics | None, str]], transport: Transport, gaps: list[Gap]
) -> ServerMetrics | None:
    try:
        metrics, reason = future.result(timeout=max(0.0, transport.remaining()) + 1)
    except TimeoutError:
        metrics, reason = None, "no answer before the run's deadline"
    except CollectError as exc:
        metrics, reason = None, str(exc)
    if metrics is None:
        gaps.append(
            Gap(source="metrics", reason=f"{reason} (etcd storage size and API Priority and Fairness state unknown)")
        )
    return metrics


def version_of(response: Response) -> VersionInfo | None:
    if response.status != 200:
        return None
    try:
        return msgspec.json.decode(response.body, type=VersionInfo)
    except msgspec.DecodeError:
        return None
