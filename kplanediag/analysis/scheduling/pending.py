"""Pods Pending Unschedulable, grouped by what keeps them Pending (the scheduler's own message read
against the nodes' state), and KPD-233 for those pending past the policy's patience."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from kplanediag.analysis import objects as o
from kplanediag.analysis.index import ClusterIndex, WorkloadKey
from kplanediag.analysis.knowledge.classes import PODS_UNSCHEDULABLE
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.model import Affected, BlastEntry, Finding, Impact, Impacted
from kplanediag.analysis.scheduling.messages import CONTROL_PLANE_TAINTS, LIFECYCLE_TAINTS, Reason, Why, parse
from kplanediag.analysis.scheduling.tolerations import closing_taints, cordoned, node_ready
from kplanediag.analysis.words import plural, running_elsewhere, some
from kplanediag.snapshot.kinds import Node, Pod

COMPONENT = "scheduling"  # not a process: where pods can run (the codes table says "*")
PRECEDENCE = (
    Why.NOT_READY,
    Why.UNREACHABLE,
    Why.TAINT,
    Why.CAPACITY,
    Why.AFFINITY,
    Why.VOLUME,
    Why.OTHER,
    Why.CORDONED,
)
"""Ties between reasons counted on as many nodes go to the first: a failure before a configuration."""
LABELS = {
    Why.NOT_READY: "nodes not ready (the node lifecycle controller's not-ready taint)",
    Why.UNREACHABLE: "unreachable nodes (the node lifecycle controller's unreachable taint)",
    Why.CORDONED: "cordoned nodes",
    Why.CAPACITY: "capacity",
    Why.AFFINITY: "node selector or affinity that no node matches",
    Why.TAINT: "untolerated taints",
    Why.VOLUME: "volume binding",
    Why.OTHER: "other scheduling constraints",
}


@dataclass(frozen=True)
class PendingGroup:
    """Pods Pending Unschedulable for one dominant reason. ``nodes``: the nodes observed in the state
    the reason names (not ready, tainted, cordoned), () when the message does not say which (capacity)."""

    reason: Why
    detail: str  # the scheduler's words for the reason, e.g. "Insufficient pods"
    taint: str  # the taint key, for a taint reason that names one
    on_nodes: int | None  # how many nodes the scheduler counted it on (most common message), None: not said
    pods: tuple[str, ...]  # namespace/name
    workloads: tuple[WorkloadKey, ...]  # most pods first
    since: datetime | None  # when the oldest became Unschedulable (or was created)
    oldest_seconds: float | None
    nodes: tuple[str, ...]
    message: str  # the scheduler's most common message in the group, verbatim
    others: tuple[Reason, ...]  # the message's other reasons, with their node counts

    @property
    def subject(self) -> str:
        return f"{self.reason.value} {self.taint}" if self.taint else self.reason.value


def unschedulable(pod: Pod) -> str | None:
    """The scheduler's message for a pod Pending with PodScheduled=False reason Unschedulable."""
    if not o.pod_pending_unscheduled(pod):
        return None
    cond = o.condition(pod.status.conditions, "PodScheduled")
    if cond is None or cond.status != "False" or cond.reason != "Unschedulable":
        return None
    return cond.message


def _failing(idx: ClusterIndex, why: Why) -> list[Node]:
    """Nodes in the failed state a lifecycle reason names: its taint, else (clusters before taint-based
    conditions) the Ready condition: not True for not-ready, Unknown for unreachable."""
    out = []
    for node in idx.nodes.values():
        cond = o.condition(node.status.conditions, "Ready")
        tainted = any(LIFECYCLE_TAINTS.get(t.key) is why for t in node.spec.taints)
        unknown = cond is not None and cond.status == "Unknown"
        if tainted or (not node_ready(node) if why is Why.NOT_READY else unknown):
            out.append(node)
    return out


def _nodes_of(idx: ClusterIndex, reason: Reason) -> tuple[str, ...]:
    if reason.why in (Why.NOT_READY, Why.UNREACHABLE):
        failing = _failing(idx, reason.why)
        open_ = [n for n in failing if not cordoned(n)]
        return tuple(sorted(n.metadata.name for n in (open_ or failing)))
    if reason.why is Why.CORDONED:
        return tuple(sorted(n.metadata.name for n in idx.nodes.values() if cordoned(n)))
    if reason.taint:
        keys = set(reason.taint.split(", "))
        return tuple(sorted(n.metadata.name for n in idx.nodes.values() if any(t.key in keys for t in n.spec.taints)))
    return ()


def dominant(idx: ClusterIndex, reasons: tuple[Reason, ...]) -> Reason | None:
    """The reason that keeps the pod off the nodes otherwise open to it. Cordons and control-plane
    taints are deliberate and yield to any other reason; a not-ready or unreachable count only counts
    the failing nodes that are not cordoned too (1.8 counts a cordoned failing master under both)."""

    def effective(r: Reason) -> int | None:
        if r.nodes is None or r.why not in (Why.NOT_READY, Why.UNREACHABLE) or not idx.nodes:
            return r.nodes
        return min(r.nodes, sum(1 for n in _failing(idx, r.why) if not cordoned(n)))

    def deliberate(r: Reason) -> bool:
        return r.why is Why.CORDONED or (r.why is Why.TAINT and r.taint in CONTROL_PLANE_TAINTS)

    def rank(r: Reason, count: int | None) -> tuple[int, int]:
        return (count if count is not None else 0, -PRECEDENCE.index(r.why))

    candidates = [(r, effective(r)) for r in reasons if not deliberate(r)]
    candidates = [(r, n) for r, n in candidates if n is None or n > 0]
    if candidates:
        return max(candidates, key=lambda c: rank(*c))[0]
    return max(reasons, key=lambda r: rank(r, r.nodes), default=None)


def untolerated(idx: ClusterIndex, pod: Pod) -> str:
    """The keys of the taints that keep ``pod`` off the nodes, where the scheduler's message names none
    (Kubernetes >= 1.30 says "had untolerated taint(s)"): control-plane and lifecycle taints left out."""
    keys = {
        t.key
        for node in idx.nodes.values()
        for t in closing_taints(node, pod.spec.tolerations, lifecycle=False)
        if t.key not in CONTROL_PLANE_TAINTS
    }
    return ", ".join(sorted(keys))


def pending_pods(idx: ClusterIndex, now: datetime | None = None, min_age: float = 0.0) -> tuple[PendingGroup, ...]:
    """Pods Pending Unschedulable for at least ``min_age`` seconds, grouped by dominant reason, most
    pods first. Nothing when pods were not read."""
    if not idx.has("pods"):
        return ()
    when = now or idx.now
    verdicts: dict[str, tuple[Reason, tuple[Reason, ...]]] = {}
    members: dict[tuple[Why, str], list[tuple[Pod, str, datetime | None]]] = defaultdict(list)
    for pod in idx.pods:
        message = unschedulable(pod)
        if message is None:
            continue
        cond = o.condition(pod.status.conditions, "PodScheduled")
        since = (cond.last_transition_time if cond else None) or pod.metadata.creation_timestamp
        if since is not None and (when - since).total_seconds() < min_age:
            continue
        if message not in verdicts:
            reasons = parse(message).reasons
            top = dominant(idx, reasons) or Reason(Why.OTHER, None, message)
            verdicts[message] = (top, tuple(r for r in reasons if r is not top))
        top = verdicts[message][0]
        if top.why is Why.TAINT and not top.taint:  # "had untolerated taint(s)": the key from the nodes
            top = replace(top, taint=untolerated(idx, pod))
        members[(top.why, top.taint)].append((pod, message, since))
    groups = [_group(idx, when, entries, verdicts, taint) for (_, taint), entries in members.items()]
    return tuple(sorted(groups, key=lambda g: (-len(g.pods), g.subject)))


def _group(
    idx: ClusterIndex,
    when: datetime,
    entries: list[tuple[Pod, str, datetime | None]],
    verdicts: dict[str, tuple[Reason, tuple[Reason, ...]]],
    taint: str,
) -> PendingGroup:
    message = Counter(m for _, m, _ in entries).most_common(1)[0][0]
    top, others = verdicts[message]
    top = replace(top, taint=taint)  # a key told by the nodes where the message names none
    details = sorted({verdicts[m][0].text for _, m, _ in entries})
    workloads = Counter(idx.workload_of(p) for p, _, _ in entries)
    times = [t for _, _, t in entries if t is not None]
    oldest = min(times, default=None)
    return PendingGroup(
        reason=top.why,
        detail="; ".join(details),
        taint=top.taint,
        on_nodes=top.nodes,
        pods=tuple(sorted(p.key for p, _, _ in entries)),
        workloads=tuple(sorted(workloads, key=lambda w: (-workloads[w], w))),
        since=oldest,
        oldest_seconds=max(0.0, (when - oldest).total_seconds()) if oldest else None,
        nodes=_nodes_of(idx, top),
        message=message,
        others=others,
    )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "an unknown time"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h" if seconds < 172800 else f"{seconds / 86400:.0f} days"


def workload_name(key: WorkloadKey) -> str:
    kind, ns, name = key
    return f"{kind} {ns}/{name}"


def _on(r: Reason) -> str:
    return f"{r.text} on {plural(r.nodes, 'node')}" if r.nodes is not None else r.text


def describe(g: PendingGroup) -> str:
    label = LABELS[g.reason] + (f" ({g.taint})" if g.taint and g.reason is Why.TAINT else "")
    why = f"{g.detail} on {plural(g.on_nodes, 'node')}" if g.on_nodes is not None else g.detail
    also = f"; also reported: {', '.join(_on(r) for r in g.others)}" if g.others else ""
    names = some([workload_name(w) for w in g.workloads], 3)
    return (
        f"{plural(len(g.pods), 'pod')} of {plural(len(g.workloads), 'workload')} ({names}) Pending Unschedulable "
        f"for up to {duration(g.oldest_seconds)}: {label} keeps them Pending ({why}{also}). "
        f'The scheduler says: "{g.message}"'
    )


def pending_findings(idx: ClusterIndex, now: datetime | None = None) -> list[tuple[PendingGroup, Finding]]:
    """KPD-233 for each dominant reason among pods pending past the policy's patience."""
    groups = pending_pods(idx, now, policy("unschedulable_patience"))
    return [
        (g, replace(finding("KPD-233", g.subject, describe(g), component=COMPONENT), since=g.since)) for g in groups
    ]


def pending_entry(idx: ClusterIndex, g: PendingGroup, cause: Finding) -> BlastEntry:
    ready: Counter[WorkloadKey] = Counter(idx.workload_of(p) for p in idx.pods if o.pod_ready(p))
    keys = set(g.pods)
    waiting = Counter(idx.workload_of(p) for p in idx.pods if p.key in keys)
    hit = [
        Impacted(kind, ns, name, Impact.OUTAGE if ready[w] == 0 else Impact.DEGRADED, ready[w], waiting[w])
        for w in g.workloads
        for kind, ns, name in [w]
    ]
    hit.sort(key=lambda w: (w.impact is not Impact.OUTAGE, w.namespace, w.kind, w.name))
    down = sum(1 for w in hit if w.impact is Impact.OUTAGE)
    breaks = [
        f"{plural(len(hit), 'workload')} cannot reach their desired replicas: {plural(len(g.pods), 'pod')} do not start"
        + (f" ({down} with no ready pod at all)" if down else ""),
        f"new pods blocked the same way ({LABELS[g.reason]}) wait too: rollouts, scale-ups and replacements",
    ]
    return BlastEntry(
        f"pods cannot be scheduled: {g.subject}",
        cause.plane,
        "workloads",
        cause.message.split(". The scheduler says", 1)[0],
        Affected(
            nodes=g.nodes,
            pods=len(g.pods),
            workloads=tuple(hit),
            namespaces=tuple(sorted({p.split("/", 1)[0] for p in g.pods})),
        ),
        tuple(breaks),
        (running_elsewhere(idx, set()) + " (scheduling concerns new pods only)",),
        PODS_UNSCHEDULABLE,
        cause.component,
        cause.severity,
        cause,
    )
