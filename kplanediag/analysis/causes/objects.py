"""Faults between objects: when cordons and taints leave no schedulable node (KPD-232), the pods
Pending on those taints or cordons (KPD-233) are its effects, not a fault of their own."""

from __future__ import annotations

from kplanediag.analysis.causes.model import Links
from kplanediag.analysis.model import Finding
from kplanediag.analysis.scheduling import Why

CLOSED = "KPD-232"
PENDING = "KPD-233"
CLOSING = (Why.TAINT.value, Why.CORDONED.value)  # a pending group's subject starts with its reason


def link_objects(findings: tuple[Finding, ...], links: Links) -> None:
    root = next((f for f in findings if f.code == CLOSED), None)
    if root is None:
        return
    for f in findings:
        if f.code == PENDING and f.subject.split(" ", 1)[0] in CLOSING:
            links.add(root, f.message.split(". The scheduler says", 1)[0], f)
