"""Marks everything under tests/e2e as e2e (by path), and in CI refuses a run against the lab
cluster in which an e2e test was skipped for want of a cluster: there every e2e test must really
run. Lab-only and kind-only fault tests skip by design on the other target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).parent / "e2e"


UNIT_TIMEOUT = 10  # seconds: unit tests touch no cluster and no network, so they are fast or broken
BROKEN_DIR = Path(__file__).parent / "broken"
BROKEN_TIMEOUT = 60  # seconds: tests/broken runs the CLI against local fake servers that hang on purpose


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
        elif BROKEN_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(BROKEN_TIMEOUT))
        else:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") != "true" or os.environ.get("KPLANEDIAG_E2E_TARGET", "lab") != "lab":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    # only a skip for want of a cluster is forbidden; lab-only and kind-only tests skip by design
    skipped = [
        r
        for r in (reporter.stats.get("skipped", []) if reporter else [])
        if "e2e" in r.keywords and "no e2e cluster" in str(r.longrepr)
    ]
    if skipped and reporter is not None:
        reporter.write_line(f"CI: {len(skipped)} e2e test(s) skipped; in CI every e2e test must run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
