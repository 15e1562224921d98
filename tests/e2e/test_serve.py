"""``kplanediag serve`` on real clusters: on the lab as kplanediag's ServiceAccount; on a throwaway
control plane whose API server is killed and restarted (never the shared lab's); SIGTERM; and on
kind deployed from deploy/serve, its /metrics scraped through a data-plane fault and the alert
rules run on what it exported. The HTTP layer itself: tests/unit/test_serve.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import kindctl, labctl, throwaway
from tests.e2e.conftest import Cluster
from tests.serving import start
from tests.unit.alert_expect import SEVERITY
from tests.unit.prom_series import TARGET, input_series, samples

INTERVAL = 2.0
OUT = Path(os.environ.get("KPLANEDIAG_SERVE_OUT", "/tmp/kplanediag-serve-e2e"))


@pytest.fixture
def lab_only(cluster: Cluster) -> None:
    if cluster.target != "lab":
        pytest.skip("throwaway control planes and the lab's ServiceAccount: run with the lab (make test)")


def test_serve_on_the_lab_reports_what_check_reports(cluster: Cluster, lab_only: None) -> None:
    s = start("--kubeconfig", str(cluster.reader), "--interval", "5s")
    try:
        s.until("the first check", lambda: s.get("/readyz")[0] == 200, 60, every=0.5)
        _, doc = cluster.report()
        served = json.loads(s.get("/report.json")[2])
        assert served["cluster"]["server"] == doc["cluster"]["server"]
        assert {c["name"] for c in served["components"]} == {c["name"] for c in doc["components"]}
        assert (s.sample('kplanediag_api_requests_total{class="list"}') or 0) > 0
        text = s.get("/metrics")[2].decode()
        assert 'kplanediag_check_failures_total{class="unreachable"} 0.0' in text
        assert "kplanediag_stale 0.0" in text
        rss = s.rss_kib()
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "lab-rss-kib.txt").write_text(f"{rss}\n")
        assert rss < 400 * 1024, rss
    finally:
        took = s.terminate()
    assert took < 1.0 and s.proc.returncode == 0, took


def api_server_pid(t: throwaway.Throwaway) -> int:
    return next(p for p in t.pids if b"kube-apiserver" in Path(f"/proc/{p}/cmdline").read_bytes())


@pytest.fixture
def control_plane(lab_only: None) -> Iterator[throwaway.Throwaway]:
    with throwaway.throwaway("e2e-serve") as t:
        yield t


def test_serve_outlives_a_killed_api_server_and_recovers(control_plane: throwaway.Throwaway) -> None:
    t = control_plane
    reader = t.reader_kubeconfig()
    args = ("--kubeconfig", str(reader), "--interval", f"{INTERVAL:g}s", "--deadline", "5", "--request-timeout", "2")
    s = start(*args)
    timings: dict[str, float] = {}
    try:
        s.until("the first check", lambda: s.get("/readyz")[0] == 200, 30)
        before = json.loads(s.get("/report.json")[2])
        unreachable = 'kplanediag_check_failures_total{class="unreachable"}'
        assert s.sample(unreachable) == 0.0
        pid = api_server_pid(t)
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        timings["stale"] = s.until("stale", lambda: s.sample("kplanediag_stale") == 1.0, 20)
        assert (s.sample(unreachable) or 0) >= 1
        timings["readyz 503"] = s.until("/readyz 503", lambda: s.get("/readyz")[0] == 503, 30) + timings["stale"]
        status, headers, body = s.get("/report.json")
        assert status == 200 and headers["X-Kplanediag-Stale"] == "true"
        assert json.loads(body)["cluster"]["collectedAt"] == before["cluster"]["collectedAt"]  # the old report
        assert "Stale" in s.get("/")[2].decode()
        assert s.get("/healthz")[0] == 200 and s.proc.poll() is None
        failures = s.sample(unreachable) or 0
        s.until("more failures counted", lambda: (s.sample(unreachable) or 0) > failures, 10)
        # restart the API server as it ran (same flags, PKI and etcd), then let stop() know its pid
        new_pid = throwaway.spawn([c.decode() for c in command], t.root / "kube-apiserver.log")
        t.pids = (*[p for p in t.pids if p != pid], new_pid)
        t.save()
        restarted = time.monotonic()
        labctl.wait_for("the restarted API server", t.ready, 60)
        timings["down"] = restarted - killed
        timings["recovered"] = s.until("fresh again", lambda: s.sample("kplanediag_stale") == 0.0, 30)
        assert s.get("/readyz")[0] == 200
        after = json.loads(s.get("/report.json")[2])
        assert after["cluster"]["collectedAt"] > before["cluster"]["collectedAt"]
        assert any("failed (unreachable" in line for line in s.lines), s.lines[-5:]
        timings["rss_kib"] = s.rss_kib()
    finally:
        timings["sigterm"] = s.terminate()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "throwaway-timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    assert timings["sigterm"] < 1.0 and s.proc.returncode == 0, timings


def test_sigterm_ends_serve_within_a_second_while_a_check_waits(control_plane: throwaway.Throwaway) -> None:
    """SIGTERM while a check waits on an API server that accepts and never answers (stopped, not dead)."""
    t = control_plane
    s = start(
        "--kubeconfig", str(t.reader_kubeconfig()), "--interval", "1s", "--request-timeout", "20", "--deadline", "60"
    )
    pid = api_server_pid(t)
    try:
        s.until("the first check", lambda: s.get("/readyz")[0] == 200, 30)
        os.kill(pid, signal.SIGSTOP)  # the socket still accepts: the next check hangs in its requests
        time.sleep(INTERVAL + 1)
        checks = s.sample("kplanediag_checks_total")
        time.sleep(1)
        assert s.sample("kplanediag_checks_total") == checks  # a check is in progress, waiting
        took = s.terminate()
    finally:
        os.kill(pid, signal.SIGCONT)
        if s.proc.poll() is None:
            s.proc.kill()
    assert took < 1.0 and s.proc.returncode == 0, took


# --- kind: deployed from deploy/serve, a data-plane fault, the alert rules on what it exported ----

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "kplanediag-rules.yaml"
KIND_INTERVAL = 5  # the test's --interval (the manifest's 30s would make the fault take minutes)
RUN_FAMILIES = ("kplanediag_check", "kplanediag_last_", "kplanediag_api_", "kplanediag_report_collected")


def deploy_serve(kind: kindctl.Kind, tmp_path: Path) -> None:
    """deploy/serve/*.yaml as shipped, but checking every KIND_INTERVAL seconds."""
    docs = [
        d for f in sorted((ROOT / "deploy" / "serve").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d
    ]
    for d in docs:
        if d["kind"] == "Deployment":
            args = d["spec"]["template"]["spec"]["containers"][0]["args"]
            args[args.index("--interval") + 1] = f"{KIND_INTERVAL}s"
    manifest = tmp_path / "serve.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    proc = kind.kubectl("apply", "-f", str(manifest))
    assert proc.returncode == 0, proc.stderr
    proc = kind.kubectl("rollout", "status", "-n", "kplanediag", "deployment/kplanediag-serve", "--timeout=180s")
    if proc.returncode != 0:
        pods = kind.kubectl("describe", "pods", "-n", "kplanediag").stdout[-3000:]
        pytest.fail(f"serve did not roll out (image loaded? make serve-image-load): {proc.stderr}\n{pods}")


@contextmanager
def port_forward(kind: kindctl.Kind) -> Iterator[str]:
    """``kubectl port-forward`` to the serve Service: its URL on 127.0.0.1."""
    kubectl = Path((labctl.cache_root() / "lab" / "bin-dir").read_text().strip()) / "kubectl"
    proc = subprocess.Popen(
        [str(kubectl), "--kubeconfig", str(kind.kubeconfig), "port-forward", "-n", "kplanediag",
         "--address", "127.0.0.1", "svc/kplanediag-serve", ":8080"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        assert match, line
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep its pipe drained
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(10)


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


@dataclass
class Scrape:
    """One check as Prometheus would see it: its /metrics and the /report.json of the same check."""

    phase: str  # before | during | after
    text: str
    report: dict[str, Any]
    checks: float


def scrape(base: str, phase: str) -> Scrape | None:
    """/metrics, /report.json, /metrics again: None if a check ended in between (not the same one)."""
    first, report, second = fetch(base + "/metrics"), fetch(base + "/report.json"), fetch(base + "/metrics")
    if first[0] != 200 or report[0] != 200 or first[1] != second[1]:
        return None
    checks = samples(first[1].decode(), {}).get("kplanediag_checks_total{}", 0.0)
    return Scrape(phase, first[1].decode(), json.loads(report[1]), checks)


def node_failure_series(s: Scrape) -> float:
    return samples(s.text, {}).get('kplanediag_blast_radius_nodes{component="kubelet",failure="node-failure"}', 0.0)


def follow(base: str, phase: str, until: Any, timeout: float, scrapes: list[Scrape], least: int = 1) -> None:
    """Keep one scrape per check until ``until(scrape)`` has held for ``least`` checks in a row."""
    deadline, held = time.monotonic() + timeout, 0
    while held < least:
        assert time.monotonic() < deadline, (
            f"{phase}: not seen within {timeout:g}s; last: {scrapes[-1].report['summary']}"
        )
        s = scrape(base, phase)
        if s is not None and (not scrapes or s.checks != scrapes[-1].checks):
            scrapes.append(s)
            held = held + 1 if until(s) else 0
        time.sleep(1)


def expected_node_alert(doc: dict[str, Any]) -> dict[str, Any]:
    """KplanediagNodesDataPlaneDown as the rules must word it, from the report of the same check."""
    entries = [b for b in doc["blastRadius"] if b["failure"].startswith("node failure")]
    nodes = {n for b in entries for n in b["affected"]["nodes"]}
    pods = sum(b["affected"]["pods"] for b in entries)
    work = {(w["kind"], w["namespace"], w["name"]): w["impact"] for b in entries for w in b["affected"]["workloads"]}
    svc = {(s["namespace"], s["name"]): s["impact"] for b in entries for s in b["affected"]["services"]}

    def n(items: dict[Any, str], impact: str) -> int:
        return sum(1 for i in items.values() if i == impact)

    return {
        "exp_labels": {
            **TARGET,
            "severity": SEVERITY["KplanediagNodesDataPlaneDown"],
            "component": "kubelet",
            "failure": "node-failure",
        },
        "exp_annotations": {
            "summary": f"{len(nodes)} node(s) failing (kubelet)",
            "description": (
                f"{len(nodes)} node(s) with kubelet failing. Blast radius: {pods} pod(s) hit; "
                f"{n(work, 'outage')} workload(s) with no ready replica elsewhere (outage), {n(work, 'degraded')} "
                f"degraded; {n(svc, 'outage')} Service(s) without a ready endpoint, {n(svc, 'degraded')} degraded. "
                'Pods on the other nodes keep running; kplanediag_node_status{status="down"} names the nodes.'
            ),
            "runbook_url": "https://kplanediag.example/docs/codes.md#kpd-200",
        },
    }


def promtool_test(scrapes: list[Scrape], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The scrapes as promtool input_series, each check held for ``hold`` minutes of promtool's clock
    (its timestamp moved onto it), so that the 4 checks in a row with the fault outlast the alert's
    `for:` (config.yaml's, 15m); every alert tested: only KplanediagNodesDataPlaneDown, only once its
    `for:` has passed and only while the fault lasts."""
    alerts = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    wait = int(alerts["KplanediagNodesDataPlaneDown"]["for"].removesuffix("m"))
    hold = -(-(wait + 2) // 4)  # 4 checks of `hold` minutes: longer than `for:`
    minutes: list[dict[str, float]] = []
    for s in scrapes:
        for _ in range(hold):
            series = samples(s.text)
            for key in series:
                if key.startswith("kplanediag_last_success_timestamp_seconds{"):
                    series[key] = float(len(minutes) * 60)
                if key.startswith("kplanediag_check_interval_seconds{"):
                    series[key] = 60.0
            minutes.append(series)
    at = max(i for i, s in enumerate(scrapes) if s.phase == "during")  # the last of 4 checks in a row with the fault
    first = at  # the first check of the run of checks with the fault that ends at `at`
    while first > 0 and node_failure_series(scrapes[first - 1]) > 0:
        first -= 1
    assert at - first >= 3 and all(node_failure_series(s) > 0 for s in scrapes[first : at + 1])
    start, end = first * hold, (at + 1) * hold  # the fault's minutes on promtool's clock
    cases = []
    for minute, firing in (
        (start - 1, None),
        (start + wait - 1, None),  # pending: its `for:` not yet passed
        (end - 1, expected_node_alert(scrapes[at].report)),
        (len(minutes) - 1, None),
    ):
        for name in alerts:
            exp = [firing] if firing is not None and name == "KplanediagNodesDataPlaneDown" else []
            cases.append({"eval_time": f"{minute}m", "alertname": name, "exp_alerts": exp})
    test = {"name": "kind: kubelet stopped, then started", "interval": "1m",
            "input_series": input_series(minutes), "alert_rule_test": cases}  # fmt: skip
    spec = tmp_path / "kind-fault.test.yaml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [test]}))
    shutil.copyfile(spec, OUT / "kind-fault.promtool-test.yaml")
    return subprocess.run(["promtool", "test", "rules", str(spec)], capture_output=True, text=True, check=False)


def changed_lines(scrapes: list[Scrape]) -> list[str]:
    """The report's series whose value differs between the last check before, during and after."""
    picks = {p: [s for s in scrapes if s.phase == p][-1] for p in ("before", "during", "after")}
    values = {p: samples(s.text, {}) for p, s in picks.items()}
    keys = sorted({k for v in values.values() for k in v if not k.startswith(RUN_FAMILIES)})
    out = []
    for key in keys:
        seen = [values[p].get(key) for p in ("before", "during", "after")]
        if len(set(seen)) > 1:
            shown = ["absent" if v is None else f"{v:g}" for v in seen]
            out.append(f"{key.replace('{}', '')}  before={shown[0]} during={shown[1]} after={shown[2]}")
    return out


def serve_memory(kind: kindctl.Kind) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of serve, PID 1 of its container, and its CPU seconds so far."""
    code = (
        "import os; s = dict(l.split(':', 1) for l in open('/proc/1/status'));"
        "t = open('/proc/1/stat').read().rsplit(')', 1)[1].split();"
        "print(s['VmRSS'].split()[0], s['VmHWM'].split()[0], (int(t[11]) + int(t[12])) / os.sysconf('SC_CLK_TCK'))"
    )
    proc = kind.kubectl("exec", "-n", "kplanediag", "deploy/kplanediag-serve", "--", "python3", "-c", code)
    assert proc.returncode == 0, proc.stderr
    rss, hwm, cpu = proc.stdout.split()
    return {"rss_kib": float(rss), "peak_rss_kib": float(hwm), "cpu_seconds": float(cpu)}


def test_serve_on_kind_through_a_stopped_kubelet(cluster: Cluster, kind: kindctl.Kind, tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: apt-get install prometheus (Debian ships promtool in it)")
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deploy_serve(kind, tmp_path)
    host = kind.kubectl("get", "pods", "-n", "kplanediag", "-o", "jsonpath={.items[0].spec.nodeName}").stdout
    dns = kind.kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "jsonpath={..nodeName}")
    # not serve's node (the port-forward goes through its kubelet), and not one holding every DNS replica
    workers = [n for n in kindctl.nodes(kind, "worker") if n != host]
    victim = next((n for n in workers if n not in dns.stdout.split()), workers[0])
    times: dict[str, float] = {"deployed": time.monotonic() - started}
    scrapes: list[Scrape] = []
    try:
        with port_forward(kind) as base:
            follow(base, "before", lambda s: s.report["summary"]["status"] == "healthy", 120, scrapes, least=3)
            memory = {"healthy": serve_memory(kind)}
            kindctl.stop_service(kind, victim, "kubelet")
            fault = time.monotonic()
            follow(base, "during", lambda s: node_failure_series(s) > 0, 180, scrapes, least=4)
            times["fault seen"] = time.monotonic() - fault
            memory["fault"] = serve_memory(kind)
            kind.node_exec(victim, "systemctl", "start", "kubelet")
            healed = time.monotonic()
            follow(base, "after", lambda s: node_failure_series(s) == 0 and s.report["summary"]["status"] == "healthy",
                   180, scrapes, least=3)  # fmt: skip
            times["cleared"] = time.monotonic() - healed
    finally:
        kind.kubectl("delete", "-f", str(tmp_path / "serve.yaml"), "--wait=false")
    during = [s for s in scrapes if s.phase == "during"][-1]
    assert f'kplanediag_node_status{{node="{victim}",status="down"}} 1.0' in during.text
    assert "kplanediag_stale 0.0" in during.text
    lines = changed_lines(scrapes)
    assert any(f'node="{victim}"' in line for line in lines), lines
    result = promtool_test(scrapes, tmp_path)
    (OUT / "kind-fault-metrics.txt").write_text(
        f"# kplanediag serve on kind, kubelet stopped on {victim}: the report's series that changed\n"
        + "\n".join(lines)
        + "\n\n# promtool test rules\n"
        + result.stdout
        + result.stderr
    )
    (OUT / "kind-serve.json").write_text(
        json.dumps({"times": times, "memory": memory, "checks": len(scrapes)}, indent=2)
    )
    assert result.returncode == 0, result.stdout + result.stderr
