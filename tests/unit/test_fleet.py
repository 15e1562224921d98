"""Fleets without a cluster: contexts listed from one kubeconfig or from several $KUBECONFIG files
merged as kubectl merges them, and a fleet whose clusters cannot be reached or assessed reported
cluster by cluster (the live fleet, with a healthy lab context beside a broken one, is e2e)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import lxml.etree as etree
import pytest

from kplanediag.collect.errors import ConfigurationError
from kplanediag.collect.transport import context_names
from tests.unit.factories import DATA

CONFIG = """apiVersion: v1
kind: Config
clusters:
- {{name: c, cluster: {{server: "https://127.0.0.1:1"}}}}
contexts:
{contexts}
current-context: ""
users:
- {{name: u, user: {{token: t}}}}
"""


def kubeconfig(path: Path, *names: str) -> Path:
    path.write_text(
        CONFIG.format(contexts="\n".join(f"- {{name: {n}, context: {{cluster: c, user: u}}}}" for n in names))
    )
    return path


def test_contexts_of_one_file_and_of_several_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = kubeconfig(tmp_path / "one", "a", "b")
    two = kubeconfig(tmp_path / "two", "b", "c")
    assert context_names(str(one)) == ["a", "b"]
    monkeypatch.setenv("KUBECONFIG", f"{one}:{two}")
    assert context_names(None) == ["a", "b", "c"]  # the first file naming a context wins
    with pytest.raises(ConfigurationError, match="has no context"):
        context_names(str(kubeconfig(tmp_path / "none")))


def kpd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args, "--request-timeout", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_fleet_reports_every_cluster_and_exits_with_the_worst(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "k", "first", "second")
    proc = kpd("check", "--kubeconfig", str(config), "--all-contexts", "-o", "json")
    assert proc.returncode == 2, proc.stderr
    docs = json.loads(proc.stdout)
    assert [d["context"] for d in docs] == ["first", "second"]
    assert all(d["summary"]["status"] == "critical" for d in docs)  # both unreachable: KPD-100
    table = kpd("--kubeconfig", str(config), "--context", "first", "--context", "second", "check")
    assert table.returncode == 2 and "######## fleet: 2 cluster(s)" in table.stdout


def test_a_cluster_that_cannot_be_assessed_does_not_hide_the_others(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "k", "first")
    text = config.read_text().replace(
        "contexts:\n", "contexts:\n- {name: broken, context: {cluster: nowhere, user: u}}\n"
    )
    config.write_text(text)
    proc = kpd("check", "--kubeconfig", str(config), "--all-contexts", "-o", "json")
    docs = {d["context"]: d for d in json.loads(proc.stdout)}
    assert docs["broken"]["error"]["exitCode"] == 3 and "summary" in docs["first"]
    assert proc.returncode == 3  # the worst of 2 (unreachable) and 3 (could not assess)
    junit = kpd("check", "--kubeconfig", str(config), "--all-contexts", "-o", "junit")
    doc = etree.fromstring(junit.stdout.encode())
    etree.XMLSchema(etree.parse(str(DATA / "junit.xsd"))).assertValid(doc)
    assert doc.find(".//testsuite[@name='broken']/testcase/error") is not None
    assert doc.find(".//testsuite[@name='first/control-plane']") is not None


def test_one_cluster_commands_refuse_a_fleet(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "k", "a", "b")
    for args in (("wait", "--timeout", "1s"), ("snapshot", "save", str(tmp_path / "s.json"))):
        proc = kpd(*args, "--kubeconfig", str(config), "--all-contexts")
        assert proc.returncode == 3 and "one --context" in proc.stderr, proc.stderr


def test_kubeconfig_files_are_merged_for_a_single_check(tmp_path: Path) -> None:
    """$KUBECONFIG with two files: a context of the second file is found and used (its server is
    closed: unreachable, exit 2), as kubectl would use it; an unknown context is exit 3."""
    one = kubeconfig(tmp_path / "one", "a")
    two = kubeconfig(tmp_path / "two", "b")
    env = {"KUBECONFIG": f"{one}:{two}", "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "kplanediag", "check", "-o", "json", "--request-timeout", "1"]
    proc = subprocess.run([*run, "--context", "b"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 2 and "KPD-100" in proc.stdout, proc.stderr
    proc = subprocess.run([*run, "--context", "zz"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 3 and "zz" in proc.stdout, proc.stdout


def test_fleet_summary_escapes_context_names_and_errors(tmp_path: Path) -> None:
    """A kubeconfig from someone else: context names with an escape sequence, a bidi override and
    markdown link syntax reach the fleet's titles and summary table only as visible escapes."""
    evil = ["ctx\x1b]52;c;cGF5bG9hZA==\x07", "ctx\u202eevil", "[x](javascript:alert(1))|"]
    config = kubeconfig(tmp_path / "k", *(json.dumps(n) for n in evil))
    table = kpd("check", "--kubeconfig", str(config), "--all-contexts")
    assert table.returncode == 2, table.stderr
    assert "\x1b" not in table.stdout and "\u202e" not in table.stdout and "\x07" not in table.stdout
    assert "ctx\\x1b]52" in table.stdout and "ctx\\u202eevil" in table.stdout
    md = kpd("check", "--kubeconfig", str(config), "--all-contexts", "-o", "markdown")
    fleet = md.stdout.split("# Fleet", 1)[1]
    rows = [line for line in fleet.splitlines() if line.startswith("|")]
    assert len(rows) == 5 and all(line.count("|") - line.count("\\|") == 5 for line in rows)
    assert re.search(r"(?<!\\)\]\(", md.stdout) is None and "\\[x\\]" in md.stdout  # no link syntax left
