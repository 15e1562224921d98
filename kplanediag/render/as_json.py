"""The JSON output contract (docs/output.md): a Report as plain dicts, schemaVersion 1."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from kplanediag.analysis.model import BlastEntry, Component, Finding
from kplanediag.analysis.results import Report
from kplanediag.render import SECTIONS
from kplanediag.snapshot import format_time

SCHEMA_VERSION = 1


def component_dict(c: Component) -> dict[str, Any]:
    return {
        "name": c.name,
        "plane": c.plane.value,
        "node": c.node,
        "version": c.version,
        "status": c.status.value,
        "detail": c.detail,
        "role": c.role,
        "evidence": list(c.evidence),
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.value,
        "plane": f.plane.value,
        "component": f.component,
        "subject": f.subject,
        "message": f.message,
        "since": format_time(f.since) if f.since else None,
        "causedBy": f.caused_by,
    }


def blast_dict(b: BlastEntry) -> dict[str, Any]:
    a = b.affected
    return {
        "failure": b.failure,
        "class": b.failure_class,
        "component": b.component,
        "plane": b.plane.value,
        "scope": b.scope,
        "severity": b.severity.value,
        "cause": (
            {"code": b.cause.code, "component": b.cause.component, "subject": b.cause.subject}
            if b.cause is not None
            else None
        ),
        "effects": list(b.effects),
        "summary": b.summary,
        "affected": {
            "nodes": list(a.nodes),
            "pods": a.pods,
            "workloads": [
                {
                    "kind": w.kind,
                    "namespace": w.namespace,
                    "name": w.name,
                    "impact": w.impact.value,
                    "readyElsewhere": w.ready_elsewhere,
                    "lost": w.lost,
                }
                for w in a.workloads
            ],
            "services": [
                {
                    "namespace": s.namespace,
                    "name": s.name,
                    "impact": s.impact.value,
                    "readyElsewhere": s.ready_elsewhere,
                    "lost": s.lost,
                }
                for s in a.services
            ],
            "namespaces": list(a.namespaces),
            "podDisruptionBudgets": list(a.disruption_budgets),
        },
        "breaks": list(b.breaks),
        "stillWorks": list(b.still_works),
    }


def fit_dict(report: Report) -> dict[str, Any]:
    """The ``fit`` field (docs/output.md); only present when a config or --ignore is used."""
    fit = report.fit
    assert fit is not None
    return {
        "source": fit.source,
        "accepted": [
            {**finding_dict(a.finding), "acceptedBy": a.rule.origin, "reason": a.rule.reason} for a in fit.accepted
        ],
        "expectedAbsent": list(fit.absent),
        "stale": [{"origin": s.origin, "entry": s.entry, "why": s.why} for s in fit.stale],
        "links": {"runbook": fit.links.runbook, "dashboard": fit.links.dashboard},
    }


def report_dict(report: Report, sections: Iterable[str] = SECTIONS) -> dict[str, Any]:
    wanted = set(sections)
    severities = Counter(f.severity.value for f in report.findings)
    statuses = Counter(c.status.value for c in report.components)
    doc: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "cluster": {
            "server": report.cluster.server,
            "version": report.cluster.version,
            "controlPlaneMode": report.cluster.control_plane_mode,
            "controlPlaneEvidence": list(report.cluster.mode_evidence),
            "profile": report.cluster.profile,
            "profileEvidence": list(report.cluster.profile_evidence),
            "singleNode": report.cluster.single_node,
            "observations": list(report.cluster.observations),
            "collectedAt": format_time(report.cluster.collected_at),
            "collectedAtFrom": report.cluster.collected_at_from or None,
            "evaluatedAt": format_time(report.cluster.evaluated_at),
            "evaluatedBy": report.cluster.judged_by or None,
        },
    }
    if "components" in wanted:
        doc["components"] = [component_dict(c) for c in report.components]
    if "findings" in wanted:
        doc["findings"] = [finding_dict(f) for f in report.findings]
    if "blastRadius" in wanted:
        doc["blastRadius"] = [blast_dict(b) for b in report.blast_radius]
    doc["summary"] = {
        "status": report.status,
        "text": report.summary,
        "counts": {
            "critical": severities["critical"],
            "warning": severities["warning"],
            "info": severities["info"],
            "components": {s: statuses[s] for s in ("healthy", "degraded", "down", "unknown")},
            "failures": len(report.blast_radius),
            "accepted": len(report.fit.accepted) if report.fit else 0,
        },
    }
    doc["gaps"] = list(report.gaps)
    if report.fit is not None:
        doc["fit"] = fit_dict(report)
    if report.what_if is not None:
        from kplanediag.render.whatif import whatif_dict  # noqa: PLC0415

        doc["whatIf"] = whatif_dict(report)
    known = report.last_known
    if known is not None:
        doc["lastKnown"] = {
            "collectedAt": format_time(known.collected_at),
            "ageSeconds": round(known.age_seconds),
            "source": known.source,
            "podsRunning": known.pods_running,
            "nodes": known.nodes,
            "nodesReady": known.nodes_ready,
            "servicesServing": list(known.services_serving),
            "singleReplicaWorkloads": list(known.single_replica),
            "lines": list(known.lines()),
        }
    return doc


_INDENTED = json.JSONEncoder(indent=2)  # what json.dumps(indent=2) uses


def render_json(report: Report, sections: Iterable[str] = SECTIONS) -> str:
    """``json.dumps(report_dict(...), indent=2)``, to the character. Its indenting encoder is pure
    Python and dumps() joins the list of all its tokens (for 10,000 components, about ten times the
    text in small strings); written into a StringIO as they come, only the text is held."""
    text = io.StringIO()
    write = text.write
    for chunk in _INDENTED.iterencode(report_dict(report, sections)):
        write(chunk)
    write("\n")
    return text.getvalue()
