"""The output contract, table width, and the CLI wiring: exit codes, options, errors."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kplanediag.cli import cli, main
from kplanediag.cli.group import COMMANDS
from kplanediag.render.as_json import report_dict
from kplanediag.render.table import WIDTH, render_table
from tests.unit.factories import DATA, W1, report

SCENARIOS = sorted(p.stem for p in DATA.glob("lab-*.json"))


def run(*args: str) -> int:
    """The exit code of ``kplanediag ARGS`` through ``main`` (which maps usage errors to 3)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    code = exc.value.code
    assert isinstance(code, int)
    return code


def test_json_contract_shape() -> None:
    doc = report_dict(report("lab-worker-silenced"))
    assert list(doc) == ["schemaVersion", "cluster", "components", "findings", "blastRadius", "summary", "gaps"]
    assert doc["schemaVersion"] == 1
    assert set(doc["cluster"]) >= {"server", "version", "controlPlaneMode", "collectedAt"}
    comp = doc["components"][0]
    assert set(comp) == {"name", "plane", "node", "version", "status", "detail", "role", "evidence"}
    assert {c["name"] for c in doc["components"]} <= {
        "kube-apiserver",
        "etcd",
        "kube-scheduler",
        "kube-controller-manager",
        "cloud-controller-manager",
        "kubelet",
        "kube-proxy",
        "container-runtime",
        "cni",
        "coredns",
    }
    assert set(doc["findings"][0]) == {
        "code", "severity", "plane", "component", "subject", "message", "since", "causedBy"
    }  # fmt: skip
    blast = doc["blastRadius"][0]
    assert set(blast) == {
        "failure", "class", "component", "plane", "scope", "severity", "cause", "effects", "summary", "affected",
        "breaks", "stillWorks",
    }  # fmt: skip
    assert blast["severity"] == "critical" and blast["cause"] == {
        "code": "KPD-201", "component": "kubelet", "subject": W1
    }  # fmt: skip
    assert (blast["class"], blast["component"]) == ("node-failure", "kubelet")
    assert set(blast["affected"]) == {"nodes", "pods", "workloads", "services", "namespaces", "podDisruptionBudgets"}
    assert {
        "kind": "Deployment",
        "namespace": "shop",
        "name": "cart",
        "impact": "outage",
        "readyElsewhere": 0,
        "lost": 1,
    } in blast["affected"]["workloads"]
    assert doc["summary"]["status"] == "critical"
    assert doc["summary"]["counts"]["critical"] == 1


@pytest.mark.parametrize("name", SCENARIOS)
def test_table_fits_100_columns(name: str) -> None:
    text = render_table(report(name))
    too_wide = [line for line in text.splitlines()[1:] if len(line) > WIDTH]  # the headline is never wrapped
    assert too_wide == []
    assert text.splitlines()[0] == report(name).summary


@pytest.mark.parametrize(
    ("name", "fail_on", "code"),
    [
        ("lab-healthy", "warning", 0),
        ("lab-worker-silenced", "warning", 2),
        ("lab-worker-silenced", "critical", 2),
        ("lab-worker-silenced", "never", 0),
        ("lab-scheduler-stale", "warning", 2),
    ],
)
def test_exit_codes_follow_nagios(name: str, fail_on: str, code: int) -> None:
    assert run("check", "--from", str(DATA / f"{name}.json"), "--fail-on", fail_on) == code


def test_warning_exits_1_unless_threshold_is_critical(tmp_path: Path) -> None:
    data = json.loads((DATA / "lab-healthy.json").read_text())
    for node in data["resources"]["nodes"]:
        if node["metadata"]["name"] == "kplanediag-worker2":
            node["status"]["conditions"].append({"type": "DiskPressure", "status": "True", "reason": "Full"})
    path = tmp_path / "warn.json"
    path.write_text(json.dumps(data))
    assert run("health", "--from", str(path)) == 1
    assert run("health", "--from", str(path), "--fail-on", "critical") == 0


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--bogus"),
        ("check", "--from", "/nonexistent/file.json"),
        ("check", "--at", "yesterday", "--from", str(DATA / "lab-healthy.json")),
        ("check", "--at", "2026-01-01T00:00:00Z"),
        ("check", "-o", "yaml"),
        ("check", "--kubeconfig", "/nonexistent/kubeconfig"),
    ],
)
def test_cannot_assess_exits_3(args: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*args) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_each_command_prints_its_sections() -> None:
    runner = CliRunner()
    src = str(DATA / "lab-worker-silenced.json")
    for command, key in (("components", "components"), ("health", "findings"), ("blast-radius", "blastRadius")):
        result = runner.invoke(cli, [command, "--from", src, "-o", "json"])
        doc = json.loads(result.output)
        assert key in doc
        assert not ({"components", "findings", "blastRadius"} - {key}) & set(doc)
    table = runner.invoke(cli, ["check", "--from", src]).output
    for heading in ("== Control plane", "== Data plane", "== Findings", "== Blast radius"):
        assert heading in table


def test_at_moves_now(capsys: pytest.CaptureFixture[str]) -> None:
    src = str(DATA / "lab-healthy.json")
    assert run("health", "--from", src, "--at", "2030-01-01T00:00:00Z", "-o", "json") == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["cluster"]["evaluatedAt"] == "2030-01-01T00:00:00Z"


def test_snapshot_save_converts_a_list(tmp_path: Path) -> None:
    data = json.loads((DATA / "lab-healthy.json").read_text())
    objs = [o for objs in data["resources"].values() for o in objs]
    src = tmp_path / "list.json"
    src.write_text(json.dumps({"kind": "List", "items": objs}))
    out = tmp_path / "snap.json"
    assert run("snapshot", "save", str(out), "--from", str(src)) == 0
    saved = json.loads(out.read_text())
    assert saved["kind"] == "KplanediagSnapshot" and saved["source"] == "kubectl-list"


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output.startswith("kplanediag 0.1.0 (commit ")
    help_text = runner.invoke(cli, ["--help"]).output
    for command in ("check", "components", "health", "blast-radius", "snapshot"):
        assert command in help_text


def test_at_before_the_capture_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    """An --at earlier than the input's own timestamps would make every Lease look fresh."""
    assert run("health", "--from", str(DATA / "lab-healthy.json"), "--at", "2020-01-01T00:00:00Z") == 0
    assert "--at 2020-01-01T00:00:00Z is before the input's capture time" in capsys.readouterr().err


def test_every_command_is_listed_for_the_lazy_group() -> None:
    """cli/group.py's COMMANDS names each command as "module:attr": each resolves to a click command
    of that name, defined in the module named, and no command module imports the group."""
    ctx = click.Context(cli)
    for name, spec in COMMANDS.items():
        module, _, attr = spec.partition(":")
        command = cli.get_command(ctx, name)
        assert command is getattr(importlib.import_module(module), attr), name
        assert command.name == name and command.callback is not None, name
        assert command.callback.__module__ == module, name
        assert "kplanediag.cli.group" not in (Path(sys.modules[module].__file__ or "").read_text()), module
    assert cli.list_commands(ctx) == sorted(COMMANDS)


def test_version_imports_no_command_module() -> None:
    """`kplanediag --version` (the startup target of make bench) loads click and the group alone."""
    code = (
        "import sys; from kplanediag.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "from kplanediag.cli.group import COMMANDS\n"
        "print(sorted(m for m in {s.partition(':')[0] for s in COMMANDS.values()} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout
