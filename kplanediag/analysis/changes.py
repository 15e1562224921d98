"""What changed between two reports of the same cluster: findings that appeared, cleared or got
worse, components whose status changed, failures whose blast radius appeared, cleared, grew or
shrank. Pure: ``watch`` prints these as they happen, ``diff`` for two snapshots."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.model import Component, Plane, Severity
from kplanediag.analysis.results import Report
from kplanediag.snapshot import Snapshot


@dataclass(frozen=True)
class Change:
    kind: str  # "status" | "finding" | "component" | "blast" | "node" | "workload"
    what: str  # "appeared" | "cleared" | "worse" | "better" | "changed" | "grew" | "shrank"
    subject: str
    text: str
    severity: Severity | None = None  # of a finding; None for the rest

    def line(self) -> str:
        return f"{self.kind} {self.what}: {self.text}"


def _component_key(c: Component) -> tuple[str, str, str]:
    return (c.name, c.node or "", c.detail.split(":", 1)[0] if c.plane is Plane.CROSS else "")


def _name(c: Component) -> str:
    where = f" on {c.node}" if c.node else (f" {c.detail.split(':', 1)[0]}" if c.plane is Plane.CROSS else "")
    return f"{c.name}{where}"


def changes(old: Report, new: Report) -> list[Change]:
    out: list[Change] = []
    if old.status != new.status:
        out.append(Change("status", "changed", "cluster", f"{old.status.upper()} -> {new.summary}"))
    before = {(f.code, f.subject): f for f in old.findings}
    after = {(f.code, f.subject): f for f in new.findings}
    for key in sorted(after.keys() - before.keys()):
        f = after[key]
        out.append(Change("finding", "appeared", f.subject, f"{f.code} ({f.severity.value}) {f.message}", f.severity))
    for key in sorted(before.keys() - after.keys()):
        f = before[key]
        out.append(Change("finding", "cleared", f.subject, f"{f.code} {f.subject}", f.severity))
    for key in sorted(before.keys() & after.keys()):
        b, a = before[key], after[key]
        if a.severity.rank != b.severity.rank:
            what = "worse" if a.severity.rank > b.severity.rank else "better"
            text = f"{a.code} {b.severity.value} -> {a.severity.value}: {a.message}"
            out.append(Change("finding", what, a.subject, text, a.severity))
    old_c = {_component_key(c): c for c in old.components}
    new_c = {_component_key(c): c for c in new.components}
    for ckey in sorted(old_c.keys() | new_c.keys()):
        cb, ca = old_c.get(ckey), new_c.get(ckey)
        if ca is not None and cb is not None and ca.status is cb.status:
            continue
        was = cb.status.value if cb is not None else "not reported"
        now = (ca.status.value + (f" ({ca.detail})" if ca.detail else "")) if ca is not None else "not reported"
        either = ca or cb
        assert either is not None
        subject = _name(either)
        out.append(Change("component", "changed", subject, f"{subject}: {was} -> {now}"))
    old_b = {b.failure: b for b in old.blast_radius}
    new_b = {b.failure: b for b in new.blast_radius}
    for failure in sorted(new_b.keys() - old_b.keys()):
        out.append(Change("blast", "appeared", failure, new_b[failure].summary))
    for failure in sorted(old_b.keys() - new_b.keys()):
        out.append(Change("blast", "cleared", failure, failure))
    for failure in sorted(old_b.keys() & new_b.keys()):
        hb, ha = old_b[failure].affected, new_b[failure].affected
        size_b, size_a = (hb.pods, len(hb.nodes), len(hb.workloads)), (ha.pods, len(ha.nodes), len(ha.workloads))
        if size_a != size_b:
            what = "grew" if size_a > size_b else "shrank"
            text = (
                f"{failure}: {ha.pods} pods, {len(ha.nodes)} nodes, {len(ha.workloads)} workloads "
                f"(was {size_b[0]}, {size_b[1]}, {size_b[2]})"
            )
            out.append(Change("blast", what, failure, text))
    return out


def _workloads(snap: Snapshot) -> dict[str, str]:
    """``Kind namespace/name`` -> "ready/desired" of the Deployments, StatefulSets and DaemonSets."""
    out: dict[str, str] = {}
    for d in snap.deployments:
        out[f"Deployment {d.key}"] = f"{d.status.ready_replicas}/{1 if d.spec.replicas is None else d.spec.replicas}"
    for s in snap.statefulsets:
        out[f"StatefulSet {s.key}"] = f"{s.status.ready_replicas}/{1 if s.spec.replicas is None else s.spec.replicas}"
    for ds in snap.daemonsets:
        out[f"DaemonSet {ds.key}"] = f"{ds.status.number_ready}/{ds.status.desired_number_scheduled}"
    return out


def inventory_changes(old: Snapshot, new: Snapshot) -> list[Change]:
    """Nodes and workloads that appeared, went away or changed their ready count."""
    out: list[Change] = []
    if old.has("nodes") and new.has("nodes"):
        before, after = {n.name for n in old.nodes}, {n.name for n in new.nodes}
        out += [Change("node", "appeared", n, f"node {n}") for n in sorted(after - before)]
        out += [Change("node", "cleared", n, f"node {n} is gone") for n in sorted(before - after)]
    wb, wa = _workloads(old), _workloads(new)
    out += [Change("workload", "appeared", w, f"{w} ({wa[w]} ready)") for w in sorted(wa.keys() - wb.keys())]
    out += [Change("workload", "cleared", w, f"{w} is gone") for w in sorted(wb.keys() - wa.keys())]
    out += [
        Change("workload", "changed", w, f"{w}: {wb[w]} -> {wa[w]} ready")
        for w in sorted(wa.keys() & wb.keys())
        if wa[w] != wb[w]
    ]
    return out
