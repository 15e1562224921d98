"""Shell completion (issue 24, item 2): the scripts, and contexts, codes and components completed
from files alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: prod-eu, context: {cluster: c, user: u}}
- {name: prod-us, context: {cluster: c, user: u}}
- {name: staging, context: {cluster: c, user: u}}
current-context: staging
"""


def complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash would be offered for the last word of ``words`` (click's bash_complete protocol)."""
    parts = words.split(" ")
    result = subprocess.run(
        [sys.executable, "-m", "kplanediag"],
        env={
            **os.environ,
            **(env or {}),
            "_KPLANEDIAG_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script(shell: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kplanediag", "completion", shell],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "_KPLANEDIAG_COMPLETE" in result.stdout and "kplanediag" in result.stdout


def test_completion_of_another_shell_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kplanediag", "completion", "tcsh"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3 and "'tcsh' is not one of" in result.stderr


def test_contexts_complete_from_the_kubeconfig_named(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG)
    assert complete(f"kplanediag check --kubeconfig {config} --context prod") == ["prod-eu", "prod-us"]
    assert complete(f"kplanediag --kubeconfig {config} health --context ") == ["prod-eu", "prod-us", "staging"]
    assert complete("kplanediag check --context s", {"KUBECONFIG": str(config)}) == ["staging"]


def test_contexts_of_an_unreadable_kubeconfig_complete_to_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n")
    assert complete(f"kplanediag check --kubeconfig {broken} --context ") == []


def test_codes_and_components_complete() -> None:
    assert complete("kplanediag check --ignore KPD-21") == ["KPD-210", "KPD-211", "KPD-212"]
    assert complete("kplanediag explain sched") == ["kube-scheduler"]
    assert "KPD-110" in complete("kplanediag explain KPD-1")
    assert "completion" in complete("kplanediag comp")
