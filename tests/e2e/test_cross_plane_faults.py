"""Failures that cross the planes, and the warnings before an outage, on real API servers.

On the lab (each fault scoped to its own namespace or test identity, undone on exit: lab/faults.py, lab/apf.py):
an admission webhook whose Deployment is scaled to zero (failurePolicy Fail, then Ignore), one whose
ready endpoint serves a certificate for another name (lab/webhook_calls.py), an
APIService backed by a Service without endpoints, and a priority level of API Priority and Fairness
squeezed while a burst queues and is rejected. On throwaway control planes (lab/throwaway.py, their
own etcd and API server, never the shared lab): etcd with a 24 MiB quota filled until its NOSPACE
alarm, and an API server whose serving certificate expires in 5 (then 20) days.

kplanediag runs as deploy/rbac.yaml's ServiceAccount everywhere. ``-s`` prints each report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kplanediag.analysis.crossplane.webhook_calls import assess_webhook_calls
from kplanediag.analysis.index import ClusterIndex
from kplanediag.snapshot.files import load_snapshot
from lab import apf, faults, labctl, throwaway, webhook_calls
from tests.e2e.conftest import Cluster

pytestmark = pytest.mark.timeout(400)


def findings(doc: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["code"] == code]


def show(title: str, cluster_or_path: Cluster | Path, *extra: str) -> None:
    """The table report, printed for the record (-s)."""
    if isinstance(cluster_or_path, Cluster):
        proc = cluster_or_path.kplanediag("check", *extra)
    else:
        proc = kpd(cluster_or_path, "check", *extra)
    print(f"\n===== {title} (exit {proc.returncode}) =====\n{proc.stdout}{proc.stderr}")


def test_webhook_with_failure_policy_fail_and_no_endpoint_blocks_writes_and_says_so(
    cluster: Cluster, lab: labctl.Lab
) -> None:
    with faults.webhook_down(lab, "Fail", "validating") as hook:
        assert "no endpoints available for service" in hook.write_error  # the write really fails
        code, doc = cluster.report()
        show("webhook Fail, no endpoint", cluster)
    assert code == 2, doc["summary"]
    (f,) = findings(doc, "KPD-400")
    assert f["plane"] == "cross-plane" and f["subject"].startswith(f"{hook.configuration}/")
    assert f"Service {hook.namespace}/{hook.service} has no ready endpoint" in f["message"]
    assert "CREATE, UPDATE of configmaps, pods" in f["message"]
    entry = next(b for b in doc["blastRadius"] if b["plane"] == "cross-plane")
    assert any("keep running (admission applies to writes only)" in s for s in entry["stillWorks"])
    assert any(f"kubectl delete validatingwebhookconfiguration {hook.configuration}" in s for s in entry["stillWorks"])
    # every control-plane process is healthy: the summary points at the cross-plane failure
    assert "control plane (self-hosted) healthy" in doc["summary"]["text"]
    assert "cross-plane failing" in doc["summary"]["text"]
    assert {c["status"] for c in doc["components"] if c["plane"] == "control-plane"} == {"healthy"}


def test_webhook_with_failure_policy_ignore_and_no_endpoint_is_a_warning(cluster: Cluster, lab: labctl.Lab) -> None:
    with faults.webhook_down(lab, "Ignore", "mutating") as hook:
        assert hook.write_error == ""  # the write passes, unchecked
        code, doc = cluster.report()
    assert code == 1, doc["summary"]
    assert findings(doc, "KPD-401") and not findings(doc, "KPD-400")
    entry = next(b for b in doc["blastRadius"] if b["plane"] == "cross-plane")
    assert "silently not enforced" in entry["summary"]


def test_webhook_with_ready_endpoints_but_a_certificate_for_another_name_is_the_cause(
    cluster: Cluster, lab: labctl.Lab, tmp_path: Path
) -> None:
    with webhook_calls.webhook_call_fault(lab, "wrong-name") as hook:
        assert "x509: certificate is valid for" in hook.write_error  # the write really fails, at the TLS check
        saved = cluster.kplanediag("snapshot", "save", str(tmp_path / "snapshot.json"))
        code, doc = cluster.report()
        show("webhook with ready endpoints, certificate for another name", cluster)
    assert saved.returncode == 0, saved.stderr
    # the analysis itself, on what kplanediag collected live (as its ServiceAccount)
    snap = load_snapshot(tmp_path / "snapshot.json")
    idx = ClusterIndex.build(snap, snap.collected_at)
    found, entries = assess_webhook_calls(idx)
    subject = f"{hook.configuration}/{hook.webhook}"
    assert [(f.code, f.subject, f.severity.value) for f in found] == [("KPD-403", subject, "critical")]
    assert "not valid for the name it is called by" in found[0].message
    assert f"not {hook.service}.{hook.namespace}.svc" in found[0].message
    (entry,) = entries
    assert entry.cause == found[0] and entry.failure_class == "webhook-calls-failing"
    # the report: KPD-403 is the cause of the only cross-plane entry; the served webhook is not KPD-400
    assert code == 2, doc["summary"]
    (f,) = findings(doc, "KPD-403")
    assert f["subject"] == subject and f["severity"] == "critical"
    assert not findings(doc, "KPD-400") and not findings(doc, "KPD-401")
    blamed = [b for b in doc["blastRadius"] if b["severity"] in ("critical", "warning")]
    assert [(b["class"], (b["cause"] or {}).get("code")) for b in blamed] == [("webhook-calls-failing", "KPD-403")]
    assert {c["status"] for c in doc["components"] if c["plane"] == "control-plane"} == {"healthy"}


def test_unavailable_apiservice_is_reported_with_its_reason(cluster: Cluster, lab: labctl.Lab) -> None:
    with faults.apiservice_down(lab) as api:
        code, doc = cluster.report()
        show("APIService without endpoints", cluster)
    assert code == 1, doc["summary"]
    (f,) = findings(doc, "KPD-410")
    assert f["subject"] == api.name and api.reason in f["message"]
    entry = next(b for b in doc["blastRadius"] if b["plane"] == "cross-plane")
    assert any("Terminating" in b for b in entry["breaks"])
    # and once it is gone, the lab is healthy again
    code, doc = cluster.report()
    assert code == 0 and not findings(doc, "KPD-410"), doc["summary"]


def test_requests_queued_by_api_priority_and_fairness_are_a_warning_not_an_outage(
    cluster: Cluster, lab: labctl.Lab
) -> None:
    """The burst's identity has its own tiny priority level; kplanediag (another identity) reads
    /metrics during the burst until it sees the queue (a gauge of that instant: it empties and fills)."""
    with apf.squeeze(lab) as squeeze:
        seen: list[dict[str, Any]] = []

        def check() -> dict[str, Any]:
            if not any(findings(d, "KPD-441") for d in seen):
                seen.append(cluster.report()[1])
            else:
                time.sleep(0.5)
            return {}

        result = squeeze.burst(20, parallel=8, during=check)
    assert result.codes[429] > 0, result.codes  # the squeezed level did reject
    queued = [d for d in seen if findings(d, "KPD-441")]
    assert queued, [d["summary"]["text"] for d in seen]
    doc = queued[0]
    (f,) = findings(doc, "KPD-441")
    assert f"priority level {squeeze.priority_level}" in f["message"] and "waiting in queue" in f["message"]
    entry = next(b for b in doc["blastRadius"] if b["failure"] == "API server slow or saturated")
    assert any("does not break running applications" in s for s in entry["stillWorks"])
    assert doc["summary"]["status"] == "warning"  # never critical: nothing is down


# --- throwaway control planes ---------------------------------------------------------------------


def kpd(kubeconfig: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args, "--kubeconfig", str(kubeconfig)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def report(kubeconfig: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = kpd(kubeconfig, "check", "-o", "json", *extra)
    assert proc.returncode in (0, 1, 2), proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, doc


@pytest.fixture
def binaries(cluster: Cluster) -> None:
    if cluster.target != "lab":
        pytest.skip("throwaway control planes are built from the lab's binaries: run with the lab (make test)")


def until(what: str, probe: Any, timeout: float, interval: float = 3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            assert value, f"{what} not seen within {timeout:g}s"
            return value
        time.sleep(interval)


@pytest.fixture
def full_etcd(binaries: None) -> Iterator[tuple[throwaway.Throwaway, Path]]:
    with throwaway.throwaway("e2e-etcd-full", quota_bytes=24 << 20) as t:
        yield t, t.reader_kubeconfig()


def test_full_etcd_is_found_by_size_and_by_writes_that_stopped(full_etcd: tuple[throwaway.Throwaway, Path]) -> None:
    t, reader = full_etcd
    _, before = report(reader, "--etcd-quota", "24Mi")
    assert not findings(before, "KPD-421") and not findings(before, "KPD-422"), before["findings"]
    written = t.fill_until_alarm()
    assert written > 0 and any(a.get("alarm") == "NOSPACE" for a in t.etcd_alarms())
    write = t.kubectl("create", "configmap", "after-alarm", "-n", "default", "--from-literal=a=b", check=False)
    assert "database space exceeded" in write.stderr
    # with the quota given, the size says it at once
    doc = until(
        "KPD-421", lambda: (d := report(reader, "--etcd-quota", "24Mi")[1]) and findings(d, "KPD-421") and d, 30
    )
    assert "of its 24.0 MiB quota (as given by --etcd-quota)" in findings(doc, "KPD-421")[0]["message"]
    # without it, the API server's own identity Lease, no longer renewable, says it within a minute or two
    code, doc = until("KPD-422", lambda: (r := report(reader)) and findings(r[1], "KPD-422") and r, 150, 5)
    show("etcd full (NOSPACE), no --etcd-quota", reader)
    show("etcd full (NOSPACE), --etcd-quota 24Mi", reader, "--etcd-quota", "24Mi")
    assert code == 2
    (f,) = findings(doc, "KPD-422")
    assert "writes are failing cluster-wide" in f["message"] and "etcd database" in f["message"]
    entry = next(b for b in doc["blastRadius"] if b["failure"].startswith("writes failing cluster-wide"))
    assert any("every write fails" in b for b in entry["breaks"])
    assert any("reads keep working" in s for s in entry["stillWorks"])
    assert t.kubectl("get", "configmaps", "-n", "kpd-fill", "-o", "name").stdout.count("configmap/") == written


@pytest.mark.parametrize(("days", "code", "severity"), [(5, "KPD-431", "critical"), (20, "KPD-430", "warning")])
def test_serving_certificate_near_expiry(binaries: None, days: int, code: str, severity: str) -> None:
    with throwaway.throwaway(f"e2e-cert-{days}", serving_days=days) as t:
        _, doc = report(t.reader_kubeconfig())
        if days == 5:
            show("serving certificate expiring in 5 days", t.reader_kubeconfig())
    (f,) = findings(doc, code)
    assert f["severity"] == severity
    assert (
        f"expires in {days - 1}" in f["message"] or f"expires in {days}" in f["message"] or "expires in" in f["message"]
    )
    assert any("serving certificate" in o for o in doc["cluster"]["observations"])
