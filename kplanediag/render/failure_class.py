"""Bounded labels for blast-radius entries: each entry's failure class and component, from a fixed
vocabulary (docs/metrics.md), so that /metrics never carries a node, pod or webhook name per failure."""

from __future__ import annotations

from kplanediag.analysis.model import BlastEntry, Finding, Plane

CLASSES = (
    "control-plane-down",  # a whole control-plane component down (or its checks failing), API server unreachable
    "quorum-lost",  # a replicated control-plane component below its quorum
    "redundancy-lost",  # some instances of a replicated component down, enough left
    "etcd-writes-failing",  # etcd refusing writes (NOSPACE) although /readyz passes
    "etcd-quota",  # etcd database near or at its quota
    "certificate-expiring",  # the API server's serving certificate
    "apiserver-saturated",  # slow or queueing (API Priority and Fairness)
    "webhook-rejecting-writes",  # failurePolicy Fail webhook not served: writes rejected
    "webhook-not-enforced",  # failurePolicy Ignore webhook not served: policy silently skipped
    "aggregated-api-unavailable",
    "node-failure",  # nodes failing (kubelet: not ready, unknown, heartbeat stale)
    "component-down",  # kube-proxy or the CNI down on a node
    "dns-down",  # cluster DNS down
    "other",  # an entry this table does not know yet (a test keeps the real ones known)
)

_PREFIXES = (  # (prefix of BlastEntry.failure, class, component)
    ("node failure", "node-failure", "kubelet"),
    ("coredns down", "dns-down", "coredns"),
    ("aggregated API unavailable", "aggregated-api-unavailable", "aggregated-api"),
    ("writes failing cluster-wide", "etcd-writes-failing", "etcd"),
    ("etcd database", "etcd-quota", "etcd"),
    ("API server serving certificate", "certificate-expiring", "kube-apiserver"),
    ("API server slow", "apiserver-saturated", "kube-apiserver"),
)
WEBHOOK = "admission webhook not served: "
WEBHOOK_CODES = {"KPD-400": "webhook-rejecting-writes", "KPD-401": "webhook-not-enforced"}


def failure_class(entry: BlastEntry, findings: tuple[Finding, ...] = ()) -> tuple[str, str]:
    """(class, component) of one blast-radius entry; ``findings`` tell a webhook's kind and policy."""
    text = entry.failure
    for prefix, cls, component in _PREFIXES:
        if text.startswith(prefix):
            return cls, component
    if text.startswith(WEBHOOK):
        subject = text.removeprefix(WEBHOOK)
        for f in findings:
            if f.subject == subject and f.code in WEBHOOK_CODES:
                return WEBHOOK_CODES[f.code], f.component
        return "webhook-not-enforced", "admission-webhook"
    name, _, detail = text.partition(" ")
    if entry.plane is Plane.DATA and detail.startswith("down on "):
        return "component-down", name
    if entry.plane is Plane.CONTROL:
        if detail.startswith("down on "):
            return "redundancy-lost", name
        if detail.startswith("quorum lost"):
            return "quorum-lost", name
        return "control-plane-down", name
    return "other", name
