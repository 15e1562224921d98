"""Control plane: its components where the distribution profile says they live (static pods, own
namespaces, embedded, managed), judged by health checks, leader Leases or effects, instance by
instance, with what redundancy is left (API servers, etcd quorum, standby schedulers)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.controlplane.apiserver import assess_api_and_etcd
from kplanediag.analysis.controlplane.instances import Redundancy
from kplanediag.analysis.controlplane.leaders import assess_leader
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Status

LEADER_ELECTED = ("kube-scheduler", "kube-controller-manager", "cloud-controller-manager")


@dataclass(frozen=True)
class ControlPlane:
    mode: str
    mode_evidence: tuple[str, ...]
    components: tuple[Component, ...]
    findings: tuple[Finding, ...]
    api_failing: bool  # the API server or etcd fails: later failures are likely consequences
    redundancy: tuple[Redundancy, ...]


def assess_control_plane(
    idx: ClusterIndex, dist: Distribution, nodes: dict[str, NodeState], refusing_writes: bool = False
) -> ControlPlane:
    """``refusing_writes``: no Lease renewed cluster-wide while the API answers (crossplane/writes.py):
    etcd's checks pass and it refuses every write, so a healthy etcd is degraded (KPD-422)."""
    pods = dist.pods
    api = assess_api_and_etcd(idx, dist, pods, nodes, refusing_writes)
    components, findings, redundancy = list(api.components), list(api.findings), list(api.redundancy)
    for name in LEADER_ELECTED:
        comps, found, red = assess_leader(idx, dist, name, pods.get(name, []), nodes, api.failing)
        components += comps
        findings += found
        if red is not None:
            redundancy.append(red)
    if dist.mode != "self-hosted" and idx.snapshot.reachable:
        hidden = sorted({c.name for c in components if c.status is Status.UNKNOWN})
        if hidden:
            findings.append(
                finding(
                    "KPD-130",
                    "control plane",
                    f"{dist.mode} control plane: {', '.join(hidden)} not visible; reported unknown, not down",
                )
            )
    return ControlPlane(
        dist.mode, dist.mode_evidence, tuple(components), tuple(findings), api.failing, tuple(redundancy)
    )
