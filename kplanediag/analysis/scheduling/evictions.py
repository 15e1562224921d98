"""NoExecute taints evicting pods that have nowhere else to go (KPD-231)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.index import ClusterIndex, WorkloadKey
from kplanediag.analysis.knowledge.classes import TAINT_EVICTION
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Affected, BlastEntry, Finding, Impact, Impacted, Severity
from kplanediag.analysis.scheduling.drains import COMPONENT
from kplanediag.analysis.scheduling.messages import LIFECYCLE_TAINTS
from kplanediag.analysis.scheduling.placement import node_constraints, selects
from kplanediag.analysis.scheduling.tolerations import accepts, evicting_taints
from kplanediag.analysis.words import plural, running_elsewhere, some
from kplanediag.snapshot.kinds import Pod


@dataclass(frozen=True)
class Stranded:
    """A workload whose pods on the tainted node are evicted and that no other node accepts."""

    workload: WorkloadKey
    pods: tuple[str, ...]
    ready_elsewhere: int  # its ready pods not being evicted, on other nodes
    after: int | None  # seconds its tolerations allow before eviction; None: evicted at once

    def describe(self) -> str:
        kind, ns, name = self.workload
        left = "no ready replica left" if self.ready_elsewhere == 0 else f"{self.ready_elsewhere} ready elsewhere"
        when = "" if self.after is None else f", evicted {self.after} s after the taint"
        return f"{kind} {ns}/{name} ({plural(len(self.pods), 'pod')}, {left}{when})"


@dataclass(frozen=True)
class TaintEviction:
    node: str
    taints: tuple[str, ...]  # "key:NoExecute"
    stranded: tuple[Stranded, ...]

    @property
    def outage(self) -> bool:
        return any(s.ready_elsewhere == 0 for s in self.stranded)


# The node lifecycle controller's not-ready/unreachable taints are left out: the node failure is their cause.
# "Another node accepts it" means Ready, not cordoned, every NoSchedule/NoExecute taint tolerated,
# nodeSelector and required node affinity matched (anti-affinity and requests are not judged here: an upper
# bound). Pods already evicted (gone, or being deleted) are not counted: their replacements show as KPD-233.
def taint_evictions(idx: ClusterIndex) -> list[TaintEviction]:
    if not (idx.has("pods") and idx.has("nodes")):
        return []
    victims: dict[str, list[tuple[Pod, int | None, list[str]]]] = defaultdict(list)
    for name, node in sorted(idx.nodes.items()):
        if not any(t.effect == "NoExecute" and t.key not in LIFECYCLE_TAINTS for t in node.spec.taints):
            continue  # nothing on it evicts (the lifecycle taints are a node failure's)
        for pod in idx.pods_by_node.get(name, []):
            if idx.workload_of(pod)[0] in ("DaemonSet", "Node") or pod.metadata.deletion_timestamp is not None:
                continue  # a DaemonSet's pod belongs to its node; a mirror pod is the kubelet's; one being
                # deleted is evicted already (its replacement, if Pending, is KPD-233's)
            hits = evicting_taints(node, pod)
            if hits:
                after = None if any(s is None for _, s in hits) else min(s or 0 for _, s in hits)
                victims[name].append((pod, after, [f"{t.key}:{t.effect}" for t, _ in hits]))
    if not victims:
        return []
    leaving = {p.key for entries in victims.values() for p, _, _ in entries}
    ready = Counter(idx.workload_of(p) for p in idx.pods if o.pod_ready(p) and p.key not in leaving)
    homes: dict[tuple[object, ...], set[str]] = {}
    out = []
    for name, entries in victims.items():
        by_workload: dict[WorkloadKey, list[tuple[Pod, int | None]]] = defaultdict(list)
        for pod, after, _ in entries:
            tolerations = pod.spec.tolerations
            key = (tolerations, *node_constraints(pod))
            if key not in homes:
                homes[key] = {n for n, node in idx.nodes.items() if accepts(node, tolerations) and selects(node, pod)}
            if not homes[key] - {name}:
                by_workload[idx.workload_of(pod)].append((pod, after))
        stranded = tuple(
            Stranded(w, tuple(sorted(p.name for p, _ in pods)), ready[w], _latest(pods))
            for w, pods in sorted(by_workload.items(), key=lambda kv: (ready[kv[0]] > 0, kv[0]))
        )
        if stranded:
            taints = tuple(sorted({t for _, _, ts in entries for t in ts}))
            out.append(TaintEviction(name, taints, stranded))
    return out


def _latest(pods: list[tuple[Pod, int | None]]) -> int | None:
    times = [a for _, a in pods]
    return None if any(a is None for a in times) else max(a or 0 for a in times)


def eviction_findings(idx: ClusterIndex) -> list[tuple[TaintEviction, Finding]]:
    out = []
    for e in taint_evictions(idx):
        pods = sum(len(s.pods) for s in e.stranded)
        message = (
            f"NoExecute taint {', '.join(e.taints)} on node {e.node} evicts {plural(pods, 'pod')} that no other node "
            "accepts (none is Ready, uncordoned and tolerated by them): " + some([s.describe() for s in e.stranded], 4)
        )
        severity = Severity.CRITICAL if e.outage else Severity.WARNING
        out.append((e, finding("KPD-231", e.node, message, component=COMPONENT, severity=severity)))
    return out


def eviction_entry(idx: ClusterIndex, e: TaintEviction, cause: Finding) -> BlastEntry:
    pods = sum(len(s.pods) for s in e.stranded)
    hit = tuple(
        Impacted(
            kind, ns, name, Impact.OUTAGE if s.ready_elsewhere == 0 else Impact.DEGRADED, s.ready_elsewhere, len(s.pods)
        )
        for s in e.stranded
        for kind, ns, name in [s.workload]
    )
    down = [f"{w.kind} {w.namespace}/{w.name}" for w in hit if w.impact is Impact.OUTAGE]
    breaks = [
        f"{plural(pods, 'pod')} are evicted from {e.node} and their replacements stay Pending: "
        "no other node accepts them"
    ]
    if down:
        breaks.append(f"{plural(len(down), 'workload')} left with no ready replica, down: {some(down, 3)}")
    breaks.append(f"removing the taint ({', '.join(e.taints)}) or adding a node they may run on ends it")
    return BlastEntry(
        f"NoExecute taint evicting pods: {e.node}",
        cause.plane,
        "node",
        f"the NoExecute taint on {e.node} evicts {plural(pods, 'pod')} of {plural(len(hit), 'workload')} "
        "that have nowhere else to go",
        Affected(nodes=(e.node,), pods=pods, workloads=hit, namespaces=tuple(sorted({w.namespace for w in hit}))),
        tuple(breaks),
        (f"pods on {e.node} that tolerate the taint stay", running_elsewhere(idx, {e.node})),
        TAINT_EVICTION,
        cause.component,
        cause.severity,
        cause,
    )
