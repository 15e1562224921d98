"""Every finding code kplanediag emits, with its default severity and meaning: the one table, kept
as data in codes.table next to this module (docs/codes.md is generated from it: ``make docs``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from kplanediag.analysis.model import Finding, Plane, Severity


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    plane: Plane
    component: str
    title: str
    meaning: str


TABLE = "codes.table"


def _load() -> dict[str, Code]:
    text = resources.files(__package__).joinpath(TABLE).read_text(encoding="utf-8")
    table: dict[str, Code] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            code, severity, plane, component, title, meaning = (cell.strip() for cell in line.split("|", 5))
            table[code] = Code(code, Severity(severity), Plane(plane), component, title, meaning)
    return table


CODES: dict[str, Code] = _load()


def finding(
    code: str, subject: str, message: str, *, component: str | None = None, severity: Severity | None = None
) -> Finding:
    """A Finding for a code of the table; an unknown code is a programming error (KeyError)."""
    entry = CODES[code]
    return Finding(
        code=code,
        severity=severity or entry.severity,
        plane=entry.plane,
        component=component or entry.component,
        subject=subject,
        message=message,
    )


def codes_markdown() -> str:
    """The codes table as Markdown, for docs/codes.md."""
    lines = [
        "# Finding codes",
        "",
        "Generated from `kplanediag/analysis/knowledge/codes.table` by `make docs`; do not edit by hand.",
        "",
        "| code | severity | plane | component | finding | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in CODES.values():
        anchor = f'<a id="{c.code.lower()}"></a>'  # runbook_url of the alert rules (deploy/prometheus)
        row = f"| {anchor}{c.code} | {c.severity.value} | {c.plane.value} | {c.component} | {c.title} | {c.meaning} |"
        lines.append(row)
    return "\n".join(lines) + "\n"
