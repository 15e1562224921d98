"""Every -o format renders the same report (captures of the lab: a silenced worker, and the
webhook-down capture for the cross-plane suite), and ``wait`` on saved inputs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import lxml.etree as etree
import pytest
import yaml

from kplanediag.analysis.model import Severity, Status
from kplanediag.render.formats import render
from tests.unit.factories import DATA, report

SCHEMA = etree.XMLSchema(etree.parse(str(DATA / "junit.xsd")))
SILENCED = DATA / "lab-worker-silenced.json"
HEALTHY = DATA / "real" / "lab-metrics" / "snapshot.json"


def kpd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_yaml_is_the_json_document() -> None:
    rep = report("lab-worker-silenced")
    assert yaml.safe_load(render(rep, "yaml")) == json.loads(render(rep, "json"))


def test_markdown_has_the_summary_the_tables_and_every_finding() -> None:
    rep = report("lab-worker-silenced")
    text = render(rep, "markdown")
    assert text.startswith("## kplanediag: CRITICAL")
    assert f"**{rep.summary}**" in text
    assert "### Control plane" in text and "### Data plane" in text and "### Blast radius" in text
    rows = [line for line in text.splitlines() if line.startswith(("| critical |", "| warning |", "| info |"))]
    assert len(rows) == len(rep.findings)
    assert all(line.count(" | ") == 4 for line in rows)  # a pipe in a message never adds a column


def junit(rep_name: str) -> etree._Element:
    doc = etree.fromstring(render(report(rep_name), "junit").encode())
    SCHEMA.assertValid(doc)
    return doc


def test_junit_is_valid_and_fails_what_is_down() -> None:
    rep = report("lab-worker-silenced")
    doc = junit("lab-worker-silenced")
    failed = doc.findall(".//testcase[failure]")
    down = [c for c in rep.components if c.status in (Status.DOWN, Status.DEGRADED)]
    assert len(failed) >= len(down) > 0
    assert int(doc.get("failures", "-1")) == len(failed)
    assert int(doc.get("tests", "-1")) == len(doc.findall(".//testcase"))
    kubelet = doc.find(".//testcase[@name='kubelet on kplanediag-worker']/failure")
    assert kubelet is not None and kubelet.get("message", "").startswith("KPD-201")
    skipped = doc.findall(".//testcase[skipped]")
    assert len(skipped) == sum(1 for c in rep.components if c.status is Status.UNKNOWN)


def test_junit_of_a_healthy_cluster_has_no_failure() -> None:
    doc = etree.fromstring(kpd("check", "--from", str(HEALTHY), "-o", "junit").stdout.encode())
    SCHEMA.assertValid(doc)
    assert doc.get("failures") == "0" and int(doc.get("tests", "-1")) > 10


def test_the_schema_rejects_what_ci_systems_would_not_read() -> None:
    for bad in (
        b"<testsuites><testsuite tests='1'><testcase name='a'/></testsuite></testsuites>",  # suite without a name
        b"<testsuites><testsuite name='s' tests='1'><failure/></testsuite></testsuites>",  # failure outside a case
        b"<testsuites><testsuite name='s' tests='x'/></testsuites>",  # a count that is no number
    ):
        assert not SCHEMA.validate(etree.fromstring(bad))


def test_wide_shows_the_evidence_and_every_node() -> None:
    rep = report("lab-worker-silenced")
    text = render(rep, "wide")
    assert "== Evidence" in text and "Lease kube-node-lease/kplanediag-worker2" in text
    assert "kplanediag-worker2" in text.split("== Data plane")[1].split("\n== ")[0]  # healthy nodes listed too


@pytest.mark.parametrize("output", ["table", "wide", "json", "yaml", "markdown", "junit"])
def test_every_format_gives_the_same_exit_code(output: str) -> None:
    proc = kpd("check", "--from", str(SILENCED), "-o", output)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


def test_wait_returns_at_once_when_healthy() -> None:
    proc = kpd("wait", "--for", "healthy", "--from", str(HEALTHY), "--timeout", "30s", "--interval", "1s")
    assert proc.returncode == 0, proc.stderr
    assert "check 1 at" in proc.stderr and "(done)" in proc.stderr
    assert proc.stdout.startswith("HEALTHY")


def test_wait_gives_up_at_its_timeout_with_the_last_checks_code() -> None:
    start = time.monotonic()
    proc = kpd("wait", "--from", str(SILENCED), "--timeout", "1.5s", "--interval", "0.5s", "-o", "json")
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("waiting for the cluster to be healthy") >= 2
    assert "not healthy after" in proc.stderr
    assert json.loads(proc.stdout)["summary"]["status"] == "critical"
    assert elapsed < 15


def test_wait_on_one_plane_ignores_the_other() -> None:
    """The silenced worker fails the data plane only: the control plane is healthy."""
    proc = kpd("wait", "--plane", "control", "--from", str(SILENCED), "--timeout", "5s")
    assert proc.returncode == 0, proc.stderr
    proc = kpd("wait", "--plane", "data", "--for", "no-critical", "--from", str(SILENCED), "--timeout", "1s")
    assert proc.returncode == 2


def test_wait_rejects_a_bad_duration() -> None:
    proc = kpd("wait", "--timeout", "soon", "--from", str(HEALTHY))
    assert proc.returncode == 3 and "is not a duration" in proc.stderr


def test_severity_enum_order_is_what_plane_status_assumes() -> None:
    assert [s.rank for s in (Severity.INFO, Severity.WARNING, Severity.CRITICAL)] == [0, 1, 2]


def test_kubectl_plugin_entry_point_is_declared() -> None:
    text = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert 'kubectl-planediag = "kplanediag.cli:main"' in text


def test_options_before_the_command_as_kubectl_users_type_them() -> None:
    before = kpd("--from", str(SILENCED), "check", "-o", "json")
    after = kpd("check", "--from", str(SILENCED), "-o", "json")
    bare = kpd("--from", str(SILENCED))  # no command: check
    assert before.returncode == after.returncode == bare.returncode == 2, before.stderr
    assert json.loads(before.stdout)["summary"] == json.loads(after.stdout)["summary"]
    # the command's own option wins over the group's
    own = kpd("--from", str(SILENCED), "check", "--from", str(HEALTHY))
    assert own.returncode == 0 and own.stdout.startswith("HEALTHY")
    waited = kpd("--from", str(HEALTHY), "wait", "--timeout", "5s")
    assert waited.returncode == 0, waited.stderr


HA = Path(__file__).resolve().parents[3] / "shared" / "real-captures" / "kubeadm-1.8-ha-master-kubelet-unknown.json"
HA_AT = "2017-11-03T03:43:30Z"


@pytest.mark.skipif(not HA.exists(), reason="the real captures are not on this machine")
@pytest.mark.parametrize("fail_on", ["warning", "critical", "never"])
def test_junit_tells_ci_the_truth_and_agrees_with_the_exit_code(tmp_path: Path, fail_on: str) -> None:
    """The kubeadm 1.8 HA capture (one master's kubelet silent): its control plane has KPD-104 and
    two KPD-124 warnings on components that are otherwise unknown; JUnit once showed that suite with
    no failure. Now each finding at or above --fail-on fails a testcase of its own, and in one run
    (-o json plus --junit FILE) the exit code, the JSON and the JUnit document agree."""
    junit = tmp_path / "report.xml"
    proc = kpd("check", "--from", str(HA), "--at", HA_AT, "-o", "json", "--fail-on", fail_on, "--junit", str(junit))
    doc = json.loads(proc.stdout)
    xml = etree.parse(str(junit)).getroot()
    SCHEMA.assertValid(xml)
    failing = {"warning": {"warning", "critical"}, "critical": {"critical"}, "never": set()}[fail_on]
    expected = [f for f in doc["findings"] if f["severity"] in failing]
    failed_findings = [
        c for c in xml.iter("testcase") if c.get("name", "").startswith("KPD-") and c.find("failure") is not None
    ]
    assert sorted(c.get("name", "") for c in failed_findings) == sorted(f"{f['code']} {f['subject']}" for f in expected)
    assert (int(xml.get("failures", "-1")) > 0) == (proc.returncode != 0), (xml.get("failures"), proc.returncode)
    control = xml.find("testsuite[@name='control-plane']")
    assert control is not None
    if fail_on == "warning":
        assert int(control.get("failures", "0")) >= 3  # KPD-104 and both KPD-124: never silently passed
        message = next(c.find("failure") for c in failed_findings if c.get("name", "").startswith("KPD-104"))
        assert message is not None and "k8s-master1" in (message.text or "")
