"""Blast-radius entries for failures that cross the planes (webhooks, aggregated APIs) and for the
control plane's early warnings (etcd near its quota, certificate expiry, a slow API server)."""

from __future__ import annotations

from kplanediag.analysis.crossplane import CrossPlane, etcd_checks_fail
from kplanediag.analysis.crossplane.apiservices import APIServiceState
from kplanediag.analysis.crossplane.webhooks import WebhookState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import (
    AGGREGATED_API_UNAVAILABLE,
    APISERVER_SATURATED,
    CERTIFICATE_EXPIRING,
    ETCD_QUOTA,
    ETCD_WRITES_FAILING,
    WEBHOOK_NOT_ENFORCED,
    WEBHOOK_REJECTING_WRITES,
)
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.model import Affected, BlastEntry, Plane, Severity
from kplanediag.analysis.words import running_elsewhere

READS_WORK = "reads (get, list, watch) work"
TRAFFIC = "Service traffic keeps flowing: it does not pass through the API server"
# what stops with an aggregated API group, beyond its own kinds
GROUP_EFFECTS = {
    "metrics.k8s.io": (
        "HorizontalPodAutoscalers on CPU or memory stop scaling (no resource metrics)",
        "`kubectl top` fails; the vertical pod autoscaler and scheduling tools reading metrics go blind",
    ),
    "custom.metrics.k8s.io": ("HorizontalPodAutoscalers on custom metrics stop scaling",),
    "external.metrics.k8s.io": ("HorizontalPodAutoscalers on external metrics stop scaling",),
}


def webhook_entry(idx: ClusterIndex, hook: WebhookState) -> BlastEntry:
    ops = hook.operations()
    b = hook.backends
    served = b.describe() if b else ""
    kind = f"{hook.kind}webhookconfiguration {hook.configuration}"
    if hook.fail_closed:
        summary = f"webhook {hook.subject} not served (failurePolicy Fail): {ops} are rejected"
        breaks = [
            f"{ops} are rejected by the API server ({served}): the cause is the webhook's pods, not the control plane"
        ]
        if any("pods" in r.resources or "*" in r.resources for r in hook.webhook.rules):
            breaks.append(
                "controllers cannot create the pods they manage there: rollouts, scaling and rescheduling stop"
            )
        if hook.blocks_own_pods():
            breaks.append(
                f"the webhook's own pods in {b.service.split('/')[0] if b else '?'} cannot be created either: "
                "it cannot come back by itself"
            )
        still = [
            running_elsewhere(idx, set()) + " (admission applies to writes only)",
            READS_WORK,
            "writes the webhook does not intercept work",
            f"`kubectl delete {kind}` lifts the block (webhook configurations are never sent to webhooks)",
        ]
    else:
        summary = f"webhook {hook.subject} not served (failurePolicy Ignore): its policy is silently not enforced"
        breaks = [f"{ops} are admitted without the webhook's checks or changes ({served})"]
        still = [running_elsewhere(idx, set()), READS_WORK, "every write succeeds"]
    namespaces = _named_namespaces(ops)
    return BlastEntry(
        f"admission webhook not served: {hook.subject}",
        Plane.CROSS,
        "cluster",
        summary,
        Affected(nodes=b.on_failing_nodes if b else (), namespaces=namespaces),
        tuple(breaks),
        tuple(still),
        WEBHOOK_REJECTING_WRITES if hook.fail_closed else WEBHOOK_NOT_ENFORCED,
        f"{hook.kind}-webhook",
    )


def _named_namespaces(ops: str) -> tuple[str, ...]:
    marker = " in namespace(s) "
    if marker not in ops:
        return ()
    return tuple(n.strip() for n in ops.split(marker, 1)[1].split(" (", 1)[0].split(","))


def apiservice_entry(idx: ClusterIndex, api: APIServiceState) -> BlastEntry:
    group = api.apiservice.spec.group
    breaks = [
        f"requests to {api.group_version} fail (503): {api.backends.describe()}",
        *GROUP_EFFECTS.get(group, ()),
        "API discovery is partial: kubectl and clients warn 'unable to retrieve the complete list of server APIs'",
        f"deleting any namespace can hang in Terminating (the namespace controller cannot list {group} objects)",
        f"garbage collection of {group} objects stops",
    ]
    return BlastEntry(
        f"aggregated API unavailable: {api.name}",
        Plane.CROSS,
        "cluster",
        f"aggregated API {api.group_version} unavailable ({api.why()}): its clients fail, namespace deletion can hang",
        Affected(nodes=api.backends.on_failing_nodes),
        tuple(breaks),
        (running_elsewhere(idx, set()), "every other API group works: reads and writes", TRAFFIC),
        AGGREGATED_API_UNAVAILABLE,
        "aggregated-api",
    )


def etcd_full_entry(idx: ClusterIndex, failure: str, summary: str, full: bool, cls: str) -> BlastEntry:
    return BlastEntry(
        failure,
        Plane.CONTROL,
        "management",
        summary,
        Affected(),
        (
            ("every write fails" if full else "when the quota is reached, every write fails")
            + " ('etcdserver: mvcc: database space exceeded'): creates, updates, deletes, status "
            "updates and Lease renewals (leader election, node heartbeats): no deploys, scaling or rescheduling",
            "recovery needs etcd compaction and defragmentation, then `etcdctl alarm disarm`",
        ),
        ("reads keep working (served by the API server's watch cache)", running_elsewhere(idx, set()), TRAFFIC),
        cls,
        "etcd",
    )


def cross_plane_entries(idx: ClusterIndex, cross: CrossPlane) -> list[BlastEntry]:
    entries = [webhook_entry(idx, h) for h in cross.webhooks if h.failing]
    entries += [apiservice_entry(idx, a) for a in cross.apiservices if a.failing]
    entries += _etcd_entries(idx, cross)
    expiry = cross.expiry
    if expiry is not None and expiry.severity in (Severity.WARNING, Severity.CRITICAL):
        entries.append(_expiry_entry(idx, expiry.describe()))
    sat = cross.saturation
    if sat.any:
        entries.append(_saturation_entry(idx, bool(sat.queued or sat.throttled)))
    return entries


def _etcd_entries(idx: ClusterIndex, cross: CrossPlane) -> list[BlastEntry]:
    """Writes refused cluster-wide (etcd's checks passing), else each etcd near or at its quota."""
    entries = []
    if cross.stalled is not None and not etcd_checks_fail(idx):  # else etcd's own entry says it
        entries.append(
            etcd_full_entry(
                idx,
                "writes failing cluster-wide (etcd refusing writes)",
                cross.stalled.describe(),
                True,
                ETCD_WRITES_FAILING,
            )
        )
    for state in cross.storage:
        ratio = state.ratio
        if ratio is None or ratio < policy("etcd_warn_ratio") or cross.stalled is not None:
            continue
        full = ratio >= policy("etcd_critical_ratio")
        entries.append(
            etcd_full_entry(
                idx, f"etcd database {'at' if full else 'near'} its quota", state.describe(), full, ETCD_QUOTA
            )
        )
    return entries


def _expiry_entry(idx: ClusterIndex, description: str) -> BlastEntry:
    return BlastEntry(
        "API server serving certificate expiring",
        Plane.CONTROL,
        "management",
        description,
        Affected(),
        (
            "once it expires, every client that verifies it fails TLS: kubectl, controllers, the "
            "scheduler, kubelets and operators; management stops and node status goes unreported",
        ),
        (running_elsewhere(idx, set()) + " (until and after expiry)", TRAFFIC),
        CERTIFICATE_EXPIRING,
        "kube-apiserver",
    )


def _saturation_entry(idx: ClusterIndex, rejecting: bool) -> BlastEntry:
    """``rejecting``: requests queue or are throttled, so those beyond the queues get 429."""
    return BlastEntry(
        "API server slow or saturated",
        Plane.CONTROL,
        "management",
        "the control plane is slow: management is slow, running applications are not affected",
        Affected(),
        (
            "kubectl, deploys, scaling and controllers are slow"
            + ("; requests beyond the queues are rejected (429) and retried" if rejecting else ""),
        ),
        (
            running_elsewhere(idx, set()) + " and serving",
            TRAFFIC,
            "a slow control plane does not break running applications: if users see errors, look at the "
            "application and the data plane",
        ),
        APISERVER_SATURATED,
        "kube-apiserver",
    )


def node_webhook_lines(cross: CrossPlane, failed: set[str]) -> list[str]:
    """For a failed node's entry: webhooks whose only serving endpoints were on it."""
    lines = []
    for hook in cross.webhooks:
        b = hook.backends
        if b is None or not hook.failing or not set(b.on_failing_nodes) & failed:
            continue
        effect = "are rejected cluster-wide" if hook.fail_closed else "skip its checks"
        lines.append(f"webhook {hook.subject} was served only from here: {hook.operations()} {effect}")
    return lines
