"""Scheduler and controller-manager liveness read from their effects, where no leader Lease can be
read (leader election off on k3s, old Endpoints/ConfigMap locks, OpenShift)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.model import Status
from kplanediag.snapshot.kinds import Deployment, Pod

DEFAULT_SCHEDULERS = ("", "default-scheduler")
CONTROLLER_KINDS = ("ReplicaSet", "Job", "DaemonSet", "StatefulSet")


@dataclass(frozen=True)
class Effect:
    status: Status  # HEALTHY: recent work seen; DOWN: work left undone; UNKNOWN: nothing to judge by
    evidence: str
    waiting: tuple[Pod, ...] = ()
    unobserved: tuple[Deployment, ...] = ()


def never_tried(pod: Pod) -> bool:
    """Pending for the default scheduler, with no PodScheduled condition: no scheduler looked at it."""
    return (
        o.pod_pending_unscheduled(pod)
        and pod.spec.scheduler_name in DEFAULT_SCHEDULERS
        and o.condition(pod.status.conditions, "PodScheduled") is None
    )


# Pods scheduled moments ago show a working scheduler, pods waiting with no scheduling attempt show none; pods
# created by controllers moments ago show a working controller-manager, Deployment generations nobody observed
# show none.
def scheduler_effect(idx: ClusterIndex) -> Effect:
    if not idx.has("pods"):
        return Effect(Status.UNKNOWN, "pods not observed")
    grace = policy("unscheduled_grace")
    waiting = []
    for pod in idx.pods:
        age = idx.seconds_since(pod.metadata.creation_timestamp)
        if age is not None and age > grace and never_tried(pod):
            waiting.append(pod)
    if waiting:
        oldest = max(idx.seconds_since(p.metadata.creation_timestamp) or 0 for p in waiting)
        names = ", ".join(p.key for p in waiting[:3])
        return Effect(
            Status.DOWN,
            f"{len(waiting)} pod(s) pending up to {oldest:.0f}s with no scheduling attempt ({names})",
            waiting=tuple(waiting),
        )
    newest: tuple[float, str] | None = None
    for pod in idx.pods:
        cond = o.condition(pod.status.conditions, "PodScheduled")
        if cond is not None and cond.status == "True" and cond.last_transition_time is not None:
            age = (idx.now - cond.last_transition_time).total_seconds()
            if newest is None or age < newest[0]:
                newest = (age, pod.key)
    if newest is not None and 0 <= newest[0] <= policy("recent_effect"):
        return Effect(Status.HEALTHY, f"pod {newest[1]} scheduled {newest[0]:.0f}s ago")
    return Effect(Status.UNKNOWN, "no pod scheduled recently and none waiting: nothing to judge by")


def controller_effect(idx: ClusterIndex) -> Effect:
    if not idx.has("deployments"):
        return Effect(Status.UNKNOWN, "Deployments not observed")
    grace = policy("unscheduled_grace")
    # a Deployment created within the grace is too new to judge (a CI job applies, then checks at once)
    unobserved = tuple(
        d
        for d in idx.snapshot.deployments
        if d.metadata.generation > d.status.observed_generation
        and (idx.seconds_since(d.metadata.creation_timestamp) or 0) > grace
    )
    if unobserved:
        names = ", ".join(
            f"{d.key} (generation {d.metadata.generation}, observed {d.status.observed_generation})"
            for d in unobserved[:3]
        )
        return Effect(
            Status.DOWN, f"{len(unobserved)} Deployment change(s) not acted on: {names}", unobserved=unobserved
        )
    newest: tuple[float, str] | None = None
    for pod in idx.pods:
        ref = pod.controller
        age = idx.seconds_since(pod.metadata.creation_timestamp)
        if ref is not None and ref.kind in CONTROLLER_KINDS and age is not None and (newest is None or age < newest[0]):
            newest = (age, f"pod {pod.key} created by its {ref.kind}")
    if newest is not None and 0 <= newest[0] <= policy("recent_effect"):
        return Effect(Status.HEALTHY, f"{newest[1]} {newest[0]:.0f}s ago")
    return Effect(Status.UNKNOWN, "no controller-made pod recently and every Deployment observed: nothing to judge by")
