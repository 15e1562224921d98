"""Cordons, taints and a pod's tolerations: which nodes are closed to it (placement.py adds selectors,
affinity and requests). Taint values are not read: a toleration for a key tolerates every value."""

from __future__ import annotations

from collections.abc import Iterable

from kplanediag.analysis import objects as o
from kplanediag.analysis.scheduling.messages import CORDON_TAINT, LIFECYCLE_TAINTS
from kplanediag.snapshot.kinds import Node, Pod, Taint, Toleration

BLOCKING = ("NoSchedule", "NoExecute")


def tolerates(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    """The API's ToleratesTaint, without values (not read): an empty key with Exists tolerates all."""
    for t in tolerations:
        if t.effect and t.effect != taint.effect:
            continue
        if t.operator == "Exists" and not t.key:
            return True
        if t.key == taint.key:
            return True
    return False


def node_ready(node: Node) -> bool:
    cond = o.condition(node.status.conditions, "Ready")
    return cond is not None and cond.status == "True"


def cordoned(node: Node) -> bool:
    return node.spec.unschedulable or any(t.key == CORDON_TAINT for t in node.spec.taints)


def closing_taints(node: Node, tolerations: tuple[Toleration, ...], *, lifecycle: bool) -> list[Taint]:
    """The NoSchedule/NoExecute taints that keep a pod with ``tolerations`` off ``node``; with
    ``lifecycle`` False the not-ready/unreachable taints (a node failure's) are left out."""
    return [
        t
        for t in node.spec.taints
        if t.effect in BLOCKING
        and t.key != CORDON_TAINT
        and (lifecycle or t.key not in LIFECYCLE_TAINTS)
        and not tolerates(tolerations, t)
    ]


def accepts(node: Node, tolerations: tuple[Toleration, ...]) -> bool:
    """Whether a new pod with ``tolerations`` could land on ``node`` now: Ready, not cordoned, every
    NoSchedule/NoExecute taint tolerated (placement.selects adds nodeSelector and affinity)."""
    return node_ready(node) and not cordoned(node) and not closing_taints(node, tolerations, lifecycle=True)


def why_closed(node: Node, tolerations: tuple[Toleration, ...]) -> str:
    """Why a deliberately closed node takes no new pod: "cordoned", "taint k:NoSchedule"; "" if open."""
    if cordoned(node):
        return "cordoned"
    taints = closing_taints(node, tolerations, lifecycle=False)
    return ", ".join(f"taint {t.key}:{t.effect}" for t in taints)


def evicting_taints(node: Node, pod: Pod) -> list[tuple[Taint, int | None]]:
    """The node's NoExecute taints (lifecycle ones left out) that evict ``pod``: each with the
    seconds its toleration allows (None: not tolerated, evicted at once)."""
    out: list[tuple[Taint, int | None]] = []
    for taint in node.spec.taints:
        if taint.effect != "NoExecute" or taint.key in LIFECYCLE_TAINTS:
            continue
        matching = [t for t in pod.spec.tolerations if tolerates((t,), taint)]
        if not matching:
            out.append((taint, None))
        elif all(t.toleration_seconds is not None for t in matching):
            out.append((taint, max(t.toleration_seconds or 0 for t in matching)))
    return out
