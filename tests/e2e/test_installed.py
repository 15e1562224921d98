"""The copy under test: with KPLANEDIAG_INSTALLED=1 (make install-check, E2E_FROM=wheel, as in CI) the
wheel installed into a venv of its own, whose ``--version`` names the commit baked in at build time;
otherwise the source tree, whose ``--version`` reads the checkout's HEAD."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kplanediag import __version__

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = os.environ.get("KPLANEDIAG_INSTALLED") == "1"


def head() -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"not a git checkout: {proc.stderr.strip()}")
    return proc.stdout.strip()


@pytest.mark.parametrize("command", ["kplanediag", "kubectl-planediag", "-m"])
def test_version_names_the_commit_of_the_copy_under_test(command: str) -> None:
    bindir = Path(sys.executable).parent
    argv = [sys.executable, "-m", "kplanediag"] if command == "-m" else [str(bindir / command)]
    proc = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    commit = head()[:12]
    if INSTALLED:
        # built from this checkout (CI: a clean clone) by make dist; -dirty if it had changes then
        assert line in (
            f"kplanediag {__version__} (commit {commit})",
            f"kplanediag {__version__} (commit {commit}-dirty)",
        ), line
        assert "source checkout" not in line
    else:
        assert line == f"kplanediag {__version__} (commit {commit}, source checkout)", line


def test_installed_copy_is_not_the_source_tree() -> None:
    if not INSTALLED:
        pytest.skip("the source tree is under test (KPLANEDIAG_INSTALLED=1: the installed wheel)")
    import kplanediag  # noqa: PLC0415

    path = Path(kplanediag.__file__ or "").resolve()
    assert ROOT / "kplanediag" not in path.parents, path
    assert "site-packages" in path.parts, path
    built = path.parent / "_build_info.py"
    assert built.is_file(), f"{built}: the wheel carries no build info"
    assert head()[:12] in built.read_text()
