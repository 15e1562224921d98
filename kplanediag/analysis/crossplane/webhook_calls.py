"""Admission webhooks whose calls fail although they may be served (KPD-403: certificate not valid
for the Service name, unknown authority, timeout, refused) and slow ones (KPD-404), from the Warning
events naming them and the API server's /metrics counters; one blast-radius entry per failing one."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from kplanediag.analysis.crossplane.serving import backends
from kplanediag.analysis.crossplane.webhooks import WebhookState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import WEBHOOK_CALLS_FAILING
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.model import Affected, BlastEntry, Finding, Plane, Severity
from kplanediag.analysis.words import plural, running_elsewhere, some
from kplanediag.snapshot.api_kinds import Event
from kplanediag.snapshot.server import WebhookCalls

# the API server's error text -> the reason in words, first match wins (Go's net/http, crypto/x509)
REASONS: tuple[tuple[str, str], ...] = (
    ("x509: certificate is valid for", "its TLS certificate is not valid for the name it is called by"),
    ("certificate signed by unknown authority", "its TLS certificate is signed by an authority its caBundle lacks"),
    ("x509: certificate has expired", "its TLS certificate has expired"),
    ("x509:", "its TLS certificate is rejected"),
    ("tls:", "the TLS handshake fails"),
    ("context deadline exceeded", "its calls time out"),
    ("Client.Timeout exceeded", "its calls time out"),
    ("i/o timeout", "its calls time out"),
    ("connection refused", "its connections are refused"),
    ("no endpoints available", "its Service has no endpoint"),
    ("no such host", "its host name does not resolve"),
)
CALLED = re.compile(r'failed calling webhook "(?P<name>[^"]+)": (?P<error>.*)')
METRIC_TYPE = {"validating": "validating", "mutating": "admit"}  # the API server's "type" label
CALL_ERROR = "calling_webhook_error"


@dataclass(frozen=True)
class CallFailure:
    """Why and how it is known that the calls to one webhook fail."""

    state: WebhookState
    events: tuple[Event, ...]  # recent Warning events naming it, newest first
    calls: WebhookCalls | None  # its /metrics counters, None when not exported or not read
    failed: int  # failed calls by the counters (0 when unknown)

    @property
    def current(self) -> bool:
        return bool(self.events) or (self.calls is not None and not self.calls.codes.get("200"))

    @property
    def error(self) -> str:
        """The API server's error text of the newest event, from "failed to call webhook" on."""
        for ev in self.events:
            if m := CALLED.search(ev.note):
                return m["error"].removeprefix("failed to call webhook: ")
        return ""

    @property
    def reason(self) -> str:
        error = self.error
        why = next((words for marker, words in REASONS if marker in error), "")
        detail = error.rsplit("x509: ", 1)[1] if "x509: " in error else error.rsplit(": ", 1)[-1]
        if why and detail:
            return f"{why}: {detail}"
        return why or detail or "the reason is not known (no event names it; the API server's log does)"

    @property
    def counters(self) -> str:
        c = self.calls
        if c is None:
            return ""
        total = sum(c.codes.values())
        ok = c.codes.get("200", 0)
        return f"{self.failed} of {plural(total, 'call')} failed since the API server started ({ok} answered 200)"


def _events(idx: ClusterIndex) -> dict[str, list[Event]]:
    """Warning events saying a webhook call failed, by webhook name, within the recent window
    (undated ones included: the API server keeps events only an hour by default)."""
    window = policy("webhook_event_recent")
    found: dict[str, list[Event]] = {}
    for ev in idx.snapshot.events:
        m = CALLED.search(ev.note)
        age = idx.seconds_since(ev.when)
        if m and (age is None or age <= window):
            found.setdefault(m["name"], []).append(ev)
    for events in found.values():
        events.sort(key=lambda e: e.when.timestamp() if e.when else 0.0, reverse=True)
    return found


def _failed(calls: WebhookCalls) -> int:
    """Failed calls: rejected for it (failurePolicy Fail), or failed open (Ignore)."""
    ignored = calls.fail_open if calls.fail_open is not None else calls.ignored_errors
    return calls.rejections.get(CALL_ERROR, 0) + ignored


def _served_elsewhere(idx: ClusterIndex, state: WebhookState) -> bool:
    """Whether KPD-400/401 already tell it: its Service is known to have no ready endpoint."""
    ref = state.webhook.client_config.service
    if ref is None:
        return False
    b = backends(idx, ref, {})
    return b.known and b.exists and not b.external and not b.ready


def call_failures(idx: ClusterIndex) -> tuple[list[CallFailure], list[tuple[WebhookState, WebhookCalls]]]:
    """Failing webhooks, and every configured webhook with its counters (for the slow check)."""
    snap = idx.snapshot
    by_name = {(c.name, c.type): c for c in snap.metrics.webhooks} if snap.metrics else {}
    events = _events(idx)
    failures: list[CallFailure] = []
    counted: list[tuple[WebhookState, WebhookCalls]] = []
    configs = [("validating", c) for c in snap.validating_webhooks] + [("mutating", c) for c in snap.mutating_webhooks]
    for kind, config in configs:
        for hook in config.webhooks:
            state = WebhookState(kind, config.metadata.name, hook, None)
            calls = by_name.get((hook.name, METRIC_TYPE[kind]))
            if calls is not None:
                counted.append((state, calls))
            named = tuple(events.get(hook.name, ()))
            failed = _failed(calls) if calls else 0
            if (named or failed) and not _served_elsewhere(idx, state):
                failures.append(CallFailure(state, named, calls, failed))
    return failures, counted


def _severity(failure: CallFailure) -> Severity:
    """Failing now (recent events, or no call answered since the API server started): critical with
    failurePolicy Fail, warning with Ignore. Counters only, with calls answered too: info, since
    which came last is not known (an old or intermittent failure)."""
    if not failure.current:
        return Severity.INFO
    return Severity.CRITICAL if failure.state.fail_closed else Severity.WARNING


def _message(failure: CallFailure) -> str:
    state = failure.state
    policy_name = "Fail" if state.fail_closed else "Ignore"
    effect = "these requests are rejected" if state.fail_closed else "these requests are admitted without its checks"
    if failure.events:
        count = sum(e.count for e in failure.events)
        reasons = ", ".join(sorted({e.reason or "Warning" for e in failure.events}))
        regarding = sorted({f"{r.kind} {r.namespace}/{r.name}" for e in failure.events if (r := e.regarding)})
        window = policy("webhook_event_recent") / 60
        evidence = f"{reasons} {plural(count, 'time')} in the last {window:g} min ({some(regarding, 3) or 'no object'})"
        if failure.counters:
            evidence += f"; {failure.counters}"
    elif failure.current:
        evidence = f"/metrics counters only: {failure.counters}; no recent event names it"
    else:
        evidence = (
            f"/metrics counters only: {failure.counters}; no recent event names it: "
            "it may be an old or intermittent failure"
        )
    return (
        f"{state.kind} webhook {state.subject} (failurePolicy {policy_name}): the API server's calls to it fail: "
        f"{failure.reason}; it intercepts {state.operations()}: {effect}. Evidence: {evidence}"
    )


def _entry(idx: ClusterIndex, failure: CallFailure, cause: Finding) -> BlastEntry:
    state = failure.state
    ops = state.operations()
    ref = state.webhook.client_config.service
    served = f"Service {ref.namespace}/{ref.name}" if ref else f"URL {state.webhook.client_config.url}"
    if state.fail_closed:
        summary = f"webhook {state.subject}: calls fail ({failure.reason}): {ops} are rejected"
        breaks = [f"{ops} are rejected by the API server: the cause is how {served} serves it, not the control plane"]
        if any("pods" in r.resources or "*" in r.resources for r in state.webhook.rules):
            breaks.append(
                "controllers cannot create the pods they manage there: rollouts, scaling and rescheduling stop"
            )
        still = [
            running_elsewhere(idx, set()) + " (admission applies to writes only)",
            "reads (get, list, watch) work",
            "writes the webhook does not intercept work",
            f"`kubectl delete {state.kind}webhookconfiguration {state.configuration}` lifts the block",
        ]
    else:
        summary = f"webhook {state.subject}: calls fail ({failure.reason}): its policy is silently not enforced"
        breaks = [f"{ops} are admitted without the webhook's checks or changes"]
        still = [running_elsewhere(idx, set()), "reads (get, list, watch) work", "every write succeeds"]
    if "time out" in failure.reason:
        timeout = state.webhook.timeout_seconds
        breaks.append(f"each write it intercepts first waits {timeout or 10} s for it (its timeoutSeconds)")
    return BlastEntry(
        f"admission webhook calls failing: {state.subject}",
        Plane.CROSS,
        "cluster",
        summary,
        Affected(namespaces=_namespaces(ops)),
        tuple(breaks),
        tuple(still),
        WEBHOOK_CALLS_FAILING,
        f"{state.kind}-webhook",
        severity=cause.severity,
        cause=cause,
    )


def _namespaces(ops: str) -> tuple[str, ...]:
    marker = " in namespace(s) "
    if marker not in ops:
        return ()
    return tuple(n.strip() for n in ops.split(marker, 1)[1].split(" (", 1)[0].split(","))


def _slow(state: WebhookState, calls: WebhookCalls) -> Finding | None:
    """KPD-404 from the cumulative histogram at the first bucket bound at or above the threshold."""
    limit, total = policy("webhook_slow_seconds"), calls.duration_count
    bounds = sorted((float(le), n) for le, n in calls.buckets.items() if le not in ("+Inf", "") and float(le) >= limit)
    if total < policy("webhook_slow_min_calls") or not bounds:
        return None
    bound, within = bounds[0]
    slower = total - within
    if slower <= total * policy("webhook_slow_share"):
        return None
    timeout = state.webhook.timeout_seconds
    return finding(
        "KPD-404",
        state.subject,
        f"{state.kind} webhook {state.subject}: {slower} of {total} calls ({slower / total:.0%}) since the API "
        f"server started took longer than {bound:g} s (timeoutSeconds {timeout or 10}, mean "
        f"{calls.duration_sum / total:.2f} s); every write it intercepts ({state.operations()}) waits for it",
        component=f"{state.kind}-webhook",
    )


def assess_webhook_calls(idx: ClusterIndex) -> tuple[list[Finding], list[BlastEntry]]:
    """KPD-403 per webhook whose calls fail, with its blast-radius entry when they fail now; KPD-404
    per slow one (not for a webhook failing now: its calls are slow because they fail)."""
    failures, counted = call_failures(idx)
    findings: list[Finding] = []
    entries: list[BlastEntry] = []
    for failure in failures:
        f = finding(
            "KPD-403",
            failure.state.subject,
            _message(failure),
            component=f"{failure.state.kind}-webhook",
            severity=_severity(failure),
        )
        firsts = [t for e in failure.events if (t := e.event_time or e.when) is not None]
        f = replace(f, since=min(firsts)) if firsts else f
        findings.append(f)
        if failure.current:  # the blast radius is of what fails now
            entries.append(_entry(idx, failure, f))
    failing = {f.state.subject for f in failures if f.current}
    for state, calls in counted:
        if state.subject not in failing and (slow := _slow(state, calls)) is not None:
            findings.append(slow)
    return findings, entries
