"""`what-if --all nodes|zones`: every node (or zone) lost alone, ranked by the damage."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime

from kplanediag.analysis import objects as o
from kplanediag.analysis.clock import judge_clock
from kplanediag.analysis.distribution import Distribution, recognise
from kplanediag.analysis.fit import Fit
from kplanediag.analysis.impact import is_component_pod, service_backends
from kplanediag.analysis.index import ClusterIndex, WorkloadKey
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report, RiskRow, WhatIf
from kplanediag.analysis.scheduling.drains import budget
from kplanediag.analysis.whatif.hypotheses import ZONE_LABEL, HypothesisError, zones
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot import Snapshot

REPLICATED = ("etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "cloud-controller-manager")


def _spread(idx: ClusterIndex) -> tuple[dict[WorkloadKey, set[str]], dict[str, set[WorkloadKey]], Counter[str]]:
    """Each workload's nodes with a ready pod; each node's workloads; each node's workload pods."""
    where: dict[WorkloadKey, set[str]] = defaultdict(set)
    on: dict[str, set[WorkloadKey]] = defaultdict(set)
    pods: Counter[str] = Counter()
    for pod in idx.pods:
        node = pod.spec.node_name
        if not node or is_component_pod(idx, pod):
            continue
        pods[node] += 1
        key = idx.workload_of(pod)
        on[node].add(key)
        if o.pod_ready(pod):
            where[key].add(node)
    return where, on, pods


def _control_plane(idx: ClusterIndex, lost: set[str], instances: dict[str, list[tuple[str, bool]]]) -> list[str]:
    out = []
    for name in REPLICATED:
        placed = instances.get(name, [])
        healthy = [n for n, ok in placed if ok]
        if not healthy:
            continue
        left = [n for n in healthy if n not in lost]
        if len(left) == len(healthy):
            continue
        if name == "etcd":
            quorum = len(placed) // 2 + 1
            if len(left) < quorum:
                out.append(f"etcd quorum lost ({len(left)} of {len(placed)} members left, quorum {quorum})")
            elif len(left) == quorum:
                out.append(f"etcd at exactly quorum ({len(left)} of {len(placed)}): one more failure stops writes")
        elif not left:
            out.append(f"no {name} left ({plural(len(healthy), 'instance')} there)")
        elif name == "kube-apiserver":
            out.append(f"{len(left)} of {len(placed)} API servers left")
    return out


def _rows(idx: ClusterIndex, dist: Distribution, groups: dict[str, list[str]]) -> list[RiskRow]:
    """One row per group of nodes (a node, or a zone's nodes): what its loss alone takes down."""
    zone_of = {n: z for z, ns in groups.items() for n in ns}
    where, on, pods = _spread(idx)
    backends: dict[str, set[str]] = {}
    for svc in idx.snapshot.services:
        ready = {node for _, node, ok in service_backends(idx, svc) if ok and node}
        if ready:
            backends[svc.key] = ready
    instances = {
        name: [(p.spec.node_name, o.pod_ready(p)) for p in dist.pods.get(name, []) if p.spec.node_name]
        for name in REPLICATED
    }
    blocking: dict[str, set[str]] = defaultdict(set)  # node -> budgets allowing nothing with a ready pod there
    for pdb in idx.snapshot.poddisruptionbudgets:
        if pdb.spec.selector is None or budget(idx, pdb).allowed > 0:
            continue
        for pod in idx.pods_by_namespace.get(pdb.namespace, []):
            if o.pod_ready(pod) and pod.spec.node_name and o.selector_matches(pdb.spec.selector, pod.labels):
                blocking[pod.spec.node_name].add(pdb.key)
    # a workload (Service) is down with a group when every node it is ready on is in that group
    only: dict[str, list[str]] = defaultdict(list)
    for (kind, ns, name), nodes in where.items():
        home = {zone_of.get(n, "") for n in nodes}
        if len(home) == 1 and "" not in home:
            only[home.pop()].append(f"{kind} {ns}/{name}")
    services_only: dict[str, list[str]] = defaultdict(list)
    for key, ready in backends.items():
        home = {zone_of.get(n, "") for n in ready}
        if len(home) == 1 and "" not in home:
            services_only[home.pop()].append(key)
    rows = []
    for target, members in groups.items():
        lost = set(members)
        touched = set().union(*(on.get(n, set()) for n in members)) if members else set()
        outage = sorted(only.get(target, []))
        rows.append(
            RiskRow(
                target=target,
                nodes=tuple(members),
                workloads_outage=tuple(outage),
                workloads_degraded=max(0, len(touched) - len(outage)),
                services_outage=tuple(sorted(services_only.get(target, []))),
                pods=sum(pods.get(n, 0) for n in members),
                control_plane=tuple(_control_plane(idx, lost, instances)),
                budgets_blocking=tuple(sorted(set().union(*(blocking.get(n, set()) for n in members)))),
            )
        )
    return rows


# Ranked by control-plane quorum or instances lost, workloads with every ready replica there (outage),
# Services with every ready endpoint there, pods. One pass over the pods and endpoints, not one analysis per
# node: the 5,000-node bench snapshot costs about a check (make bench).
def rank(
    snapshot: Snapshot, by: str, now: datetime | None = None, etcd_quota: int | None = None, fit: Fit | None = None
) -> Report:
    """The cluster's report with ``what_if.ranking``: every node (``by`` "nodes") or zone ("zones")."""
    now = judge_clock(snapshot, now).now
    before = analyze(snapshot, now, etcd_quota, fit=fit)
    idx = ClusterIndex.build(snapshot, now)
    dist = recognise(idx)
    if by == "zones":
        groups = zones(idx)
        if not groups:
            raise HypothesisError(f"no node has a zone label ({ZONE_LABEL}): there are no zones to rank")
    else:
        groups = {n: [n] for n in sorted(idx.nodes)}
    rows = _rows(idx, dist, groups)
    rows.sort(key=lambda r: (tuple(-x for x in r.score), r.target))
    single = [r for r in rows if r.control_plane or r.workloads_outage or r.services_outage]
    status = "critical" if single else "warning" if any(r.budgets_blocking for r in rows) else "healthy"
    worst = (
        f"{plural(len(single), by.removesuffix('s'))} whose loss alone causes an outage: "
        + some([r.target for r in single], 5)
        if single
        else f"no {by.removesuffix('s')} whose loss alone causes an outage"
    )
    summary = (
        f"WHAT-IF each {by.removesuffix('s')} fails, one at a time: {status.upper()} "
        f"(hypothetical; the cluster now: {before.status.upper()}): {worst}"
    )
    info = WhatIf(
        hypotheses=(f"--all {by}",),
        described=(f"each {by.removesuffix('s')} fails, one at a time",),
        baseline_status=before.status,
        baseline_summary=before.summary,
        ranking=tuple(rows),
        ranked=by,
    )
    return replace(before, findings=(), blast_radius=(), status=status, summary=summary, what_if=info)
