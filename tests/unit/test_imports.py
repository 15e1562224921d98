"""Lazy imports: `--version`, `--help` and `--from` analysis load neither urllib3 nor the protobuf
runtime (only a live collection does), so they start about as fast as click alone; nothing loads the
official client (kubeconfig loading is kplanediag's own: collect/kubeconfig_load.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.unit.factories import DATA

HEAVY = (
    "kubernetes",
    "google.protobuf",
    "urllib3",
    "kplanediag.collect.transport",
    "kplanediag.collect.protobuf",
    "jinja2",  # only -o html and serve's pages
    "prometheus_client",  # only a live collection's /metrics and serve's
)
PROBE = """
import sys
from kplanediag.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print("LOADED:" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def loaded_after(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=list(args), heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("LOADED:"))
    return [m for m in line.removeprefix("LOADED:").split(",") if m]


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("--help",),
        ("check", "--help"),
        ("check", "--from", str(DATA / "lab-worker-silenced.json")),
        ("components", "-o", "json", "--from", str(DATA / "lab-healthy.json")),
    ],
)
def test_offline_commands_load_no_client(args: tuple[str, ...]) -> None:
    assert loaded_after(*args) == []


def test_only_html_loads_jinja2() -> None:
    assert loaded_after("check", "-o", "html", "--from", str(DATA / "lab-worker-silenced.json")) == ["jinja2"]


def test_a_live_check_loads_the_transport_and_not_the_official_client() -> None:
    # an unusable kubeconfig still goes through the live path: the probe sees what it loads
    loaded = loaded_after("check", "--kubeconfig", "/nonexistent/kubeconfig")
    assert "kplanediag.collect.transport" in loaded and "urllib3" in loaded
    assert "kubernetes" not in loaded
