"""The logic over typed objects that more than one rule needs: conditions, pod state, label
selectors and image tags. Plain field reads are attributes of the Structs."""

from __future__ import annotations

from collections.abc import Mapping

from kplanediag.snapshot.kinds import Condition, LabelSelector, Pod


def condition(conditions: tuple[Condition, ...], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


# --- pods -----------------------------------------------------------------------------------------


def pod_ready(pod: Pod) -> bool:
    if pod.status.phase != "Running":
        return False
    cond = condition(pod.status.conditions, "Ready")
    return cond is not None and cond.status == "True"


def pod_terminated(pod: Pod) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


def pod_pending_unscheduled(pod: Pod) -> bool:
    return pod.status.phase == "Pending" and not pod.spec.node_name and pod.metadata.deletion_timestamp is None


def crash_looping(pod: Pod) -> bool:
    return any(
        cs.state.waiting is not None and cs.state.waiting.reason == "CrashLoopBackOff"
        for cs in pod.status.container_statuses
    )


def pod_state(pod: Pod) -> str:
    """A short human description: "Ready", "CrashLoopBackOff", "ErrImagePull", "not ready", "Pending" ...
    (a container's waiting reason says more than the phase: why it does not start)."""
    if crash_looping(pod):
        return "CrashLoopBackOff"
    if pod_ready(pod):
        return "Ready"
    waiting = next((cs.state.waiting.reason for cs in pod.status.container_statuses if cs.state.waiting), "")
    if waiting and waiting not in ("ContainerCreating", "PodInitializing"):
        return waiting
    phase = pod.status.phase or "unknown phase"
    return "not ready" if phase == "Running" else phase


def image_tag(pod: Pod) -> str | None:
    image = pod.spec.containers[0].image if pod.spec.containers else ""
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    return tag or None


def selector_matches(selector: LabelSelector | None, obj_labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions); an absent or empty selector matches all."""
    if selector is None:
        return True
    for k, v in selector.match_labels.items():
        if obj_labels.get(k) != v:
            return False
    for expr in selector.match_expressions:
        present = expr.key in obj_labels
        if expr.operator == "In" and (not present or obj_labels[expr.key] not in expr.values):
            return False
        if expr.operator == "NotIn" and present and obj_labels[expr.key] in expr.values:
            return False
        if expr.operator == "Exists" and not present:
            return False
        if expr.operator == "DoesNotExist" and present:
            return False
    return True


def labels_match(selector: Mapping[str, str], obj_labels: Mapping[str, str]) -> bool:
    """A Service's equality selector; an empty one selects nothing (the Service has no selector)."""
    return bool(selector) and all(obj_labels.get(k) == v for k, v in selector.items())
