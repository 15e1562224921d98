"""Policy thresholds: the judgement calls kplanediag makes that the cluster cannot tell it, in one
documented table (docs/profiles.md lists them). Timing facts the cluster does state (Lease
durations, grace periods, tolerations) are never here: they are read from the objects."""

from __future__ import annotations

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
    )
}


def policy(name: str) -> float:
    return POLICY[name].value
