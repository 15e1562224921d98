"""Policy thresholds: the judgement calls kplanediag makes that the cluster cannot tell it, in one
documented table (docs/profiles.md lists them). Timing facts the cluster does state (Lease
durations, grace periods, tolerations) are never here: they are read from the objects."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Threshold:
    name: str
    value: float
    unit: str
    why: str


POLICY: dict[str, Threshold] = {
    t.name: t
    for t in (
        Threshold(
            "unscheduled_grace",
            30,
            "s",
            "A pending pod with no PodScheduled condition this long after creation was never looked at by "
            "a scheduler (a working one answers within a second, Unschedulable included). Deployments younger "
            "than this are not judged for unobserved generations either.",
        ),
        Threshold(
            "recent_effect",
            600,
            "s",
            "A pod scheduled or created by a controller this recently is evidence that the scheduler or "
            "controller-manager works, where no leader Lease can be read.",
        ),
        Threshold(
            "lease_lock_since_minor",
            20,
            "minor",
            "From Kubernetes 1.20 the scheduler and controller-manager lock leader election with Leases; "
            "before, with Endpoints or ConfigMaps, which kplanediag does not read.",
        ),
        Threshold(
            "writes_stalled",
            60,
            "s",
            "No Lease in kube-system or kube-node-lease renewed for this long, the API server's identity Lease "
            "included (it renews it every 10 s), while the API server answers: its writes fail (etcd full).",
        ),
        Threshold(
            "certificate_warn_days",
            30,
            "days",
            "The API server's serving certificate expires within this many days: a warning (time to renew "
            "in a maintenance window).",
        ),
        Threshold(
            "certificate_critical_days",
            7,
            "days",
            "The serving certificate expires within this many days: critical (every client that verifies it "
            "will fail).",
        ),
        Threshold(
            "csr_pending",
            900,
            "s",
            "A CertificateSigningRequest pending this long was not approved by any approver: the node that "
            "asked cannot renew its certificate (node client CSRs are approved within seconds).",
        ),
        Threshold(
            "etcd_warn_ratio",
            0.80,
            "of quota",
            "etcd's database reaches this share of its quota: a warning (compact and defragment, or raise the "
            "quota, before writes stop).",
        ),
        Threshold(
            "etcd_critical_ratio",
            0.95,
            "of quota",
            "etcd's database reaches this share of its quota: critical (the NOSPACE alarm, after which every "
            "write fails, is close or active).",
        ),
        Threshold(
            "slo_get_seconds",
            1.0,
            "s",
            "Kubernetes API call latency SLO for single-object calls (p99 <= 1 s): the median of kplanediag's "
            "own single GETs (/version, /livez, /readyz) above it means a slow API server.",
        ),
        Threshold(
            "slo_namespaced_list_seconds",
            5.0,
            "s",
            "SLO for namespace-scoped LIST calls (p99 <= 5 s): any page of kplanediag's namespaced lists above it.",
        ),
        Threshold(
            "slo_cluster_list_seconds",
            30.0,
            "s",
            "SLO for cluster-scoped LIST calls (p99 <= 30 s): any page of kplanediag's cluster-wide lists above it.",
        ),
    )
}


_OVERRIDES: ContextVar[Mapping[str, float] | None] = ContextVar("policy_overrides", default=None)


def policy(name: str) -> float:
    """The threshold's value: the table's, or the one a cluster's config sets for this analysis."""
    values = _OVERRIDES.get()
    return values[name] if values and name in values else POLICY[name].value


@contextmanager
def overridden(values: Mapping[str, float]) -> Iterator[None]:
    """Thresholds a cluster's config sets (docs/config.md), for one analysis in this thread/context."""
    token = _OVERRIDES.set({**(_OVERRIDES.get() or {}), **values})
    try:
        yield
    finally:
        _OVERRIDES.reset(token)
