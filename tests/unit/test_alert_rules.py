"""The alert rules of deploy/prometheus, checked and unit-tested with promtool (Debian's `prometheus`
package) on series the exporter produced: render/metrics.py's exposition of real fault reports (the
lab captures of tests/unit/data and tests/unit/data/real, SOURCES.md; the etcd members of a real
OpenShift capture), one scrape a minute: healthy for 10 minutes, the fault for 10, healed for 10.
Each alert must fire on its fault with the blast radius in its description, and nothing may fire on
a healthy cluster. Without promtool the test is skipped, except under CI=true, where it fails."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.render.metrics import RunStats, exposition
from kplanediag.snapshot import load_bytes, parse_time
from tests.unit.alert_expect import (
    RUNBOOK,
    control_plane,
    dns_down,
    etcd_at_risk,
    etcd_writes,
    labels,
    nodes_down,
    nothing,
    webhook_blocking,
)
from tests.unit.factories import report
from tests.unit.prom_series import input_series, samples

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"
RULES = DEPLOY / "kplanediag-rules.yaml"
OPERATOR = DEPLOY / "kplanediag-prometheusrule.yaml"
REAL = Path(__file__).parent / "data" / "real"
CAPTURES = ROOT.parent / "shared" / "real-captures"
INTERVAL = 60
ALERTS = [r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return found


def _generator() -> Callable[[str], str]:
    spec = importlib.util.spec_from_file_location("prometheusrule", DEPLOY / "prometheusrule.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generate: Callable[[str], str] = module.prometheus_rule
    return generate


def test_prometheusrule_is_generated_from_the_rule_groups() -> None:
    assert OPERATOR.read_text() == _generator()(RULES.read_text()), "run python deploy/prometheus/prometheusrule.py"
    doc = yaml.safe_load(OPERATOR.read_text())
    assert (doc["apiVersion"], doc["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert doc["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_every_alert_has_severity_summary_description_and_a_runbook_anchor_that_exists() -> None:
    anchors = {
        "codes.md": (ROOT / "docs" / "codes.md").read_text(),
        "metrics.md": (ROOT / "docs" / "metrics.md").read_text(),
    }
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
            notes = rule["annotations"]
            assert notes["summary"] and notes["description"], rule["alert"]
            doc, _, fragment = notes["runbook_url"].removeprefix(RUNBOOK).partition("#")
            for anchor in fragment.replace("{{", "}}").split("}}"):
                if anchor.startswith("kpd-") or anchor.startswith("kplanediag"):
                    assert f'id="{anchor}"' in anchors[doc] or f"\n### {anchor}" in anchors[doc].lower(), anchor


def test_promtool_check_rules_accepts_both_files(tmp_path: Path) -> None:
    spec = tmp_path / "from-prometheusrule.yaml"
    spec.write_text(yaml.safe_dump(yaml.safe_load(OPERATOR.read_text())["spec"]))
    done = subprocess.run(
        [promtool(), "check", "rules", str(RULES), str(spec)], capture_output=True, text=True, check=False
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(f"SUCCESS: {len(ALERTS)} rules found") == 2


# --- the faults --------------------------------------------------------------------------------


def merged(*files: Path) -> Report:
    items: list[Any] = []
    for f in files:
        items += json.loads(f.read_text())["items"]
    return analyze(load_bytes(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}).encode()))


def webhook(name: str) -> Report:
    d = REAL / "lab-webhook-down" / name
    return merged(
        d / "cluster.json", d / "validatingwebhookconfigurations.json", d / "mutatingwebhookconfigurations.json"
    )


@cache
def openshift(etcd_down: int) -> Report:
    """The real OpenShift 4.8 capture (three etcd members), with ``etcd_down`` etcd pods not Ready."""
    if not CAPTURES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CAPTURES} missing")
        pytest.skip(f"{CAPTURES} not present")
    name = "openshift-4.8-aws-sdn-healthy"
    data = json.loads((CAPTURES / f"{name}.json").read_text())
    etcd = [i for i in data["items"] if i["kind"] == "Pod" and i["metadata"]["name"].startswith("etcd-ip-")]
    for pod in etcd[:etcd_down]:
        for cond in pod["status"]["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
    at = json.loads((CAPTURES / "capture-times.json").read_text())[name]
    snap = load_bytes(json.dumps(data).encode())
    return analyze(snap, parse_time(at))


@dataclass(frozen=True)
class Fault:
    name: str
    healthy: Callable[[], Report]
    fault: Callable[[], Report]
    expect: Callable[[Report], list[dict[str, Any]]]  # the alerts that fire on the fault (promtool exp_alerts)


def lab(name: str) -> Callable[[], Report]:
    return lambda: report(name)


FAULTS = [
    Fault("scheduler stopped (stale leader Lease)", lab("lab-healthy"), lab("lab-scheduler-stale"), control_plane),
    Fault(
        "worker silenced",
        lab("lab-healthy"),
        lab("lab-worker-silenced"),
        nodes_down("node failure", "kubelet", "node-failure", "kpd-200"),
    ),
    Fault(
        "kube-proxy not ready",
        lab("lab-healthy"),
        lab("lab-kube-proxy-unready"),
        nodes_down("kube-proxy", "kube-proxy", "component-down", "kpd-300"),
    ),
    Fault("etcd down", lab("lab-healthy"), lab("lab-etcd-down"), etcd_writes("control-plane-down", "kpd-110")),
    Fault("CoreDNS down", lab("lab-healthy"), lab("lab-coredns-down"), dns_down),
    Fault("webhook Fail not served", lab("lab-healthy"), lambda: webhook("fail-validating"), webhook_blocking),
    Fault("webhook Ignore not served (no page)", lab("lab-healthy"), lambda: webhook("ignore-mutating"), nothing),
    Fault("etcd 1 of 3 members down", lambda: openshift(0), lambda: openshift(1), etcd_at_risk),
    Fault(
        "etcd 2 of 3 members down", lambda: openshift(0), lambda: openshift(2), etcd_writes("quorum-lost", "kpd-113")
    ),
]


def scrape(rep: Report, stats: RunStats) -> dict[str, float]:
    """samples(exposition(rep, stats)), its report part parsed once per report (the two parts are
    independent families; the tests compare one scrape a scenario with the whole exposition)."""
    key = id(rep)
    if key not in _REPORT_PART:
        run_only = samples(exposition(None, RunStats()))
        _REPORT_PART[key] = (rep, {k: v for k, v in samples(exposition(rep, RunStats())).items() if k not in run_only})
    return {**_REPORT_PART[key][1], **samples(exposition(None, stats))}


_REPORT_PART: dict[int, tuple[Report, dict[str, float]]] = {}


def ok_run(minute: int) -> RunStats:
    """A check a minute, each one successful (promtool's clock starts at 0)."""
    return RunStats(
        checks_total=minute + 1,
        last_success_timestamp=float(minute * INTERVAL),
        last_duration_seconds=0.4,
        interval_seconds=INTERVAL,
    )


def fault_test(fault: Fault) -> dict[str, Any]:
    healthy, broken = fault.healthy(), fault.fault()
    assert healthy.status == "healthy"
    scrapes = [scrape(broken if 10 <= m < 20 else healthy, ok_run(m)) for m in range(30)]
    assert scrapes[15] == samples(exposition(broken, ok_run(15)))
    firing = {a["alertname"]: a for a in fault.expect(broken)}
    assert set(firing) <= set(ALERTS)
    cases = []
    for minute, expected in ((9, {}), (15, firing), (25, {})):
        for name in ALERTS:
            alert = expected.get(name)
            exp = [{k: v for k, v in alert.items() if k != "alertname"}] if alert else []
            cases.append({"eval_time": f"{minute}m", "alertname": name, "exp_alerts": exp})
    return {"name": fault.name, "interval": "1m", "input_series": input_series(scrapes), "alert_rule_test": cases}


def failing_checks_test(cls: str) -> dict[str, Any]:
    """Checks succeed for 10 minutes, then fail with ``cls`` (as serve counts them, keeping the
    last report, stale): the run metrics of each minute."""
    healthy = report("lab-healthy")
    scrapes = []
    for m in range(30):
        stats = ok_run(m)
        if m >= 10:
            stats = RunStats(
                checks_total=m + 1,
                failures_total={cls: m - 9},
                last_success_timestamp=9.0 * INTERVAL,
                last_duration_seconds=10.0,
                stale=True,
                interval_seconds=INTERVAL,
            )
        scrapes.append(scrape(healthy, stats))
    assert scrapes[-1] == samples(exposition(healthy, stats))
    failing = {
        "exp_labels": labels(severity="warning"),
        "exp_annotations": {
            "summary": "kplanediag cannot assess the cluster: its latest checks failed",
            "description": f"kplanediag's checks are failing ({cls}): its metrics and status page show the last "
            "successful check, and its other alerts may stay silent.",
            "runbook_url": f"{RUNBOOK}metrics.md#kplanediagchecksfailing",
        },
    }
    stale = {
        "exp_labels": labels(severity="critical"),
        "exp_annotations": {
            "summary": "kplanediag has not completed a check for 10m 0s",
            "description": "No check succeeded for 10m 0s (more than 3 intervals): kplanediag is blind, so "
            "control-plane, data-plane and cross-plane failures go unreported by it.",
            "runbook_url": f"{RUNBOOK}metrics.md#kplanediagstale",
        },
    }

    def unreachable(age: str) -> dict[str, Any]:
        return {
            "exp_labels": labels(severity="critical"),
            "exp_annotations": {
                "summary": "the API server does not answer: the control plane is unavailable",
                "description": "kplanediag's checks get no answer from the API server in time. Blast radius: "
                "kubectl, deploys, scaling, scheduling and every controller stop, and kubelets cannot report node "
                "status. Running pods keep running and Services keep routing on the rules nodes already have. "
                f"The last successful check was {age} ago.",
                "runbook_url": f"{RUNBOOK}codes.md#kpd-100",
            },
        }

    down = cls in ("unreachable", "deadline")
    timeline: list[tuple[int, dict[str, Any]]] = [
        (9, {}),
        (13, {"KplanediagAPIServerUnreachable": unreachable("4m 0s")} if down else {}),
        (
            16,
            {"KplanediagChecksFailing": failing}
            | ({"KplanediagAPIServerUnreachable": unreachable("7m 0s")} if down else {}),
        ),
        (
            19,
            {"KplanediagChecksFailing": failing, "KplanediagStale": stale}
            | ({"KplanediagAPIServerUnreachable": unreachable("10m 0s")} if down else {}),
        ),
    ]
    cases = []
    for minute, expected in timeline:
        for name in ALERTS:
            exp = [expected[name]] if name in expected else []
            cases.append({"eval_time": f"{minute}m", "alertname": name, "exp_alerts": exp})
    return {
        "name": f"checks failing ({cls}), then stale",
        "interval": "1m",
        "input_series": input_series(scrapes),
        "alert_rule_test": cases,
    }


@pytest.mark.timeout(60)  # 11 analysed captures, 330 expositions and a promtool run: a few seconds
def test_promtool_test_rules_on_the_exporters_series_of_real_faults(tmp_path: Path) -> None:
    tool = promtool()
    tests = [fault_test(f) for f in FAULTS] + [failing_checks_test(c) for c in ("unreachable", "authentication")]
    spec = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": tests}
    path = tmp_path / "kplanediag-rules-test.yaml"
    path.write_text(json.dumps(spec, indent=1))  # YAML is a superset of JSON, and json is fast
    done = subprocess.run([tool, "test", "rules", str(path)], capture_output=True, text=True, check=False)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr
    assert "SUCCESS" in done.stdout
