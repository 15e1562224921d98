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
import re
import shutil
import subprocess
import sys
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
    SEVERITY,
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
DASHBOARD = ROOT / "deploy" / "grafana" / "kplanediag-dashboard.json"
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


@cache
def generator() -> Any:
    """deploy/prometheus/generate.py, as a module (it is a deploy tool, not part of the package)."""
    spec = importlib.util.spec_from_file_location("generate", DEPLOY / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def minutes(duration: str) -> int:
    total = 0
    for number, unit in re.findall(r"([0-9]+)([smhd])", duration):
        total += int(number) * {"s": 0, "m": 1, "h": 60, "d": 1440}[unit]
    return total


RULE = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
FOR = {name: minutes(rule["for"]) for name, rule in RULE.items()}  # as config.yaml sets them
FAULT_FROM = 10  # healthy for 10 minutes, then the fault
FAULT_MINUTES = max(FOR.values()) + 5  # long enough for every alert's `for:`
END = FAULT_FROM + FAULT_MINUTES + 10  # then healed for 10 minutes


def test_committed_files_are_what_the_config_generates() -> None:
    """kplanediag-rules.yaml, the PrometheusRule, the Grafana dashboard and the alert table of
    docs/metrics.md are deploy/prometheus/generate.py's output for config.yaml, text for text."""
    gen = generator()
    config = gen.load_config(DEPLOY / "config.yaml")
    rules = gen.rules_text(config, (DEPLOY / "alerts.src.yaml").read_text())
    hint = "run python deploy/prometheus/generate.py"
    assert RULES.read_text() == rules, hint
    assert OPERATOR.read_text() == gen.prometheus_rule(rules), hint
    assert json.loads(DASHBOARD.read_text()) == gen.dashboard(config), hint
    docs = (ROOT / "docs" / "metrics.md").read_text()
    assert gen.alert_table(config, rules) in docs, hint
    doc = yaml.safe_load(OPERATOR.read_text())
    assert (doc["apiVersion"], doc["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert doc["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    # every alert has the for: and severity of config.yaml, and every kplanediag_* selector the job
    for name, rule in RULE.items():
        assert (rule["for"], rule["labels"]["severity"]) == config.alerts[name], name
        for metric in re.findall(r"kplanediag_[a-z_]+\{[^}]*", rule["expr"]):
            assert 'job="kplanediag-serve"' in metric, (name, metric)


def test_for_and_severity_follow_the_kubernetes_mixin() -> None:
    """The issue's example: the kubernetes-mixin's KubeNodeNotReady is a warning after 15 minutes."""
    assert (RULE["KplanediagNodesDataPlaneDown"]["for"], SEVERITY["KplanediagNodesDataPlaneDown"]) == ("15m", "warning")
    assert RULE["KplanediagControlPlaneUnavailable"]["for"] == "15m"
    assert RULE["KplanediagEtcdWritesFailing"]["for"] == "3m"


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


def cases_at(minutes_expected: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """promtool alert_rule_test cases: at each minute, every alert, firing exactly as expected."""
    cases = []
    for minute, expected in sorted(minutes_expected.items()):
        for name in ALERTS:
            alert = expected.get(name)
            exp = [{k: v for k, v in alert.items() if k != "alertname"}] if alert else []
            cases.append({"eval_time": f"{minute}m", "alertname": name, "exp_alerts": exp})
    return cases


def fault_test(fault: Fault) -> dict[str, Any]:
    """Healthy, the fault for longer than every `for:`, healed. Each alert is checked a minute before
    its `for:` has elapsed (pending: not firing), once it has, at the fault's end, and after it."""
    healthy, broken = fault.healthy(), fault.fault()
    assert healthy.status == "healthy"
    fault_end = FAULT_FROM + FAULT_MINUTES
    scrapes = [scrape(broken if FAULT_FROM <= m < fault_end else healthy, ok_run(m)) for m in range(END)]
    assert scrapes[FAULT_FROM + 5] == samples(exposition(broken, ok_run(FAULT_FROM + 5)))
    firing = {a["alertname"]: a for a in fault.expect(broken)}
    assert set(firing) <= set(ALERTS)
    moments = {FAULT_FROM - 1, fault_end - 1, END - 1}
    for name in firing:
        moments |= {FAULT_FROM + FOR[name] - 1, FAULT_FROM + FOR[name]}
    timeline = {t: {n: a for n, a in firing.items() if FAULT_FROM + FOR[n] <= t < fault_end} for t in sorted(moments)}
    return {
        "name": fault.name,
        "interval": "1m",
        "input_series": input_series(scrapes),
        "alert_rule_test": cases_at(timeline),
    }


def failing_checks_test(cls: str) -> dict[str, Any]:
    """Checks succeed for 10 minutes, then fail with ``cls`` (as serve counts them, keeping the
    last report, stale): the run metrics of each minute. Each alert's condition holds from a minute
    (stale from the first failed check; more than 3 intervals without one from minute 13), and it
    fires once its `for:` has elapsed: checked a minute before and at that minute."""
    healthy = report("lab-healthy")
    down = cls in ("unreachable", "deadline")
    holds = {"KplanediagChecksFailing": FAULT_FROM, "KplanediagStale": FAULT_FROM + 3}
    if down:
        holds["KplanediagAPIServerUnreachable"] = FAULT_FROM
    fires = {name: start + FOR[name] for name, start in holds.items()}
    end = max(fires.values()) + 2
    scrapes = []
    for m in range(end):
        stats = ok_run(m)
        if m >= FAULT_FROM:
            stats = RunStats(
                checks_total=m + 1,
                failures_total={cls: m - FAULT_FROM + 1},
                last_success_timestamp=(FAULT_FROM - 1.0) * INTERVAL,
                last_duration_seconds=10.0,
                stale=True,
                interval_seconds=INTERVAL,
            )
        scrapes.append(scrape(healthy, stats))
    assert scrapes[-1] == samples(exposition(healthy, stats))

    def failing(_age: str) -> dict[str, Any]:
        return {
            "exp_labels": labels("KplanediagChecksFailing"),
            "exp_annotations": {
                "summary": "kplanediag cannot assess the cluster: its latest checks failed",
                "description": f"kplanediag's checks are failing ({cls}): its metrics and status page show the last "
                "successful check, and its other alerts may stay silent.",
                "runbook_url": f"{RUNBOOK}metrics.md#kplanediagchecksfailing",
            },
        }

    def stale(age: str) -> dict[str, Any]:
        return {
            "exp_labels": labels("KplanediagStale"),
            "exp_annotations": {
                "summary": f"kplanediag has not completed a check for {age}",
                "description": f"No check succeeded for {age} (more than 3 intervals): kplanediag is blind, so "
                "control-plane, data-plane and cross-plane failures go unreported by it.",
                "runbook_url": f"{RUNBOOK}metrics.md#kplanediagstale",
            },
        }

    def unreachable(age: str) -> dict[str, Any]:
        return {
            "exp_labels": labels("KplanediagAPIServerUnreachable"),
            "exp_annotations": {
                "summary": "the API server does not answer: the control plane is unavailable",
                "description": "kplanediag's checks get no answer from the API server in time. Blast radius: "
                "kubectl, deploys, scaling, scheduling and every controller stop, and kubelets cannot report node "
                "status. Running pods keep running and Services keep routing on the rules nodes already have. "
                f"The last successful check was {age} ago.",
                "runbook_url": f"{RUNBOOK}codes.md#kpd-100",
            },
        }

    expect = {
        "KplanediagChecksFailing": failing,
        "KplanediagStale": stale,
        "KplanediagAPIServerUnreachable": unreachable,
    }
    moments = {FAULT_FROM - 1, end - 1} | {t for at in fires.values() for t in (at - 1, at)}
    timeline = {
        # the last success was at minute FAULT_FROM - 1: at minute t, (t - FAULT_FROM + 1) minutes ago
        t: {name: expect[name](f"{t - FAULT_FROM + 1}m 0s") for name, at in fires.items() if at <= t}
        for t in sorted(moments)
    }
    return {
        "name": f"checks failing ({cls}), then stale",
        "interval": "1m",
        "input_series": input_series(scrapes),
        "alert_rule_test": cases_at(timeline),
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


def own_config(tmp_path: Path) -> tuple[Any, Path]:
    """config.yaml as a team would change it: a cluster label, its own runbook URL, a regex selector."""
    doc = yaml.safe_load((DEPLOY / "config.yaml").read_text())
    doc |= {
        "clusterLabel": "cluster",
        "runbookBaseURL": "https://git.example.com/kplanediag/blob/main/docs",
        "selector": 'job=~"kplanediag-serve|kplanediag"',
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    out.mkdir()
    gen = generator()
    config = gen.load_config(path)
    gen.generate(config, out, None)
    return config, out


@pytest.mark.timeout(60)
def test_a_config_of_ones_own_generates_rules_that_fire_the_same_per_cluster(tmp_path: Path) -> None:
    """The same faults on series that carry a cluster label: the rules generated with clusterLabel
    fire with it, their descriptions' queries stay within the alert's cluster, the runbook URLs
    start with the configured base; promtool accepts both generated files."""
    tool = promtool()
    _, out = own_config(tmp_path)
    rules = out / "kplanediag-rules.yaml"
    text = rules.read_text()
    assert "on (cluster, job, instance)" in text and "{cluster=%q,instance=%q" in text
    assert '" $labels.cluster $labels.instance' in text and 'job=~"kplanediag-serve|kplanediag",' in text
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(yaml.safe_load((out / "kplanediag-prometheusrule.yaml").read_text())["spec"]))
    checked = subprocess.run(
        [tool, "check", "rules", str(rules), str(spec_file)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = [fault_test(f) for f in FAULTS[:4]] + [failing_checks_test("unreachable")]
    for t in tests:
        for series in t["input_series"]:
            series["series"] = series["series"].replace("{", '{cluster="prod",', 1)
        for case in t["alert_rule_test"]:
            for alert in case["exp_alerts"]:
                alert["exp_labels"]["cluster"] = "prod"
                notes = alert["exp_annotations"]
                notes["runbook_url"] = notes["runbook_url"].replace(
                    RUNBOOK, "https://git.example.com/kplanediag/blob/main/docs/"
                )
    spec = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests}
    path = tmp_path / "test.yaml"
    path.write_text(json.dumps(spec, indent=1))
    done = subprocess.run([tool, "test", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr


def dashboard_exprs(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def check_dashboard(board: dict[str, Any], tmp_path: Path, selector: str) -> None:
    """A Grafana dashboard that imports and queries what serve exports: unique panel ids, panels on
    the 24-column grid without overlap, every query on the ${datasource} variable, with the selector,
    valid PromQL (promtool, as recording rules), and naming only series the exporter writes."""
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36
    assert any(v["type"] == "datasource" and v["name"] == "datasource" for v in board["templating"]["list"])
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in board["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
        assert p["datasource"]["uid"] == "${datasource}" and p["targets"], p["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"]), p["title"]
    exported = {key.split("{", 1)[0] for key in scrape(report("lab-worker-silenced"), ok_run(1))}
    for expr in dashboard_exprs(board):
        for metric in re.findall(r"\b(kplanediag_[a-z_]+)", expr):
            assert metric in exported, f"{metric} is not exported (docs/metrics.md)"
        for selected in re.findall(r"kplanediag_[a-z_]+\{([^}]*)\}", expr):
            assert selector in selected, expr
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": e.replace("$__rate_interval", "5m")}
                    for i, e in enumerate(dashboard_exprs(board))
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_dashboard_lints(tmp_path: Path) -> None:
    check_dashboard(json.loads(DASHBOARD.read_text()), tmp_path, 'job="kplanediag-serve"')


def test_grafana_dashboard_of_ones_own_config_has_the_cluster_variable(tmp_path: Path) -> None:
    _, out = own_config(tmp_path)
    board = json.loads((out / "kplanediag-dashboard.json").read_text())
    check_dashboard(board, tmp_path, 'job=~"kplanediag-serve|kplanediag",cluster=~"$cluster"')
    (cluster,) = [v for v in board["templating"]["list"] if v["name"] == "cluster"]
    assert cluster["query"] == 'label_values(kplanediag_cluster_info{job=~"kplanediag-serve|kplanediag"}, cluster)'
