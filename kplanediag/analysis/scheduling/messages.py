"""The scheduler's Unschedulable message read into reasons with node counts, in the wordings of
every release: 1.7-1.8 predicates ("Insufficient pods (2), NodeNotReady (1)") and 1.9+ filters
("0/3 nodes are available: 1 node(s) had untolerated taint {k: }, 2 Insufficient cpu. preemption: ...")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Why(StrEnum):
    """What keeps a node from taking a pod, by the kind of fix it needs."""

    NOT_READY = "not-ready"  # the node lifecycle controller's not-ready taint, or NodeNotReady (<= 1.11)
    UNREACHABLE = "unreachable"  # its unreachable taint: the kubelet stopped posting status
    CORDONED = "cordoned"  # spec.unschedulable (or its node.kubernetes.io/unschedulable taint)
    CAPACITY = "capacity"  # Insufficient <resource>, too many pods
    AFFINITY = "node-affinity"  # nodeSelector / node affinity mismatch
    TAINT = "taint"  # another untolerated taint (its key in Reason.taint when the message names it)
    VOLUME = "volume"  # volume binding, zone or node-affinity conflicts of volumes
    OTHER = "other"  # ports, pod (anti-)affinity, topology spread, wording not recognised


LIFECYCLE_TAINTS: dict[str, Why] = {
    "node.kubernetes.io/not-ready": Why.NOT_READY,
    "node.alpha.kubernetes.io/notReady": Why.NOT_READY,
    "node.kubernetes.io/unreachable": Why.UNREACHABLE,
    "node.alpha.kubernetes.io/unreachable": Why.UNREACHABLE,
}
"""Taints the node lifecycle controller sets on failing nodes: the node failure is the cause."""
CORDON_TAINT = "node.kubernetes.io/unschedulable"
CONTROL_PLANE_TAINTS = frozenset({"node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"})
"""Taints that keep ordinary pods off control-plane nodes by design."""

# (pattern in the lowercased reason text, Why): the first match wins; taint keys are read before these
WORDINGS: tuple[tuple[str, Why], ...] = (
    ("nodenotready", Why.NOT_READY),
    ("were not ready", Why.NOT_READY),
    ("nodeunreachable", Why.UNREACHABLE),
    ("nodeunschedulable", Why.CORDONED),
    ("were unschedulable", Why.CORDONED),
    ("insufficient", Why.CAPACITY),
    ("too many pods", Why.CAPACITY),
    ("outofdisk", Why.CAPACITY),
    ("out of disk", Why.CAPACITY),
    ("node selector", Why.AFFINITY),
    ("node affinity/selector", Why.AFFINITY),
    ("node's affinity", Why.AFFINITY),
    ("matchnodeselector", Why.AFFINITY),
    ("volume", Why.VOLUME),
    ("persistentvolumeclaim", Why.VOLUME),
    ("persistent volume", Why.VOLUME),
    ("podtoleratesnodetaints", Why.TAINT),
    ("taint", Why.TAINT),
)
MODERN = re.compile(r"^0/(\d+) nodes are available(?::\s*(.*))?$", re.DOTALL)
OLD = re.compile(r"^No nodes are available that match all of the (?:following )?predicates:+\s*(.*)$", re.DOTALL)
OLD_ITEM = re.compile(r"\s*([^,]+?) \((\d+)\)")
MODERN_SPLIT = re.compile(r",\s+(?=\d+ )")
TAINT_KEY = re.compile(r"\{([^:}]+):")
PREEMPTION = re.compile(r"\.?\s*preemption:.*$", re.DOTALL)


@dataclass(frozen=True)
class Reason:
    """One reason the scheduler gave: on how many nodes (None when it gave no count) and in its words."""

    why: Why
    nodes: int | None
    text: str
    taint: str = ""  # the taint key, when the reason is an untolerated taint the message names


@dataclass(frozen=True)
class Verdict:
    """The whole message: how many nodes the scheduler considered (None: not said) and why each failed.
    Counts can overlap: a node failing two checks is counted under both (1.8's node conditions, or
    Insufficient cpu and memory on one node)."""

    considered: int | None
    reasons: tuple[Reason, ...]


def classify(text: str) -> Reason:
    """One reason's words, without its count."""
    key = TAINT_KEY.search(text)
    if key and "taint" in text.lower():
        taint = key.group(1).strip()
        if taint in LIFECYCLE_TAINTS:
            return Reason(LIFECYCLE_TAINTS[taint], None, text, taint)
        return Reason(Why.CORDONED if taint == CORDON_TAINT else Why.TAINT, None, text, taint)
    lowered = text.lower()
    why = next((w for pattern, w in WORDINGS if pattern in lowered), Why.OTHER)
    return Reason(why, None, text)


def _counted(text: str, count: int | None) -> Reason:
    r = classify(text.strip().rstrip("."))
    return Reason(r.why, count, r.text, r.taint)


def parse(message: str) -> Verdict:
    """The reasons of a PodScheduled=False message; an unrecognised one is a single OTHER reason."""
    text = PREEMPTION.sub("", message.strip()).strip()
    modern = MODERN.match(text)
    if modern:
        # the node reasons end at the first sentence's end; later ones ("no new claims to deallocate") are not
        body = (modern.group(2) or "").strip().split(". ", 1)[0].rstrip(".")
        reasons = []
        for item in MODERN_SPLIT.split(body) if body else []:
            count, _, words = item.strip().partition(" ")
            reasons.append(_counted(words, int(count)) if count.isdigit() else _counted(item, None))
        return Verdict(int(modern.group(1)), tuple(reasons))
    old = OLD.match(text)
    if old:
        items = OLD_ITEM.findall(old.group(1))
        if items:
            return Verdict(None, tuple(_counted(words, int(count)) for words, count in items))
    return Verdict(None, (_counted(text, None),) if text else ())
