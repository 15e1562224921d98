"""A drain before it happens: what `kubectl drain NODE` would evict (not DaemonSet or static pods),
the PodDisruptionBudgets that would refuse it, which workloads would have no ready replica while
their replacements start elsewhere, and the order of evictions the budgets allow."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.impact import service_impacts, workload_impacts
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import DRAIN
from kplanediag.analysis.knowledge.codes import CODES
from kplanediag.analysis.model import Affected, BlastEntry, Impact, Impacted, Plane, Severity
from kplanediag.analysis.scheduling.drains import Budget, budget, drained_pods
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot.kinds import Pod


@dataclass(frozen=True)
class Drain:
    node: str
    verdict: str  # "safe now" | "blocked by ..." | "safe, but causes an outage of ..."
    order: tuple[str, ...]  # the evictions in the order the budgets allow them
    severity: Severity
    entry: BlastEntry | None
    held: frozenset[str] = frozenset()  # the pods budgets allowing no disruption keep on the node


def _budgets(idx: ClusterIndex, pods: list[Pod]) -> dict[str, tuple[Budget, list[str]]]:
    """Each budget covering a pod the drain evicts, with those pods (ready ones: a budget counts them)."""
    out: dict[str, tuple[Budget, list[str]]] = {}
    for pod in pods:
        for pdb in idx.snapshot.poddisruptionbudgets:
            if pdb.namespace != pod.namespace or pdb.spec.selector is None:
                continue
            if o.selector_matches(pdb.spec.selector, pod.labels) and o.pod_ready(pod):
                if pdb.key not in out:
                    out[pdb.key] = (budget(idx, pdb), [])
                out[pdb.key][1].append(pod.key)
    return out


def _order(pods: list[Pod], budgets: dict[str, tuple[Budget, list[str]]]) -> tuple[str, ...]:
    held = {key for _, keys in budgets.values() for key in keys}
    free = [p.key for p in pods if p.key not in held]
    steps = [f"now: {some(free, 8)} (no budget covers them)"] if free else []
    for key, (b, keys) in sorted(budgets.items()):
        now, later = keys[: b.allowed], keys[b.allowed :]
        if now:
            steps.append(f"now: {some(now, 8)} ({b.describe()} allows {b.allowed})")
        if later and b.allowed == 0:
            steps.append(f"never, until {key} allows a disruption: {some(later, 8)}")
        elif later:
            steps.append(f"then one at a time, each once its replacement is Ready: {some(later, 8)} ({key})")
    return tuple(steps)


def _verdict(
    blocking: dict[str, tuple[Budget, list[str]]], outage: list[Impacted], bare: list[str]
) -> tuple[str, Severity]:
    """The drain's verdict (safe now, blocked, causes an outage) and its severity."""
    outage_text = some([f"{w.kind} {w.namespace}/{w.name}" for w in outage], 6)
    if blocking:
        held = "; ".join(f"{b.describe()} holds {some(keys, 4)}" for b, keys in blocking.values())
        verdict = f"blocked: {held}; the drain retries its evictions forever"
        severity = CODES["KPD-230"].severity
        if outage:  # what it would also do, were the budget relaxed or the drain forced
            verdict += f"; evicting the rest causes an outage of {outage_text} until replacements are Ready"
            severity = Severity.CRITICAL
    elif outage:
        verdict = f"safe, but causes an outage of {outage_text} until their replacements are Ready on other nodes"
        severity = Severity.CRITICAL
    else:
        verdict = "safe now: every evicted pod's workload keeps ready replicas elsewhere"
        severity = Severity.INFO
    if bare:
        verdict += (
            f"; {plural(len(bare), 'pod')} without a controller deleted for good ({some(bare, 4)}; drain needs --force)"
        )
        severity = max(severity, Severity.WARNING, key=lambda s: s.rank)
    return verdict, severity


def assess_drain(idx: ClusterIndex, node: str) -> Drain:
    pods = drained_pods(idx, node)
    budgets = _budgets(idx, pods)
    blocking = {k: v for k, v in budgets.items() if v[0].allowed == 0}
    failed = {node}
    workloads = workload_impacts(idx, pods, failed)
    outage = [w for w in workloads if w.impact is Impact.OUTAGE]
    bare = [p.key for p in pods if idx.workload_of(p)[0] == "Pod"]
    services = tuple(s for s in service_impacts(idx, failed))
    verdict, severity = _verdict(blocking, outage, bare)
    if not pods:
        return Drain(
            node, "safe now: nothing to evict (only DaemonSet or static pods run there)", (), Severity.INFO, None
        )
    degraded = [w for w in workloads if w.impact is Impact.DEGRADED]
    breaks = [f"{plural(len(pods), 'pod')} evicted from {node}; the node is cordoned"]
    if outage:
        breaks.append("outage while replacements start (no ready replica elsewhere): "
                      + some([f"{w.kind} {w.namespace}/{w.name}" for w in outage], 10))  # fmt: skip
    if degraded:
        breaks.append(
            "degraded (replicas left elsewhere): " + some([f"{w.kind} {w.namespace}/{w.name}" for w in degraded], 10)
        )
    svc_out = [s for s in services if s.impact is Impact.OUTAGE]
    if svc_out:
        breaks.append(
            "Services without a ready endpoint meanwhile: " + some([f"{s.namespace}/{s.name}" for s in svc_out], 10)
        )
    if blocking:
        breaks.append(f"blocked: {', '.join(blocking)} allow(s) no disruption")
    entry = BlastEntry(
        f"drain of {node} (what-if)",
        Plane.DATA,
        "node",
        f"drain of {node}: {verdict}",
        Affected(
            nodes=(node,),
            pods=len(pods),
            workloads=workloads,
            services=services,
            namespaces=tuple(sorted({p.namespace for p in pods})),
            disruption_budgets=tuple(sorted(budgets)),
        ),
        tuple(breaks),
        ("pods on the other nodes keep running; DaemonSet and static pods on " + node + " stay",),
        DRAIN,
        "eviction",
        severity,
    )
    return Drain(
        node, verdict, _order(pods, budgets), severity, entry, frozenset(k for _, ks in blocking.values() for k in ks)
    )
