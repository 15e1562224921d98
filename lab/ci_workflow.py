"""Runs the GitHub Actions workflow of docs/ci.md, step by step, against a real cluster, so that the
workflow the docs give is the one CI exercises: `make ci-workflow` (kind)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

# The workflow is read from docs/ci.md's yaml block, not copied: its `run:` steps run as written, in bash with
# `-eo pipefail` as Actions runs them, in a workspace of their own (`dist/` linked in), with
# `GITHUB_STEP_SUMMARY` and `KUBECONFIG` set; `if: always()` is honoured. Each action it `uses:` is played by
# what this machine has: checkout (the tree is here), kind-action (the kind cluster of `make kind-up`),
# setup-python (a fresh venv, first on PATH, so `pip` and `kplanediag` are its own) and the test reporter (the
# JUnit file must validate against the schema CI systems read). An action it does not know fails the run: the
# docs cannot drift from what is exercised.
#
# Usage: python -m lab.ci_workflow --kubeconfig ~/.cache/kplanediag/kind/kubeconfig
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ci.md"
SCHEMA = ROOT / "tests" / "unit" / "data" / "junit.xsd"
ACTIONS = ("actions/checkout", "helm/kind-action", "actions/setup-python", "dorny/test-reporter")


def workflow(doc: Path = DOC) -> dict[str, Any]:
    """The first yaml block of docs/ci.md."""
    match = re.search(r"```yaml\n(.*?)```", doc.read_text(), re.S)
    if match is None:
        raise SystemExit(f"{doc}: no yaml block")
    parsed: dict[str, Any] = yaml.safe_load(match.group(1))
    return parsed


def steps(flow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = flow["jobs"].values()
    found: list[dict[str, Any]] = job["steps"]
    for step in found:
        uses = str(step.get("uses", "")).split("@")[0]
        if uses and uses not in ACTIONS:
            raise SystemExit(f"docs/ci.md uses {uses}, which lab/ci_workflow.py does not play: add it there")
    return found


def validate_junit(path: Path) -> int:
    """The test reporter's part: the file parses and validates; its failure count."""
    from lxml import etree  # noqa: PLC0415

    doc = etree.parse(str(path))
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    if not schema.validate(doc):
        raise SystemExit(f"{path} does not validate against {SCHEMA.name}: {schema.error_log}")
    return sum(int(s.get("failures", "0")) + int(s.get("errors", "0")) for s in doc.iter("testsuite"))


def run(kubeconfig: Path, python: str) -> int:
    flow = workflow()
    work = Path(tempfile.mkdtemp(prefix="kplanediag-ci-workflow-"))
    (work / "dist").symlink_to(ROOT / "dist")
    summary = work / "step-summary.md"
    summary.touch()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "GITHUB_STEP_SUMMARY": str(summary), "CI": "true"}
    env.pop("VIRTUAL_ENV", None)
    failed = False
    results: list[tuple[str, int]] = []
    for step in steps(flow):
        name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
        if failed and "always()" not in str(step.get("if", "")):
            print(f"[ci-workflow] skipped: {name}", flush=True)
            continue
        started = time.monotonic()
        uses = str(step.get("uses", "")).split("@")[0]
        code = 0
        if uses == "actions/setup-python":
            venv = work / "venv"
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
            env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
        elif uses == "dorny/test-reporter":
            report = work / step["with"]["path"]
            failures = validate_junit(report)
            print(f"[ci-workflow] {report.name}: valid JUnit, {failures} failure(s)", flush=True)
            results.append(("junit-failures", failures))
        elif "run" in step:
            print(f"[ci-workflow] $ {step['run'].strip()}", flush=True)
            code = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", step["run"]], cwd=work, env=env, check=False
            ).returncode
        # checkout: the tree is here; kind-action: the cluster of `make kind-up` (KUBECONFIG)
        print(f"[ci-workflow] {name}: exit {code} ({time.monotonic() - started:.0f}s)", flush=True)
        results.append((name, code))
        failed = failed or code != 0
    text = summary.read_text()
    print(f"[ci-workflow] step summary: {len(text.splitlines())} lines", flush=True)
    if failed:
        print(f"[ci-workflow] a step failed: {results}", file=sys.stderr)
        return 1
    # the workflow passed on a healthy cluster: the report says so in both places, from one check
    if not text.lstrip().startswith("#") or "HEALTHY" not in text:
        print(f"[ci-workflow] the step summary is not a healthy report:\n{text[:2000]}", file=sys.stderr)
        return 1
    if dict(results).get("junit-failures") != 0:
        print("[ci-workflow] the JUnit file has failures while the check passed", file=sys.stderr)
        return 1
    print("[ci-workflow] docs/ci.md's workflow passed", flush=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--python", default="python3", help="the interpreter setup-python stands for")
    args = parser.parse_args(argv)
    return run(args.kubeconfig, args.python)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
