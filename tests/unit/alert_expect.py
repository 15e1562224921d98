"""The alerts each fault of tests/unit/test_alert_rules.py must raise, exactly as promtool expands
them (labels and annotations), their figures taken from the analysed report, not from the metrics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kplanediag.analysis.model import BlastEntry, Impact
from kplanediag.analysis.results import Report
from tests.unit.prom_series import TARGET

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "config.yaml"
RUNBOOK = "https://kplanediag.example/docs/"
# each alert's severity as deploy/prometheus/config.yaml sets it
SEVERITY: dict[str, str] = {name: a["severity"] for name, a in yaml.safe_load(CONFIG.read_text())["alerts"].items()}


def only(rep: Report, prefix: str) -> BlastEntry:
    (entry,) = [b for b in rep.blast_radius if b.failure.startswith(prefix)]
    return entry


def count(items: Any, impact: Impact) -> int:
    return sum(1 for i in items if i.impact is impact)


def labels(alert: str, **extra: str) -> dict[str, str]:
    """The labels the alert fires with: the target's, its configured severity, and ``extra``."""
    return {**TARGET, "severity": SEVERITY[alert], **extra}


def codes_url(anchor: str) -> str:
    return f"{RUNBOOK}codes.md#{anchor}"


def control_plane(rep: Report) -> list[dict[str, Any]]:
    entry = only(rep, "kube-scheduler")
    return [
        {
            "alertname": "KplanediagControlPlaneUnavailable",
            "exp_labels": labels(
                "KplanediagControlPlaneUnavailable",
                component="kube-scheduler",
                failure="control-plane-down",
                plane="control-plane",
                scope="management",
            ),
            "exp_annotations": {
                "summary": "kube-scheduler is unavailable: cluster management stops",
                "description": (
                    f"kube-scheduler is down (control-plane-down). Blast radius: {entry.affected.pods} pod(s) wait "
                    f"on it, {count(entry.affected.workloads, Impact.OUTAGE)} workload(s) in outage. Running pods "
                    "keep running and Services keep routing; `kplanediag check` says what breaks and what still works."
                ),
                "runbook_url": codes_url("kpd-120"),
            },
        }
    ]


def nodes_down(prefix: str, component: str, failure: str, anchor: str) -> Callable[[Report], list[dict[str, Any]]]:
    def expect(rep: Report) -> list[dict[str, Any]]:
        a = only(rep, prefix).affected
        n = len(a.nodes)
        return [
            {
                "alertname": "KplanediagNodesDataPlaneDown",
                "exp_labels": labels("KplanediagNodesDataPlaneDown", component=component, failure=failure),
                "exp_annotations": {
                    "summary": f"{n} node(s) failing ({component})",
                    "description": (
                        f"{n} node(s) with {component} failing. Blast radius: {a.pods} pod(s) hit; "
                        f"{count(a.workloads, Impact.OUTAGE)} workload(s) with no ready replica elsewhere (outage), "
                        f"{count(a.workloads, Impact.DEGRADED)} degraded; "
                        f"{count(a.services, Impact.OUTAGE)} Service(s) without a ready endpoint, "
                        f"{count(a.services, Impact.DEGRADED)} degraded. Pods on the other nodes keep running; "
                        'kplanediag_node_status{status="down"} names the nodes.'
                    ),
                    "runbook_url": codes_url(anchor),
                },
            }
        ]

    return expect


ETCD_WRITES = (
    "Blast radius: every create, update and delete fails, and so do status updates and Lease renewals: no deploys, "
    "scaling, rescheduling or node heartbeats. Reads are served from the API server's watch cache; running pods keep "
    "running and Services keep routing."
)


def etcd_writes(failure: str, anchor: str) -> Callable[[Report], list[dict[str, Any]]]:
    def expect(rep: Report) -> list[dict[str, Any]]:
        assert [b.plane.value for b in rep.blast_radius if b.failure.startswith("etcd")] == ["control-plane"]
        return [
            {
                "alertname": "KplanediagEtcdWritesFailing",
                "exp_labels": labels(
                    "KplanediagEtcdWritesFailing",
                    component="etcd",
                    failure=failure,
                    plane="control-plane",
                    scope="management",
                ),
                "exp_annotations": {
                    "summary": f"etcd is failing ({failure}): every write to the cluster fails",
                    "description": ETCD_WRITES,
                    "runbook_url": codes_url(anchor),
                },
            }
        ]

    return expect


def etcd_at_risk(rep: Report) -> list[dict[str, Any]]:
    members = [c for c in rep.components if c.name == "etcd"]
    healthy = sum(1 for c in members if c.status.value == "healthy")
    return [
        {
            "alertname": "KplanediagEtcdQuorumAtRisk",
            "exp_labels": labels("KplanediagEtcdQuorumAtRisk", component="etcd", plane="control-plane"),
            "exp_annotations": {
                "summary": "etcd has no failure tolerance left: one more member down stops every write",
                "description": (
                    f"{healthy} of {len(members)} etcd members are healthy: exactly a quorum. Blast radius if one more "
                    "fails: every write fails (deploys, scaling, Lease renewals, node heartbeats). Now writes, reads "
                    "and running pods all work."
                ),
                "runbook_url": codes_url("kpd-112"),
            },
        }
    ]


def webhook_blocking(rep: Report) -> list[dict[str, Any]]:
    n = sum(1 for f in rep.findings if f.code == "KPD-400")
    return [
        {
            "alertname": "KplanediagWebhookBlockingWrites",
            "exp_labels": labels(
                "KplanediagWebhookBlockingWrites",
                component="validating-webhook",
                failure="webhook-rejecting-writes",
                plane="cross-plane",
                scope="cluster",
            ),
            "exp_annotations": {
                "summary": f"{n} validating-webhook(s) with failurePolicy Fail not served: the writes they intercept "
                "are rejected",
                "description": (
                    f"{n} validating-webhook(s) with failurePolicy Fail have no ready endpoint, although every "
                    "control-plane process is healthy. Blast radius: every create or update they intercept is rejected "
                    "(if they intercept their own pods, they cannot come back by themselves). Reads and running pods "
                    "are unaffected; `kubectl delete validatingwebhookconfiguration NAME` lifts the block."
                ),
                "runbook_url": codes_url("kpd-400"),
            },
        }
    ]


def dns_down(rep: Report) -> list[dict[str, Any]]:
    a = only(rep, "coredns").affected
    return [
        {
            "alertname": "KplanediagClusterDNSDown",
            "exp_labels": labels(
                "KplanediagClusterDNSDown", component="coredns", failure="dns-down", plane="data-plane", scope="cluster"
            ),
            "exp_annotations": {
                "summary": "cluster DNS is down: name resolution fails cluster-wide",
                "description": (
                    "CoreDNS has no ready replica or endpoint. Blast radius: name resolution fails for "
                    f"{a.pods} pod(s) in {len(a.namespaces)} namespace(s): Service discovery by name fails. "
                    "Traffic by IP and connections already open keep working."
                ),
                "runbook_url": codes_url("kpd-320"),
            },
        }
    ]


def nothing(rep: Report) -> list[dict[str, Any]]:
    return []
