"""Admission webhooks whose calls fail while their Service has a ready endpoint (KPD-403) and slow
ones (KPD-404), judged on real captures of the lab (tests/unit/data/real/lab-webhook-tls/SOURCES.md):
a certificate for another name, an answer after timeoutSeconds, an answer in 1.2 s. Other states
(failurePolicy Ignore, events gone, no endpoint) are explicit edits of those captures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from kplanediag.analysis.crossplane.webhook_calls import assess_webhook_calls
from kplanediag.analysis.crossplane.webhooks import assess_webhooks, webhook_states
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import CLASSES, WEBHOOK_CALLS_FAILING
from kplanediag.analysis.knowledge.policy import overridden
from kplanediag.analysis.model import BlastEntry, Finding, Plane, Severity
from kplanediag.collect.metrics import parse_metrics
from kplanediag.snapshot import Snapshot, load_bytes, load_snapshot

REAL = Path(__file__).parent / "data" / "real"
CALLS = REAL / "lab-webhook-tls"
CONFIG = "kpd-test-calls"
NAMESPACE = "kpd-webhook-calls"


def hook(mode: str) -> str:
    return f"{CONFIG}/kpd-test-{mode}.kpd-test.example.com"


def capture(mode: str, edit: Callable[[dict[str, Any]], None] | None = None) -> Snapshot:
    """The live snapshot ``kplanediag snapshot save`` wrote during the fault, optionally edited."""
    data = json.loads((CALLS / mode / "snapshot.json").read_text())
    if edit is not None:
        edit(data)
    return load_bytes(json.dumps(data).encode())


def assess(snap: Snapshot, later: timedelta = timedelta()) -> tuple[list[Finding], list[BlastEntry]]:
    return assess_webhook_calls(ClusterIndex.build(snap, snap.collected_at + later))


def test_metrics_keep_the_webhook_families_per_webhook() -> None:
    metrics = parse_metrics((CALLS / "timeout" / "metrics-webhook.txt").read_bytes())
    calls = {c.name: c for c in metrics.webhooks}
    timeout = calls["kpd-test-timeout.kpd-test.example.com"]
    assert timeout.type == "validating" and timeout.rejections == {"calling_webhook_error": 4}
    assert timeout.codes == {"503": 4} and timeout.ignored_errors == 0
    assert timeout.buckets["1"] == 0 and timeout.buckets["2.5"] == 4 and timeout.duration_count == 4
    assert timeout.fail_open is None  # v1.36.2 exports no sample of it: no webhook failed open
    # an earlier webhook of the same API server is still counted (counters live as long as the process)
    assert calls["kpd-test-tls.kpd-test.example.com"].codes == {"200": 27, "503": 37}
    # and the live snapshot kept them (collect's family filter lets them through)
    saved = load_snapshot(CALLS / "timeout" / "snapshot.json").metrics
    assert saved is not None
    assert {c.name: c for c in saved.webhooks}["kpd-test-timeout.kpd-test.example.com"].rejections == {
        "calling_webhook_error": 4
    }


def test_certificate_for_another_name_is_invisible_to_endpoints_and_found_by_its_calls() -> None:
    snap = capture("wrong-name")
    # the Service has a ready endpoint: the existing check (KPD-400/401) sees nothing wrong
    idx = ClusterIndex.build(snap, snap.collected_at)
    _, by_endpoints = assess_webhooks(webhook_states(idx, {}))
    assert not by_endpoints
    found, entries = assess(snap)
    (f,) = found
    assert (f.code, f.subject, f.severity, f.plane) == ("KPD-403", hook("wrong-name"), Severity.CRITICAL, Plane.CROSS)
    assert "its TLS certificate is not valid for the name it is called by" in f.message
    assert f"certificate is valid for wrong-name.kpd-test.example.com, not kpd-webhook.{NAMESPACE}.svc" in f.message
    assert "CREATE, UPDATE of configmaps, pods" in f.message and "these requests are rejected" in f.message
    assert f"FailedCreate 11 times in the last 60 min (ReplicaSet {NAMESPACE}/kpd-victim-" in f.message
    assert "12 of 12 calls failed since the API server started (0 answered 200)" in f.message
    assert f.since is not None and f.since <= snap.collected_at
    (entry,) = entries
    assert entry.cause == f and entry.severity is Severity.CRITICAL
    assert (entry.plane, entry.scope, entry.failure_class) == (Plane.CROSS, "cluster", WEBHOOK_CALLS_FAILING)
    assert WEBHOOK_CALLS_FAILING in CLASSES
    assert any("are rejected by the API server" in b and f"{NAMESPACE}/kpd-webhook" in b for b in entry.breaks)
    assert any("controllers cannot create the pods" in b for b in entry.breaks)
    assert f"`kubectl delete validatingwebhookconfiguration {CONFIG}` lifts the block" in entry.still_works
    assert any("keep running (admission applies to writes only)" in s for s in entry.still_works)


def test_a_webhook_answering_after_its_timeout_is_said_to_time_out() -> None:
    (f,), (entry,) = assess(capture("timeout"))
    assert f.subject == hook("timeout") and f.severity is Severity.CRITICAL
    assert "its calls time out: context deadline exceeded" in f.message
    assert "each write it intercepts first waits 2 s for it (its timeoutSeconds)" in entry.breaks


def test_slow_webhook_is_kpd404_and_one_old_failed_call_is_only_info() -> None:
    found, entries = assess(capture("slow"))
    by_code = {f.code: f for f in found}
    slow = by_code["KPD-404"]
    assert slow.subject == hook("slow") and slow.severity is Severity.WARNING
    # every call took over 1 s, the one that timed out (at 2 s) included
    assert "121 of 121 calls (100%) since the API server started took longer than 1 s" in slow.message
    # one call of 121 timed out, 120 answered: counters only, order unknown, no blast radius
    old = by_code["KPD-403"]
    assert old.severity is Severity.INFO and "1 of 121 calls failed" in old.message
    assert "/metrics counters only" in old.message and "old or intermittent" in old.message
    assert entries == []
    # the thresholds are policy: fewer calls than webhook_slow_min_calls make no share
    with overridden({"webhook_slow_min_calls": 200}):
        assert "KPD-404" not in {f.code for f in assess(capture("slow"))[0]}


def test_without_events_the_counters_are_the_evidence_and_the_message_says_so() -> None:
    def no_events(data: dict[str, Any]) -> None:  # edit: the events have expired
        data["resources"]["events"] = []

    (f,), (entry,) = assess(capture("wrong-name", no_events))
    assert f.severity is Severity.CRITICAL  # no call ever answered since the API server started
    assert "/metrics counters only: 12 of 12 calls failed since the API server started" in f.message
    assert "the reason is not known" in f.message and f.since is None
    assert entry.cause == f


def test_events_older_than_the_window_do_not_count() -> None:
    (f,), _ = assess(capture("wrong-name"), later=timedelta(hours=2))
    assert "/metrics counters only" in f.message and "FailedCreate" not in f.message


def test_failure_policy_ignore_is_a_warning_about_skipped_policy() -> None:
    def ignore(data: dict[str, Any]) -> None:  # edit: the same webhook with failurePolicy Ignore
        data["resources"]["validatingwebhookconfigurations"][0]["webhooks"][0]["failurePolicy"] = "Ignore"

    (f,), (entry,) = assess(capture("wrong-name", ignore))
    assert f.severity is Severity.WARNING and "admitted without its checks" in f.message
    assert "silently not enforced" in entry.summary and "every write succeeds" in entry.still_works


def test_a_webhook_without_ready_endpoints_is_left_to_kpd400() -> None:
    def no_endpoint(data: dict[str, Any]) -> None:  # edit: its EndpointSlice loses its endpoint
        for es in data["resources"]["endpointslices"]:
            if es["metadata"]["namespace"] == NAMESPACE:
                es["endpoints"] = []

    assert assess(capture("wrong-name", no_endpoint)) == ([], [])


def test_healthy_lab_and_captures_without_metrics_give_nothing() -> None:
    assert assess(load_snapshot(REAL / "lab-metrics" / "snapshot.json")) == ([], [])
