"""JUnit XML (the Ant/Jenkins format CI systems read): one testsuite per plane, one testcase per
component instance and one per finding; the document fails exactly when the exit code does."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kplanediag.analysis.model import Component, Finding, Plane, Severity, Status
from kplanediag.analysis.results import Report
from kplanediag.render.escape import xml


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")


def _fail(case: ET.Element, message: str, kind: str, text: str) -> None:
    ET.SubElement(case, "failure", message=message[:500], type=kind).text = text


def _belongs(f: Finding, c: Component) -> bool:
    return f.component == c.name and (c.node is None or f.subject in (c.node, c.name) or c.node in f.subject)


# A finding at or above ``--fail-on`` fails its own testcase (code, component, node, message), whether or not
# its component is otherwise fine, so that nothing that sets the exit code passes silently; one below passes
# with its message as output. A component fails when down or degraded by a failing finding; an unknown one is
# skipped (not observed is not a failure).
FAILING = {"warning": (Severity.WARNING, Severity.CRITICAL), "critical": (Severity.CRITICAL,), "never": ()}
"""The severities that fail, by --fail-on (the exit code's THRESHOLDS, as severities)."""


def render_junit(report: Report, fail_on: str = "warning") -> str:
    root = _suites(report, "what-if: " if report.what_if else "", FAILING[fail_on])
    return document(root)


def render_junit_fleet(members: list[tuple[str, Report | None, str]], fail_on: str = "warning") -> str:
    """Several clusters in one document: each cluster's suites named ``context/plane``; a cluster
    that could not be assessed is one suite with one erroring testcase."""
    root = ET.Element("testsuites", name="kplanediag")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    for context, report, error in members:
        if report is None:
            suite = ET.SubElement(root, "testsuite", name=context, tests="1", failures="0", errors="1", skipped="0")
            case = _case(suite, context, "assess the cluster")
            ET.SubElement(case, "error", message=error[:500], type="could-not-assess").text = error
            totals["tests"] += 1
            totals["errors"] += 1
            continue
        for suite in _suites(report, f"{context}/", FAILING[fail_on]):
            root.append(suite)
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    return document(root)


def document(root: ET.Element) -> str:
    """The whole document, made well-formed whatever the cluster's text holds (escape.xml)."""
    ET.indent(root)
    return xml('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def _suites(report: Report, prefix: str, failing: tuple[Severity, ...]) -> ET.Element:
    # a what-if's testcases are hypothetical: said in every suite's name, never a current failure
    root = ET.Element("testsuites", name="kplanediag what-if (hypothetical)" if report.what_if else "kplanediag")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for plane in (Plane.CONTROL, Plane.CROSS, Plane.DATA):
        suite = ET.SubElement(root, "testsuite", name=prefix + plane.value)
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for c in (x for x in report.components if x.plane is plane):
            name = f"{c.name} on {c.node}" if c.node else (f"{c.name} {c.detail}" if c.plane is Plane.CROSS else c.name)
            case = _case(suite, f"{plane.value}.{c.name}", name)
            mine = [f for f in report.findings if _belongs(f, c)]
            counts["tests"] += 1
            failed = [f for f in mine if f.severity in failing]
            if c.status in (Status.DOWN, Status.DEGRADED) and (failed or (not mine and failing)):
                messages = [f"{f.code}: {f.message}" for f in failed] or [c.detail or c.status.value]
                _fail(case, messages[0], c.status.value, "\n".join(messages))
                counts["failures"] += 1
            elif c.status is Status.UNKNOWN:
                ET.SubElement(case, "skipped", message=(c.detail or "not observed")[:500])
                counts["skipped"] += 1
        for f in (x for x in report.findings if x.plane is plane):
            case = _case(suite, f"{plane.value}.{f.component}", f"{f.code} {f.subject}")
            counts["tests"] += 1
            if f.severity in failing:
                where = f.component if f.subject in ("", f.component) else f"{f.component} on {f.subject}"
                text = f"{f.code} {f.severity.value} ({where}): {f.message}"
                _fail(case, f"{f.code}: {f.message}", f.severity.value, text)
                counts["failures"] += 1
            else:
                ET.SubElement(case, "system-out").text = f"{f.code} {f.severity.value}: {f.message}"
        if not counts["tests"]:
            root.remove(suite)  # a plane with nothing observed and nothing found: no empty suite
            continue
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
        suite.set("time", "0")
        suite.set("timestamp", report.cluster.evaluated_at.strftime("%Y-%m-%dT%H:%M:%S"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    return root
