"""Blast radius: one entry per current failure, saying what breaks, what is degraded, what still works.

Control-plane failures stop management (scope "management"); node failures hit the pods, workloads
and Services on those nodes (scope "node"); CoreDNS down hits name resolution everywhere ("cluster").
"""

from __future__ import annotations

from dataclasses import replace

from kplanediag.analysis.blast.control import control_plane_entry, redundancy_entry
from kplanediag.analysis.blast.data import addon_entry, dns_entry, node_entry
from kplanediag.analysis.blast.text import plural, some
from kplanediag.analysis.controlplane.instances import Redundancy
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import BlastEntry, Component, Finding, Plane, Status


def blast_radius(
    idx: ClusterIndex,
    components: tuple[Component, ...],
    findings: tuple[Finding, ...],
    nodes: dict[str, NodeState],
    redundancy: tuple[Redundancy, ...] = (),
    dist: Distribution | None = None,
) -> tuple[BlastEntry, ...]:
    entries: list[BlastEntry] = []
    codes = {f.code for f in findings}
    cp_down: dict[str, str] = {}
    for comp in components:
        if comp.plane is Plane.CONTROL and comp.status is Status.DOWN:
            cp_down.setdefault(comp.name, comp.detail)
    # cluster-wide check failures (answered through a load balancer by an unknown instance): every
    # instance is degraded rather than down, the failure is the component's all the same
    for code, name, detail in (
        ("KPD-101", "kube-apiserver", "livez failing"),
        ("KPD-102", "kube-apiserver", "readyz failing"),
        ("KPD-110", "etcd", "etcd checks failing"),
    ):
        if code in codes and name not in cp_down:
            cp_down[name] = detail
    replicated = {r.component: r for r in redundancy}
    whole = {c.name for c in components if c.plane is Plane.CONTROL and c.status is Status.DOWN and not c.node}
    for name in ("kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "cloud-controller-manager"):
        red = replicated.get(name)
        failed_check = name == "etcd" and "KPD-110" in codes
        if (
            red is not None
            and red.partial
            and red.healthy > 0
            and name not in whole
            and "KPD-120" not in codes
            and not failed_check
        ):
            entries.append(redundancy_entry(idx, red, components))
            cp_down.pop(name, None)
        elif red is not None and red.quorum_lost and red.total > 1:
            entries.append(control_plane_entry(idx, name, f"quorum lost ({red.healthy}/{red.total} healthy)"))
            cp_down.pop(name, None)
        elif name in cp_down:
            entries.append(control_plane_entry(idx, name, cp_down[name] or "down"))
    failed = {n: s.reason for n, s in nodes.items() if s.failing}
    if failed:
        removed = {n: s.removed_by for n, s in nodes.items() if s.failing and s.removed_by}
        entry = node_entry(idx, failed, "kube-controller-manager" not in cp_down, removed)
        hosted = sorted({c.name for c in components if c.plane is Plane.CONTROL and c.node in failed})
        if dist is not None and dist.single_node:
            lost = f" ({', '.join(hosted)})" if hosted else ""
            extra = f"single-node cluster: the control plane{lost} runs on this node too and goes with it"
            entry = replace(entry, breaks=(*entry.breaks, extra))
        elif hosted:
            entry = replace(
                entry, breaks=(*entry.breaks, f"control-plane instances on it are lost: {', '.join(hosted)}")
            )
        entries.append(entry)
    for comp in components:
        if comp.name in ("cni", "kube-proxy") and comp.status is Status.DOWN:
            entries.append(addon_entry(idx, comp, set(failed)))
        if comp.name == "coredns" and comp.status is Status.DOWN:
            entries.append(dns_entry(idx))
    return tuple(entries)


__all__ = ["blast_radius", "plural", "some"]
