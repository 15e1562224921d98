"""Failures that cross the planes and the control plane's early warnings, judged on real captures
of each state (tests/unit/data/real/lab-*/SOURCES.md says how each was made on the lab or on a
throwaway control plane): a webhook not served (Fail and Ignore), an APIService without endpoints,
API Priority and Fairness queueing a burst, a CSR nobody approves, the serving certificate and
/metrics parsing. Derived states (a node failing under a webhook's only endpoint) are explicit
edits of those captures."""

from __future__ import annotations

import json
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kplanediag.analysis.model import Plane, Severity, Status
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.collect.certificate import parse_certificate
from kplanediag.collect.metrics import parse_metrics, samples
from kplanediag.snapshot import Snapshot, load_bytes, load_snapshot
from kplanediag.snapshot.model import THROTTLED, Gap
from tests.unit.factories import snap

REAL = Path(__file__).parent / "data" / "real"
WEBHOOK = REAL / "lab-webhook-down"
APF = REAL / "lab-apf-burst"


def merged(*files: Path, edit: Any = None) -> Snapshot:
    """One kubectl List of the items of several captured Lists (as `kubectl get a,b -o json` gives)."""
    items: list[dict[str, Any]] = []
    for f in files:
        items += json.loads(f.read_text())["items"]
    if edit is not None:
        edit(items)
    return load_bytes(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}).encode())


def webhook_case(name: str, edit: Any = None) -> Snapshot:
    d = WEBHOOK / name
    return merged(
        d / "cluster.json",
        d / "validatingwebhookconfigurations.json",
        d / "mutatingwebhookconfigurations.json",
        edit=edit,
    )


def codes(report: Report) -> list[str]:
    return [f.code for f in report.findings]


def test_fail_webhook_without_endpoints_is_critical_and_names_what_stops() -> None:
    report = analyze(webhook_case("fail-validating"))
    assert report.status == "critical"
    (f,) = [f for f in report.findings if f.code == "KPD-400"]
    assert f.plane is Plane.CROSS and f.severity is Severity.CRITICAL
    assert "Service kpd-webhook-fail/kpd-webhook has no ready endpoint (no pod matches its selector)" in f.message
    assert "CREATE, UPDATE of configmaps, pods in namespaces with kpd-test=kpd-webhook-fail" in f.message
    (entry,) = [b for b in report.blast_radius if b.plane is Plane.CROSS]
    assert entry.scope == "cluster"
    assert any("are rejected" in b for b in entry.breaks)
    assert any("keep running (admission applies to writes only)" in s for s in entry.still_works)
    assert any("kubectl delete validatingwebhookconfiguration kpd-test-fail" in s for s in entry.still_works)
    # both planes' own components stay healthy: the summary says where the failure is
    assert "control plane (self-hosted) healthy" in report.summary
    assert "cross-plane failing (kpd-test-fail/" in report.summary
    (hook,) = [c for c in report.components if c.name == "validating-webhook"]
    assert hook.status is Status.DOWN


def test_ignore_webhook_without_endpoints_is_a_warning_policy_not_enforced() -> None:
    report = analyze(webhook_case("ignore-mutating"))
    assert report.status == "warning"
    assert "KPD-401" in codes(report) and "KPD-400" not in codes(report)
    (entry,) = [b for b in report.blast_radius if b.plane is Plane.CROSS]
    assert "silently not enforced" in entry.summary
    assert "every write succeeds" in entry.still_works


def test_webhook_whose_only_endpoint_is_on_a_failing_node_is_in_that_nodes_blast_radius() -> None:
    """Derived: the webhook's Service gets one ready endpoint on kplanediag-worker, whose Ready
    condition is then Unknown (as the node controller leaves a silent node)."""

    def edit(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["kind"] == "EndpointSlice" and item["metadata"]["namespace"] == "kpd-webhook-fail":
                item["endpoints"] = [
                    {"addresses": ["10.0.1.9"], "conditions": {"ready": True}, "nodeName": "kplanediag-worker"}
                ]
            if item["kind"] == "Node" and item["metadata"]["name"] == "kplanediag-worker":
                for c in item["status"]["conditions"]:
                    if c["type"] == "Ready":
                        c["status"], c["reason"] = "Unknown", "NodeStatusUnknown"

    report = analyze(webhook_case("fail-validating", edit))
    assert "KPD-400" in codes(report)
    f = next(f for f in report.findings if f.code == "KPD-400")
    assert "only ready endpoints are on failing node(s) kplanediag-worker" in f.message
    node = next(b for b in report.blast_radius if b.scope == "node")
    assert any("webhook kpd-test-fail/" in b and "rejected cluster-wide" in b for b in node.effects), node.effects


def test_the_backing_pods_state_is_named() -> None:
    """Derived: a pod of the webhook's Deployment back, crash-looping (a real pod of the capture,
    web's, relabelled into the webhook's namespace and selector)."""

    def edit(items: list[dict[str, Any]]) -> None:
        pod = next(i for i in items if i["kind"] == "Pod" and i["metadata"]["namespace"] == "shop")
        pod = json.loads(json.dumps(pod))
        pod["metadata"].update(namespace="kpd-webhook-fail", name="kpd-webhook-7d9f", labels={"app": "kpd-webhook"})
        pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
        pod["status"]["containerStatuses"] = [
            {"name": "webhook", "ready": False, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]
        items.append(pod)

    report = analyze(webhook_case("fail-validating", edit))
    f = next(f for f in report.findings if f.code == "KPD-400")
    assert "(its pods: kpd-webhook-7d9f (Running, CrashLoopBackOff, not ready))" in f.message, f.message


def test_webhook_served_again_is_healthy() -> None:
    """Derived: the same capture with one ready endpoint on a healthy node."""

    def edit(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["kind"] == "EndpointSlice" and item["metadata"]["namespace"] == "kpd-webhook-fail":
                item["endpoints"] = [
                    {"addresses": ["10.0.1.9"], "conditions": {"ready": True}, "nodeName": "kplanediag-worker2"}
                ]

    report = analyze(webhook_case("fail-validating", edit))
    assert not [c for c in codes(report) if c.startswith("KPD-40")]
    assert report.status == "healthy"


def test_unavailable_apiservice_names_its_reason_and_what_hangs() -> None:
    d = REAL / "lab-apiservice-down"
    report = analyze(merged(d / "apiservices.json", d / "services-endpointslices.json"))
    (f,) = [f for f in report.findings if f.code == "KPD-410"]
    assert f.subject == "v1beta1.kpd-test.example.com"
    assert "MissingEndpoints" in f.message and "kpd-apiservice/kpd-test-api" in f.message
    (entry,) = [b for b in report.blast_radius if b.plane is Plane.CROSS]
    assert any("namespace can hang in Terminating" in b for b in entry.breaks)
    # the built-in APIServices are served by the API server itself: not judged, not listed
    assert [c.detail for c in report.components if c.name == "aggregated-api"] == ["v1beta1.kpd-test.example.com"]


def test_metrics_server_group_says_hpas_stop() -> None:
    """Derived: the same unavailable APIService renamed to metrics-server's group."""
    d = REAL / "lab-apiservice-down"

    def edit(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["kind"] == "APIService" and item["metadata"]["name"] == "v1beta1.kpd-test.example.com":
                item["metadata"]["name"], item["spec"]["group"] = "v1beta1.metrics.k8s.io", "metrics.k8s.io"

    report = analyze(merged(d / "apiservices.json", d / "services-endpointslices.json", edit=edit))
    entry = next(b for b in report.blast_radius if b.plane is Plane.CROSS)
    assert any("HorizontalPodAutoscalers on CPU or memory stop scaling" in b for b in entry.breaks)
    assert any("kubectl top" in b for b in entry.breaks)


def with_metrics(snapshot: Snapshot, path: Path) -> Snapshot:
    return msgspec.structs.replace(snapshot, metrics=parse_metrics(path.read_bytes()))


def test_apf_metrics_parsed_per_priority_level() -> None:
    burst = parse_metrics((APF / "metrics-burst.txt").read_bytes())
    level = next(p for p in burst.priority_levels if p.name == "kpd-test-squeeze")
    assert level.waiting >= 1 and level.rejected.get("queue-full", 0) > 0
    assert level.limit_seats is not None and level.limit_seats >= 1
    rest = parse_metrics((APF / "metrics-rest.txt").read_bytes())
    assert all(p.waiting == 0 for p in rest.priority_levels)


def test_apf_queueing_is_a_warning_that_running_workloads_are_not_affected() -> None:
    base = webhook_case("ignore-mutating")  # any lab capture: the cluster itself is healthy
    healthy = analyze(with_metrics(base, APF / "metrics-rest.txt"))
    assert "KPD-441" not in codes(healthy)
    report = analyze(with_metrics(base, APF / "metrics-burst.txt"))
    (f,) = [f for f in report.findings if f.code == "KPD-441"]
    assert "priority level kpd-test-squeeze: 1 request(s) waiting in queue" in f.message
    assert "rejected since the API server started" in f.message
    entry = next(b for b in report.blast_radius if b.failure == "API server slow or saturated")
    assert any("does not break running applications" in s for s in entry.still_works)
    assert any("Service traffic keeps flowing" in s for s in entry.still_works)


def test_pending_csr_is_a_finding_after_the_policy_patience() -> None:
    csrs = REAL / "lab-csr-pending" / "certificatesigningrequests.json"
    fresh = analyze(merged(csrs))
    assert "KPD-432" not in codes(fresh)  # 3 s old: an approver may still answer
    created = fresh.cluster.collected_at
    late = analyze(merged(csrs), now=created + timedelta(minutes=20))
    (f,) = [f for f in late.findings if f.code == "KPD-432"]
    assert "kubelet serving certificate" in f.message and "20 min" in f.message


def test_serving_certificate_parsed_from_the_handshake_capture() -> None:
    der = ssl.PEM_cert_to_DER_cert((REAL / "lab-cert" / "serving-cert.pem").read_text())
    cert = parse_certificate(der)
    assert cert is not None and cert.not_after is not None and cert.not_before is not None
    assert "127.0.0.1" in cert.dns_names
    assert timedelta(days=1) < cert.not_after - cert.not_before < timedelta(days=30)


@pytest.mark.parametrize(("days", "code"), [(40, None), (20, "KPD-430"), (5, "KPD-431"), (-1, "KPD-431")])
def test_serving_certificate_expiry_thresholds(days: int, code: str | None) -> None:
    der = ssl.PEM_cert_to_DER_cert((REAL / "lab-cert" / "serving-cert.pem").read_text())
    cert = parse_certificate(der)
    assert cert is not None and cert.not_after is not None
    base = msgspec.structs.replace(webhook_case("ignore-mutating"), serving_certificate=cert)
    report = analyze(base, now=cert.not_after - timedelta(days=days))
    found = [f.code for f in report.findings if f.code.startswith("KPD-43")]
    assert found == ([code] if code else [])
    if code:
        assert any("kubeadm certs check-expiration" in f.message for f in report.findings if f.code == code)


def test_broken_der_is_no_certificate() -> None:
    der = ssl.PEM_cert_to_DER_cert((REAL / "lab-cert" / "serving-cert.pem").read_text())
    for damaged in (der[:40], der[:-200], b"\x30\x82\xff\xff" + der[4:], b""):
        assert parse_certificate(damaged) is None


# --- etcd's storage: the NOSPACE alarm on a throwaway control plane (lab-etcd-quota/SOURCES.md) -----

ETCD = REAL / "lab-etcd-quota"
QUOTA = 25165824  # the throwaway etcd's --quota-backend-bytes


def test_storage_metrics_parsed_before_and_during_the_alarm() -> None:
    before = parse_metrics((ETCD / "metrics-before.txt").read_bytes())
    alarm = parse_metrics((ETCD / "metrics-alarm.txt").read_bytes())
    assert [s.cluster for s in alarm.storage] == ["etcd-0"]
    assert before.storage[0].bytes < 1e6 < 24e6 < alarm.storage[0].bytes < QUOTA
    assert before.storage_errors == {}
    assert alarm.storage_errors["update"] >= 1 and alarm.storage_errors["create"] == 1


@pytest.mark.parametrize(("quota", "code"), [(QUOTA, "KPD-421"), (int(QUOTA * 1.2), "KPD-420"), (2 * 2**30, None)])
def test_database_size_against_the_quota(quota: int, code: str | None) -> None:
    base = with_metrics(snap("lab-healthy"), ETCD / "metrics-alarm.txt")
    report = analyze(base, etcd_quota=quota)
    found = [f for f in report.findings if f.code in ("KPD-420", "KPD-421")]
    assert [f.code for f in found] == ([code] if code else [])
    if code:
        assert "as given by --etcd-quota" in found[0].message
        entry = next(b for b in report.blast_radius if b.failure.startswith("etcd database"))
        assert any("database space exceeded" in b for b in entry.breaks)
        assert any("reads keep working" in s for s in entry.still_works)


def test_lab_profile_default_quota_is_etcds_2_gib() -> None:
    report = analyze(with_metrics(snap("lab-healthy"), ETCD / "metrics-alarm.txt"))
    assert any("of its 2.0 GiB quota (the kind default)" in o for o in report.cluster.observations)


def aged(minutes: float, keep_identity: bool = True) -> Snapshot:
    """Derived: the healthy lab capture with every Lease last renewed ``minutes`` before it was
    collected (what a full etcd does: nothing can be written), with /metrics of the throwaway's alarm."""
    base = with_metrics(snap("lab-healthy"), ETCD / "metrics-alarm.txt")
    leases = []
    for lease in base.leases:
        if not keep_identity and "apiserver.kubernetes.io/identity" in lease.metadata.labels:
            continue
        renewed = lease.spec.renew_time
        if renewed is not None:
            renewed -= timedelta(minutes=minutes)
        leases.append(msgspec.structs.replace(lease, spec=msgspec.structs.replace(lease.spec, renew_time=renewed)))
    return msgspec.structs.replace(base, resources=msgspec.structs.replace(base.resources, leases=tuple(leases)))


def test_no_lease_renewed_while_reads_work_is_writes_failing_not_dead_nodes() -> None:
    report = analyze(aged(2))
    found = codes(report)
    assert "KPD-422" in found
    assert not {"KPD-202", "KPD-201", "KPD-120"} & set(found), found  # consequences, not causes
    kubelets = [c for c in report.components if c.name == "kubelet"]
    assert kubelets and all(c.status is Status.UNKNOWN for c in kubelets)
    assert not [b for b in report.blast_radius if b.scope == "node"]
    f = next(f for f in report.findings if f.code == "KPD-422")
    assert "etcd database 23.2 MiB" in f.message and "failed etcd writes" in f.message
    assert next(b for b in report.blast_radius if b.failure.startswith("writes failing cluster-wide"))


def test_stale_leases_without_the_api_servers_own_are_still_dead_nodes() -> None:
    """Without an identity Lease nothing proves a running process could not write: nodes whose
    heartbeats are old are silent nodes, as before."""
    found = codes(analyze(aged(2, keep_identity=False)))
    assert "KPD-422" not in found and "KPD-202" in found


def test_a_recent_lease_means_writes_work() -> None:
    assert "KPD-422" not in codes(analyze(aged(0)))
    assert "KPD-422" not in codes(analyze(aged(0.5)))  # within the policy's 60 s


def test_webhook_through_an_externalname_service_is_not_verifiable_not_down() -> None:
    """An ExternalName Service never has endpoints: its webhook is called outside the cluster."""
    report = analyze(webhook_case("fail-validating-loopback"))
    assert "KPD-400" not in codes(report) and "KPD-402" in codes(report)
    f = next(f for f in report.findings if f.code == "KPD-402")
    assert "localhost" in f.message
    (hook,) = [c for c in report.components if c.name == "validating-webhook"]
    assert hook.status is Status.UNKNOWN


def test_writes_failing_marks_etcd_degraded_although_its_checks_pass() -> None:
    report = analyze(aged(2))
    etcd = [c for c in report.components if c.name == "etcd"]
    assert etcd and all(c.status is Status.DEGRADED and "refusing writes" in c.detail for c in etcd)


def test_objects_per_resource_from_the_current_metric_family() -> None:
    """v1.36.2 counts objects in apiserver_resource_objects {group, resource} (and still in the
    deprecated apiserver_storage_objects): the current family is read, named resource.group."""
    metrics = parse_metrics((REAL / "lab-metrics" / "metrics.txt").read_bytes())
    assert {"apiserver_resource_objects", "apiserver_storage_objects"} <= set(metrics.families)
    assert metrics.objects["pods"] == 19  # the lab's 19 pods (lab-metrics/SOURCES.md)
    assert metrics.objects["clusterroles.rbac.authorization.k8s.io"] > 0
    legacy = parse_metrics(
        b"\n".join(
            line
            for line in (REAL / "lab-metrics" / "metrics.txt").read_bytes().splitlines()
            if b"apiserver_resource_objects" not in line
        )
    )
    assert legacy.objects == metrics.objects  # the same counts, from the deprecated family


def test_metrics_lines_parsed_by_prometheus_client_a_bad_one_skipped_alone() -> None:
    """A line prometheus_client's parser refuses costs that line only; a counter named without
    ``_total`` keeps its exposed name (the TYPE lines, which would rename it, are not fed to it)."""
    body = (
        b"# TYPE apiserver_admission_webhook_rejection_count counter\n"
        b'apiserver_admission_webhook_rejection_count{name="w",type="validating",error_type="no_error"} 3\n'
        b'apiserver_storage_objects{resource="pods"} 7 1700000000000\n'
        b'apiserver_storage_objects{resource="nodes"\n'  # cut short
        b'apiserver_storage_objects{resource="a\\"b"} NaN\n'  # not finite: not a count
        b'etcd_request_errors_total{operation="get"} +Inf\n'
        b"\xff\xfe garbage\n"
    )
    found = samples(body)
    assert found == {
        "apiserver_admission_webhook_rejection_count": [
            ({"name": "w", "type": "validating", "error_type": "no_error"}, 3.0)
        ],
        "apiserver_storage_objects": [({"resource": "pods"}, 7.0)],
    }
    assert parse_metrics(body).objects == {"pods": 7}


# --- a slow API server: kplanediag's own request timings (lab-metrics/snapshot.json, a live run) -----

LIVE = REAL / "lab-metrics" / "snapshot.json"


def slowed(factor: float, which: tuple[str, ...] = ("version", "livez", "readyz")) -> Snapshot:
    """Derived: the live run's own timings, those of ``which`` multiplied by ``factor``."""
    base = load_snapshot(LIVE)
    requests = tuple(
        msgspec.structs.replace(
            r,
            seconds=r.seconds * factor,
            slowest_page=r.slowest_page * factor if r.slowest_page is not None else None,
        )
        if r.source in which
        else r
        for r in base.requests
    )
    return msgspec.structs.replace(base, requests=requests)


def test_a_live_snapshot_keeps_certificate_metrics_and_timings() -> None:
    snap_ = load_snapshot(LIVE)
    assert snap_.serving_certificate is not None and snap_.serving_certificate.not_after is not None
    assert snap_.metrics is not None and snap_.metrics.storage and snap_.metrics.priority_levels
    assert {r.source for r in snap_.requests} >= {"version", "livez", "readyz", "metrics", "pods", "apiservices"}
    report = analyze(snap_)
    assert report.status == "healthy", report.findings


def test_single_gets_slower_than_the_slo_are_a_slow_api_server_not_an_outage() -> None:
    normal = analyze(slowed(1))
    assert "KPD-440" not in codes(normal)
    slow = min(r.seconds for r in load_snapshot_requests() if r.source in ("version", "livez", "readyz"))
    report = analyze(slowed(2.0 / slow))  # every single GET now takes at least 2 s
    (f,) = [f for f in report.findings if f.code == "KPD-440"]
    assert "single GETs took" in f.message and "SLO 1s" in f.message
    assert report.status == "warning"
    entry = next(b for b in report.blast_radius if b.failure == "API server slow or saturated")
    assert any("kubectl, deploys, scaling and controllers are slow" in b for b in entry.breaks)
    assert any("does not break running applications" in s for s in entry.still_works)


def test_a_cluster_wide_list_page_over_30s_is_slow() -> None:
    report = analyze(slowed(31 / 0.001, which=("pods",)))
    assert any("a page of the pods list took" in f.message for f in report.findings if f.code == "KPD-440")


def load_snapshot_requests() -> tuple[Any, ...]:
    return load_snapshot(LIVE).requests


def test_writes_failing_with_etcd_checks_failing_is_not_called_nospace() -> None:
    """Derived: the aged capture with the /readyz of the lab's etcd-down capture (etcd killed)."""
    down = snap("lab-etcd-down")
    report = analyze(msgspec.structs.replace(aged(2), readyz=down.readyz, livez=down.livez))
    f = next(f for f in report.findings if f.code == "KPD-422")
    assert "etcd's own checks fail too (KPD-110)" in f.message and "NOSPACE" not in f.message
    assert "KPD-110" in codes(report)
    assert not [b for b in report.blast_radius if b.failure.startswith("writes failing")]  # etcd's entry says it
    assert [b for b in report.blast_radius if b.failure.startswith("etcd")]


def test_only_a_429_answer_is_throttling_not_a_name_holding_429() -> None:
    """A gap whose reason merely contains "429" (a redacted token such as pod-3f429a, a pod named
    web-429) is not the API server's rate limit: KPD-441 only for the 429 answer's own reason."""
    base = with_metrics(webhook_case("ignore-mutating"), APF / "metrics-rest.txt")
    named = msgspec.structs.replace(base, gaps=(Gap(source="events", reason="bad item pod-3f429a"),))
    assert "KPD-441" not in codes(analyze(named))
    refused = msgspec.structs.replace(base, gaps=(Gap(source="events", reason=THROTTLED),))
    (f,) = [f for f in analyze(refused).findings if f.code == "KPD-441"]
    assert "events" in f.message


def test_a_burst_of_a_few_queued_requests_is_no_warning() -> None:
    """The lab's squeezed level (tests/unit/data APF capture) with its rejections taken away: one waiting
    request at one instant is a burst (seen on a freshly made HA kind cluster), five are saturation."""
    base = webhook_case("ignore-mutating")
    metrics = parse_metrics((APF / "metrics-burst.txt").read_bytes())

    def squeezed(waiting: int) -> Snapshot:
        levels = tuple(
            msgspec.structs.replace(p, waiting=waiting, rejected={}) if p.name == "kpd-test-squeeze" else p
            for p in metrics.priority_levels
        )
        return msgspec.structs.replace(base, metrics=msgspec.structs.replace(metrics, priority_levels=levels))

    assert "KPD-441" not in codes(analyze(squeezed(1)))
    (f,) = [f for f in analyze(squeezed(5)).findings if f.code == "KPD-441"]
    assert "kpd-test-squeeze: 5 request(s) waiting in queue" in f.message
