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
            "node_monitor_grace",
            50,
            "s",
            "kube-controller-manager's --node-monitor-grace-period (50 s from Kubernetes 1.32, 40 s before): "
            "a node whose Lease is not renewed this long past its duration is marked Unknown by the node "
            "lifecycle controller. A node still Ready past that, with the controller-manager leading, is "
            "renewing on time by the controller's clock: its kubelet's clock is skewed, the node is alive. "
            "kplanediag reads no controller-manager flag, so the default stands here.",
        ),
        Threshold(
            "clock_skew",
            30,
            "s",
            "The API server's Date (1 s resolution) and this machine's clock may differ this much before "
            "kplanediag says so (KPD-105) and asks the freshest Lease renewals which to judge by: NTP keeps "
            "clocks within milliseconds, and a node Lease lasts 40 s, so a larger skew changes verdicts.",
        ),
        Threshold(
            "unschedulable_patience",
            300,
            "s",
            "A pod Pending Unschedulable this long is reported (KPD-233): a cluster autoscaler adds a node "
            "within minutes and a node that just failed gets its pods back as soon as it recovers, so "
            "shorter waits are ordinary scheduling, not a fault.",
        ),
        Threshold(
            "common_cause_window",
            60,
            "s",
            "Kubelets that went silent (Ready left True) within this many seconds of each other are said to "
            "likely share a cause outside the machines (network to the API server, its load balancer, "
            "credentials): independent machine failures rarely line up this closely.",
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
            "addon_restarts",
            50,
            "restarts",
            "An add-on pod (kube-system, the distribution's or a common add-on's namespace) whose containers "
            "restarted this many times, and at least addon_restarts_per_hour on average over its life, restarts "
            "heavily even when it is running between two crashes (a crash-looping one is flagged at any count). "
            "Node reboots and upgrades restart every pod of a node together, a few dozen times a month at most "
            "(a month-old RKE2 desktop node: 8 to 21 restarts on every pod).",
        ),
        Threshold(
            "addon_restarts_per_hour",
            1.0,
            "restarts/hour",
            "The average restart rate over an add-on pod's life (since its creation) above which its restarts "
            "are its own failures, not its nodes' reboots; a pod whose age is not known is judged by "
            "addon_restarts alone. The API keeps no history of when the restarts happened: a long-lived pod that "
            "started failing recently is found by CrashLoopBackOff, not by this rate.",
        ),
        Threshold(
            "webhook_event_recent",
            3600,
            "s",
            "A FailedCreate (or other Warning) event naming a failing webhook call this recently is evidence that "
            "the webhook fails now; the API server keeps events one hour by default (--event-ttl), so older ones "
            "are usually gone anyway. Without such an event, /metrics counters (since the API server started) "
            "are the only evidence, and the finding says so.",
        ),
        Threshold(
            "webhook_slow_seconds",
            1.0,
            "s",
            "A webhook call longer than this uses up, on its own, the latency SLO of the write it intercepts "
            "(mutating API calls: p99 <= 1 s); read from the duration histogram at the first bucket bound at or "
            "above it (the bounds are 0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 25 s), never interpolated.",
        ),
        Threshold(
            "webhook_slow_share",
            0.01,
            "share",
            "The share of a webhook's calls above webhook_slow_seconds beyond which it is slow (KPD-404): the SLO "
            "is a 99th percentile, so more than 1% of calls over it breaks it for the writes the webhook intercepts.",
        ),
        Threshold(
            "webhook_slow_min_calls",
            100,
            "calls",
            "Fewer calls than this since the API server started do not make a share: a webhook called a handful "
            "of times, once slowly at start-up, is not judged slow.",
        ),
        Threshold(
            "slo_get_seconds",
            1.0,
            "s",
            "Kubernetes API call latency SLO for single-object calls (p99 <= 1 s): the median of kplanediag's "
            "own single GETs (/version, /livez, /readyz) above it means a slow API server.",
        ),
        Threshold(
            "apf_queued_requests",
            5,
            "requests",
            "Requests waiting in one API Priority and Fairness level at the moment /metrics is read: fewer, "
            "with none of that level's requests ever rejected, are a burst, not saturation (one scrape is one "
            "instant: a freshly started HA control plane queues a request or two now and then).",
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
