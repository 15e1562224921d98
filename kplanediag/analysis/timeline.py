"""The timeline behind the current state, oldest first, each entry dated from the object itself;
``since`` gives a finding the transition behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import Finding

MAX_ENTRIES = 300  # the newest ones are kept
NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


@dataclass(frozen=True)
class Entry:
    when: datetime
    kind: str  # "node" | "lease" | "leader" | "pod" | "event"
    subject: str
    text: str


def ago(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def _nodes(idx: ClusterIndex) -> list[Entry]:
    out = []
    for node in idx.nodes.values():
        for c in node.status.conditions:
            if c.type not in NODE_CONDITIONS or c.last_transition_time is None:
                continue
            normal = (c.type == "Ready") == (c.status == "True")
            if c.type != "Ready" and normal:
                continue  # a pressure that never happened is no event
            why = f" ({c.reason}: {c.message})" if c.reason or c.message else ""
            out.append(Entry(c.last_transition_time, "node", node.name, f"{c.type}={c.status}{why}"))
    return out


def _leases(idx: ClusterIndex) -> list[Entry]:
    out = []
    for (namespace, name), lease in idx.leases.items():
        spec = lease.spec
        holder = spec.holder_identity or "no holder"
        if namespace == "kube-system" and spec.acquire_time is not None and not name.startswith("apiserver-"):
            transitions = f", {spec.lease_transitions} transition(s) so far" if spec.lease_transitions else ""
            out.append(
                Entry(spec.acquire_time, "leader", f"{namespace}/{name}", f"{holder} became leader{transitions}")
            )
        if spec.renew_time is not None:
            what = "heartbeat" if namespace == "kube-node-lease" else "Lease"
            out.append(Entry(spec.renew_time, "lease", f"{namespace}/{name}", f"{what} last renewed by {holder}"))
    return out


def _pods(idx: ClusterIndex) -> list[Entry]:
    out = []
    for pod in idx.pods:
        for c in pod.status.conditions:
            if c.last_transition_time is None:
                continue
            if c.type == "Ready" and c.status == "False":
                why = f" ({c.reason})" if c.reason else ""
                out.append(Entry(c.last_transition_time, "pod", pod.key, f"turned not ready{why}"))
            if c.type == "PodScheduled" and c.status == "False":
                out.append(Entry(c.last_transition_time, "pod", pod.key, f"unschedulable: {c.message or c.reason}"))
    return out


def _events(idx: ClusterIndex) -> list[Entry]:
    out, seen = [], set()
    for ev in idx.snapshot.events:
        key = (ev.metadata.namespace, ev.metadata.name)
        when = ev.when
        if key in seen or when is None:
            continue
        seen.add(key)
        ref = ev.regarding
        about = f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}" if ref else ev.metadata.name
        times = f" (x{ev.count})" if ev.count > 1 else ""
        kind = f"{ev.type} " if ev.type and ev.type != "Normal" else ""
        out.append(Entry(when, "event", about, f"{kind}{ev.reason}{times}: {ev.note}".rstrip(": ")))
    return out


# Node condition transitions, heartbeat and leader Leases (last renewal, leader changes), pods turning not
# ready or unschedulable, and the Events read (Warnings everywhere, every event of default and kube-system;
# bounded by collect).
def timeline(idx: ClusterIndex) -> list[Entry]:
    entries = [*_nodes(idx), *_leases(idx), *_pods(idx), *_events(idx)]
    entries = [e for e in entries if e.when <= idx.now]
    entries.sort(key=lambda e: (e.when, e.kind, e.subject))
    return entries[-MAX_ENTRIES:]


def since(idx: ClusterIndex, f: Finding) -> datetime | None:
    """When the state a finding reports began, where an object says it."""
    if f.code in ("KPD-200", "KPD-201", "KPD-210", "KPD-211"):
        node = idx.nodes.get(f.subject)
        ready = next((c for c in node.status.conditions if c.type == "Ready"), None) if node else None
        return ready.last_transition_time if ready else None
    if f.code == "KPD-202":
        lease = idx.lease("kube-node-lease", f.subject)
        return lease.spec.renew_time if lease else None
    if f.code in ("KPD-120", "KPD-121") and "/" in f.subject:
        namespace, name = f.subject.split("/", 1)
        lease = idx.lease(namespace, name)
        return lease.spec.renew_time if lease else None
    if f.code in {"KPD-203", "KPD-204"}:
        node = idx.nodes.get(f.subject)
        times = [c.last_transition_time for c in node.status.conditions if c.status == "True"] if node else []
        return max((t for t in times if t is not None), default=None)
    return None
