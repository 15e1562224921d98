"""``what-if``: each hypothesis made real in a copy of the snapshot (edits.py), the copy judged by the
same analysis as a real cluster, and what the hypothesis adds to today's blast radius kept, marked
hypothetical. A drain also gets its verdict and the order of evictions the budgets allow (drain.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import msgspec

from kplanediag.analysis import objects as o
from kplanediag.analysis.clock import judge_clock
from kplanediag.analysis.dataplane.addons import Daemon, is_kube_proxy, recognise_cni
from kplanediag.analysis.dataplane.dns import DNS_LABEL
from kplanediag.analysis.distribution import Distribution, recognise
from kplanediag.analysis.fit import Fit
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import BlastEntry, Finding
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report, WhatIf
from kplanediag.analysis.whatif import edits
from kplanediag.analysis.whatif.drain import Drain, assess_drain
from kplanediag.analysis.whatif.hypotheses import CONTROL, Hypothesis, parse, resolve
from kplanediag.analysis.whatif.rehome import rehome
from kplanediag.snapshot import Probe, Snapshot
from kplanediag.snapshot.model import HealthCheck

LEADER_ELECTED = ("kube-scheduler", "kube-controller-manager", "cloud-controller-manager")
STATUS = {0: "healthy", 1: "warning", 2: "critical"}


@dataclass
class Scenario:
    """The copy being edited, and what the edits found to say beside the analysis."""

    snapshot: Snapshot
    notes: list[str]
    unreachable: bool = False
    failed_nodes: set[str] = field(default_factory=set)
    failed_pods: set[str] = field(default_factory=set)


def _daemon_pods(idx: ClusterIndex, which: str) -> set[str]:
    out = set()
    for pod in idx.pods:
        kind, ns, owner = idx.workload_of(pod)
        if kind != "DaemonSet":
            continue
        ds = idx.daemonsets.get((ns, owner))
        labels = frozenset(pod.labels.items()) | (frozenset(ds.labels.items()) if ds else frozenset())
        daemon = Daemon(f"DaemonSet {ns}/{owner}", owner, labels, {})
        if (which == "kube-proxy" and is_kube_proxy(daemon)) or (which == "cni" and recognise_cni(daemon)):
            out.add(pod.key)
    return out


def _leader(idx: ClusterIndex, name: str) -> tuple[str, str] | None:
    lease = idx.lease("kube-system", name)
    if lease is None or not lease.spec.holder_identity:
        return None
    return lease.spec.holder_identity.split("_", 1)[0], str(lease.spec.lease_duration_seconds or 15)


def _etcd_checks_failing(snap: Snapshot) -> Snapshot:
    """Every etcd down: the API server's /readyz etcd check fails (where a /readyz was read)."""
    probe = snap.readyz
    if probe is None or probe.status is None:
        return snap
    checks = tuple(
        msgspec.structs.replace(c, ok=False, message="what-if: hypothetical") if c.name.startswith("etcd") else c
        for c in probe.checks
    )
    if not any(c.name.startswith("etcd") for c in checks):
        checks += (HealthCheck(name="etcd", ok=False, message="what-if: hypothetical"),)
    return msgspec.structs.replace(snap, readyz=msgspec.structs.replace(probe, status=500, checks=checks))


def _instance(s: Scenario, idx: ClusterIndex, dist: Distribution, h: Hypothesis, now: datetime) -> None:
    pods = [p for p in dist.pods.get(h.target, []) if h.kind == "component" or p.spec.node_name == h.node]
    s.snapshot = edits.fail_pods(s.snapshot, {p.key for p in pods})
    s.failed_pods |= {p.key for p in pods}
    if h.target not in LEADER_ELECTED:
        return
    leader = _leader(idx, h.target)
    others = [p for p in dist.pods.get(h.target, []) if p not in pods]
    if leader is None:
        return
    holder, duration = leader
    if h.kind == "component" or not others:
        s.snapshot = edits.stale_leases(s.snapshot, {("kube-system", h.target)}, now)
    elif holder == h.node:
        s.notes.append(
            f"{h.target}: the leader on {holder} fails; a standby on "
            f"{', '.join(sorted({p.spec.node_name for p in others}))} takes the Lease within {duration}s "
            "(its lease duration), then scheduling or reconciliation resumes"
        )
    else:
        s.notes.append(f"{h.target}: a standby on {h.node} fails; the leader on {holder} keeps working")


def _webhook_pods(idx: ClusterIndex, name: str) -> set[str]:
    snap = idx.snapshot
    configs = [c for c in snap.validating_webhooks if c.name == name]
    hooks = [w for c in configs for w in c.webhooks]
    hooks += [w for c in snap.mutating_webhooks if c.name == name for w in c.webhooks]
    services = {
        (w.client_config.service.namespace, w.client_config.service.name)
        for w in hooks
        if w.client_config.service is not None
    }
    keys = set()
    for ns, svc in services:
        for es in idx.slices_by_service.get((ns, svc), []):
            keys |= {f"{e.target_ref.namespace}/{e.target_ref.name}" for e in es.endpoints if e.target_ref}
    return keys


def apply(s: Scenario, idx: ClusterIndex, dist: Distribution, h: Hypothesis, nodes: list[str], now: datetime) -> None:
    if h.kind in ("node", "zone"):
        s.snapshot = edits.fail_nodes(s.snapshot, set(nodes), now)
        s.failed_nodes |= set(nodes)
    elif h.kind in ("cordon", "drain"):
        s.snapshot = edits.cordon(s.snapshot, h.target)
    elif h.kind == "webhook":
        keys = _webhook_pods(idx, h.target)
        s.snapshot = edits.fail_pods(s.snapshot, keys)
        if not keys:
            s.notes.append(f"webhook configuration {h.target}: no endpoint of its Service was read (a URL webhook?)")
    elif h.kind == "instance" or (h.kind == "component" and h.target in CONTROL and h.target != "kube-apiserver"):
        _instance(s, idx, dist, h, now)
        if h.target == "etcd" and h.kind == "component":
            s.snapshot = _etcd_checks_failing(s.snapshot)
    elif h.target in ("control-plane", "kube-apiserver"):
        s.unreachable = True
    elif h.target == "coredns":
        dns = {p.key for p in idx.pods if p.labels.get(DNS_LABEL[0]) == DNS_LABEL[1]}
        s.snapshot = edits.fail_pods(s.snapshot, dns)
    elif h.target in ("kube-proxy", "cni"):
        s.snapshot = edits.fail_pods(s.snapshot, _daemon_pods(idx, h.target))


def consequences(s: Scenario, dist: Distribution) -> None:
    """What the instances lost together mean for the control plane: etcd below its quorum fails every
    write (its /readyz check fails with it); no API server left, and the API is unreachable."""

    def alive(name: str) -> tuple[int, int]:
        pods = dist.pods.get(name, [])
        up = [p for p in pods if p.key not in s.failed_pods and p.spec.node_name not in s.failed_nodes]
        return len([p for p in up if o.pod_ready(p)]), len(pods)

    left, total = alive("etcd")
    quorum = total // 2 + 1
    if total and left < quorum:
        s.snapshot = _etcd_checks_failing(s.snapshot)
        s.notes.append(f"etcd: {left} of {total} members left, below its quorum of {quorum}: every write fails")
    left, total = alive("kube-apiserver")
    if total and not left:
        s.unreachable = True
        s.notes.append(f"kube-apiserver: none of its {total} instance(s) left: the API is unreachable")


def _unreachable(snap: Snapshot) -> Snapshot:
    error = "what-if: the control plane is down (hypothetical)"
    return msgspec.structs.replace(
        snap,
        reachable=False,
        livez=Probe(endpoint="/livez", status=None, error=error),
        readyz=None,
        version=None,
        resources=type(snap.resources)(),
        gaps=(),
    )


def _new(report: Report, before: Report) -> tuple[tuple[BlastEntry, ...], tuple[Finding, ...]]:
    seen = {b.failure for b in before.blast_radius}
    said = {(f.code, f.subject) for f in before.findings}
    entries = tuple(b for b in report.blast_radius if b.failure not in seen)
    findings = tuple(f for f in report.findings if (f.code, f.subject) not in said)
    return entries, findings


def what_if(
    snapshot: Snapshot,
    texts: list[str],
    now: datetime | None = None,
    etcd_quota: int | None = None,
    fit: Fit | None = None,
) -> Report:
    """The hypothetical report: what the hypotheses add to today's blast radius, their findings, the
    components as they would stand; ``what_if`` says it is hypothetical and how the cluster is now."""
    now = judge_clock(snapshot, now).now
    before = analyze(snapshot, now, etcd_quota, fit=fit)
    idx = ClusterIndex.build(snapshot, now)
    dist = recognise(idx)
    hypotheses = [parse(t) for t in texts]
    scenario = Scenario(snapshot, [])
    drains: list[Drain] = []
    for h in hypotheses:
        nodes = resolve(h, idx, dist)
        apply(scenario, idx, dist, h, nodes, now)
        if h.kind == "drain":
            drains.append(assess_drain(idx, h.target))
    consequences(scenario, dist)
    after = analyze(scenario.snapshot, now, etcd_quota, fit=fit)
    entries, findings = _new(after, before)
    if scenario.unreachable:  # the API gone too: its entry first, the nodes' and pods' losses after it
        down = analyze(_unreachable(scenario.snapshot), now, etcd_quota, (scenario.snapshot, "the cluster now"), fit)
        api_entries, api_findings = _new(down, before)
        entries = api_entries + tuple(e for e in entries if e.affected.nodes)
        findings = api_findings + tuple(f for f in findings if f.code.startswith("KPD-2"))
        after = down
    entries = tuple(d.entry for d in drains if d.entry is not None) + entries
    drained = {h.target for h in hypotheses if h.kind == "drain"}
    held = {key for d in drains for key in d.held}
    scenario.notes += rehome(idx, scenario.snapshot, scenario.failed_nodes, drained, held, not scenario.unreachable)
    worst = max((e.severity.rank for e in entries), default=0)
    worst = max(worst, *(d.severity.rank for d in drains)) if drains else worst
    status = STATUS[worst]
    said = "; ".join(h.describe() for h in hypotheses)
    first = entries[0].summary if entries else "nothing beyond it breaks"
    summary = f"WHAT-IF {said}: {status.upper()} (hypothetical; the cluster now: {before.status.upper()}): {first}"
    info = WhatIf(
        hypotheses=tuple(h.text for h in hypotheses),
        described=tuple(h.describe() for h in hypotheses),
        baseline_status=before.status,
        baseline_summary=before.summary,
        notes=tuple(scenario.notes),
        verdicts=tuple(d.verdict for d in drains),
        eviction_order=tuple(step for d in drains for step in d.order),
    )
    return replace(after, blast_radius=entries, findings=findings, status=status, summary=summary, what_if=info)
