"""What each path of ``serve`` answers: /healthz, /readyz, /metrics, / (the status page) and
/report.json, each rendered once per check (cached by the state's generation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from kplanediag.serve.state import READY_INTERVALS, State, View

if TYPE_CHECKING:
    from kplanediag.render.metrics import RunStats

TEXT = "text/plain; charset=utf-8"


class Rendering(Protocol):
    """The server as the routes use it (serve/http.py's Server): its state and its render cache."""

    state: State

    def rendered(self, path: str, view: View, render: Any) -> bytes: ...


def stamp(seconds: float | None) -> str:
    return "never" if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_stats(view: View, interval: float) -> RunStats:
    from kplanediag.render.metrics import RunStats  # noqa: PLC0415

    return RunStats(
        checks_total=view.checks,
        failures_total=view.failures,
        last_success_timestamp=view.last_success,
        last_duration_seconds=view.last_duration,
        stale=view.stale,
        api_requests=view.api_requests,
        api_errors=view.api_errors,
        interval_seconds=interval,
        watches=view.watches,
    )


def banner(view: View) -> str | None:
    """The status page's warning when the report shown is not the last check's."""
    failure = view.last_failure
    if not view.stale or failure is None:
        return None
    return (
        f"Stale: the last check failed at {stamp(failure.at)} ({failure.kind}: {failure.message}). "
        f"Shown: the report of the last successful check, {stamp(view.last_success)}."
    )


def waiting_page(view: View, refresh: int) -> str:
    failure = view.last_failure
    why = f"the last check failed ({failure.kind}: {failure.message})" if failure else "the first check is running"
    from kplanediag.render.templating import render_template  # noqa: PLC0415

    return render_template("waiting.html.j2", refresh=refresh, why=why) + "\n"


Answer = tuple[int, str, bytes, dict[str, str]]


def healthz(server: Rendering, view: View) -> Answer:
    return 200, TEXT, b"ok\n", {}


def readyz(server: Rendering, view: View) -> Answer:
    stale = server.state.stale_watches()
    if server.state.ready(view) and not stale:
        return 200, TEXT, b"ok\n", {}
    if stale:
        names = ", ".join(w.label for w in stale)
        text = f"not ready: stale watch caches ({names}): no word from the API server within their window\n"
        return 503, TEXT, text.encode(), {}
    window = READY_INTERVALS * server.state.interval
    failure = view.last_failure
    why = f"; last failure: {failure.kind}: {failure.message}" if failure else ""
    text = f"not ready: no successful check within {window:g}s (last success: {stamp(view.last_success)}){why}\n"
    return 503, TEXT, text.encode(), {}


def stale_header(view: View) -> dict[str, str]:
    return {"X-Kplanediag-Stale": "true" if view.stale else "false"}


def metrics(server: Rendering, view: View) -> Answer:
    from kplanediag.render.metrics import CONTENT_TYPE, exposition  # noqa: PLC0415

    body = server.rendered("/metrics", view, lambda: exposition(view.report, run_stats(view, server.state.interval)))
    return 200, CONTENT_TYPE, body, {}


def page(server: Rendering, view: View) -> Answer:
    refresh = max(1, round(server.state.interval))
    if view.report is None:
        return 503, "text/html; charset=utf-8", waiting_page(view, refresh).encode(), stale_header(view)
    from kplanediag.render.html import render_html  # noqa: PLC0415

    report = view.report

    def render() -> bytes:
        return render_html(report, refresh_seconds=refresh, banner=banner(view)).encode()

    return 200, "text/html; charset=utf-8", server.rendered("/", view, render), stale_header(view)


def report_json(server: Rendering, view: View) -> Answer:
    kind = "application/json"
    if view.report is None:
        failure = view.last_failure
        error = {
            "class": failure.kind if failure else "not-yet",
            "message": failure.message if failure else "the first check has not completed",
            "exitCode": 3,
        }
        body = json.dumps({"schemaVersion": 1, "error": error}, indent=2) + "\n"
        return 503, kind, body.encode(), stale_header(view)
    from kplanediag.render.as_json import render_json  # noqa: PLC0415

    report = view.report
    return 200, kind, server.rendered("/report.json", view, lambda: render_json(report).encode()), stale_header(view)


ROUTES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics, "/": page, "/report.json": report_json}
