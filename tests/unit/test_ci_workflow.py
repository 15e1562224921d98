"""docs/ci.md's workflow is what CI runs (lab/ci_workflow.py, `make ci-workflow` in .ci/run): the
steps it reads from the docs, and its refusal of an action it cannot play."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.ci_workflow import steps, validate_junit, workflow

ROOT = Path(__file__).resolve().parents[2]


def test_the_workflow_is_read_from_the_docs() -> None:
    found = steps(workflow())
    runs = [s["run"] for s in found if "run" in s]
    assert runs[0].startswith("pip install ./dist/kplanediag-")
    assert any(r.startswith("kplanediag wait --for healthy") for r in runs)
    (report,) = [r for r in runs if "--junit" in r]
    assert "-o markdown" in report and '>> "$GITHUB_STEP_SUMMARY"' in report  # one check, both outputs
    reporter = next(s for s in found if str(s.get("uses", "")).startswith("dorny/test-reporter"))
    assert reporter["if"] == "always()" and reporter["with"]["path"] == "kplanediag.xml"


def test_ci_runs_it() -> None:
    assert "make ci-workflow" in (ROOT / ".ci" / "run").read_text()
    assert "ci-workflow: kind-up dist" in (ROOT / "Makefile").read_text()


def test_an_action_it_cannot_play_fails(tmp_path: Path) -> None:
    doc = tmp_path / "ci.md"
    doc.write_text(
        "```yaml\njobs:\n  smoke:\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: some/unknown-action@v1\n```\n"
    )
    with pytest.raises(SystemExit, match="some/unknown-action"):
        steps(workflow(doc))


def test_junit_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="p" tests="1" failures="1" errors="0" '
        'skipped="0"><testcase name="c" classname="k"><failure message="m">x</failure></testcase>'
        "</testsuite></testsuites>"
    )
    assert validate_junit(good) == 1
    bad = tmp_path / "bad.xml"
    bad.write_text("<testsuites><nonsense/></testsuites>")
    with pytest.raises(SystemExit, match="does not validate"):
        validate_junit(bad)
