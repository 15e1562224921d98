"""``kplanediag explain``: its text comes from the knowledge tables, covers every component a
report can name and every finding code, and docs/components.md is generated from the same table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kplanediag.analysis.knowledge.codes import CODES
from kplanediag.analysis.knowledge.components import COMPONENTS, components_markdown
from tests.unit.factories import report

ROOT = Path(__file__).parents[2]


def kpd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, check=False)


def test_docs_components_md_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "components.md").read_text() == components_markdown(), "run `make docs`"


@pytest.mark.parametrize("capture", ["lab-healthy", "lab-worker-silenced", "lab-etcd-down", "lab-coredns-down"])
def test_every_component_a_report_names_is_explained(capture: str) -> None:
    names = {c.name for c in report(capture).components}
    assert names and names <= set(COMPONENTS), names - set(COMPONENTS)


def test_every_code_names_a_component_that_is_explained_or_several() -> None:
    assert all(c.component == "*" or c.component in COMPONENTS for c in CODES.values())


def test_explain_without_argument_is_the_map_of_both_planes() -> None:
    proc = kpd("explain")
    assert proc.returncode == 0
    flat = " ".join(proc.stdout.split())
    assert "control plane decides" in flat and "does not break running applications" in flat
    for name in ("kube-scheduler", "kubelet", "coredns", "validating-webhook"):
        assert name in proc.stdout


def test_explain_a_component_and_a_code() -> None:
    proc = kpd("explain", "kube-scheduler")
    assert proc.returncode == 0
    assert "When it fails: New pods stay Pending" in " ".join(proc.stdout.split()) and "Keeps working:" in proc.stdout
    proc = kpd("explain", "kpd-201")
    assert proc.returncode == 0 and proc.stdout.startswith("KPD-201 (critical, data-plane, component kubelet)")
    assert "kubelet (data-plane)" in proc.stdout  # its component's text follows


def test_explain_something_unknown_is_exit_3_naming_what_is_known() -> None:
    proc = kpd("explain", "kube-nothing")
    assert proc.returncode == 3 and "neither a component" in proc.stderr and "kube-scheduler" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_explain_lists_codes_reads_short_names_and_suggests() -> None:
    """`explain codes` lists every code (the wheel ships no docs/codes.md); `scheduler` and `201`
    resolve; an unknown word is exit 3 with the closest names."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kplanediag", "explain", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    listed = run("codes")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == len(CODES)
    assert run("--list").stdout == listed.stdout
    assert run("scheduler").stdout.startswith("kube-scheduler (control-plane)")
    assert run("201").stdout.startswith("KPD-201 (critical")
    wrong = run("controller")
    assert wrong.returncode == 3 and "Did you mean kube-controller-manager or cloud-controller-manager?" in wrong.stderr
    assert "docs/codes.md" not in run().stdout
