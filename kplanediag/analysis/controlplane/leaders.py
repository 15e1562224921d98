"""kube-scheduler, kube-controller-manager and cloud-controller-manager: the leader Lease judged by
its own duration where one must exist, effects where none can be read, and each instance (leader or
standby) by its pod and node."""

from __future__ import annotations

from kplanediag.analysis.controlplane.effects import Effect, controller_effect, scheduler_effect
from kplanediag.analysis.controlplane.instances import Base, Redundancy, judge, leader_node, offline, redundancy
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution, leader_lease_expected
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.leases import lease_state
from kplanediag.analysis.model import Component, Finding, Severity, Status
from kplanediag.snapshot.kinds import Pod

EFFECT_CODES = {"kube-scheduler": "KPD-125", "kube-controller-manager": "KPD-126"}


def _effect(idx: ClusterIndex, name: str) -> Effect | None:
    if name == "kube-scheduler":
        return scheduler_effect(idx)
    if name == "kube-controller-manager":
        return controller_effect(idx)
    return None


def _by_effect(idx: ClusterIndex, name: str, why: str, findings: list[Finding], consequence: str) -> Base:
    """No leader Lease can be read: judge by what the component did (or left undone)."""
    effect = _effect(idx, name)
    if effect is None or effect.status is Status.UNKNOWN:
        seen = f"; {effect.evidence}" if effect else ""
        return Base(Status.UNKNOWN, f"{why}{seen}", (f"no leader Lease: {why}",), lift_on_ready=offline(idx))
    if effect.status is Status.HEALTHY:
        return Base(Status.HEALTHY, "", (f"no leader Lease: {why}", f"effect: {effect.evidence}"))
    findings.append(finding(EFFECT_CODES[name], name, f"{name} is not working: {effect.evidence} ({why}){consequence}"))
    return Base(Status.DOWN, "no effect of a working instance", (f"no leader Lease: {why}", effect.evidence))


def _by_lease(
    idx: ClusterIndex, name: str, dist: Distribution, findings: list[Finding], consequence: str
) -> tuple[Base, str | None]:
    """The Base status, and the leader's node (None: no leader known)."""
    lease = idx.lease("kube-system", name)
    if not idx.leases_seen("kube-system"):
        if offline(idx) and not idx.has("leases"):  # not in the input: effects and pods are what is left
            return _by_effect(idx, name, "Leases not in the input", findings, consequence), None
        return Base(Status.UNKNOWN, "leases not observed"), None
    if lease is not None:
        state = lease_state(lease, idx.lease_now("kube-system"))
        evidence = (f"leader Lease kube-system/{name}: {state.describe()}",)
        if state.released:
            msg = f"{name} has no leader: Lease released ({state.describe()}){consequence}"
            findings.append(finding("KPD-121", f"kube-system/{name}", msg, component=name))
            return Base(Status.DOWN, "no leader", evidence), ""
        if not state.fresh and idx.writes_stalled:
            return Base(Status.UNKNOWN, "Lease not renewable: writes failing cluster-wide", evidence), None
        if not state.fresh:
            msg = f"{name} leader is not renewing: {state.describe()}{consequence}"
            findings.append(finding("KPD-120", f"kube-system/{name}", msg, component=name))
            return Base(Status.DOWN, "leader Lease stale", evidence), leader_node(state.holder)
        return Base(Status.HEALTHY, "", evidence), leader_node(state.holder)
    expected, why = leader_lease_expected(dist, idx)
    if not expected or dist.mode != "self-hosted":
        return _by_effect(idx, name, why, findings, consequence), None
    effect = _effect(idx, name)
    if effect is not None and effect.status is Status.HEALTHY:
        msg = f"no leader Lease kube-system/{name} although {why}; but {effect.evidence}"
        findings.append(finding("KPD-122", f"kube-system/{name}", msg, component=name, severity=Severity.WARNING))
        return Base(Status.UNKNOWN, "no leader Lease", (why, f"effect: {effect.evidence}")), None
    msg = f"no leader Lease kube-system/{name} on a self-hosted control plane ({why}){consequence}"
    findings.append(finding("KPD-122", f"kube-system/{name}", msg, component=name))
    return Base(Status.DOWN, "no leader Lease", (why,)), None


def assess_leader(
    idx: ClusterIndex,
    dist: Distribution,
    name: str,
    pods: list[Pod],
    nodes: dict[str, NodeState],
    api_failing: bool,
) -> tuple[list[Component], list[Finding], Redundancy | None]:
    findings: list[Finding] = []
    consequence = " (the API server or etcd is failing: likely a consequence)" if api_failing else ""
    profile = dist.profile
    has_lease = idx.lease("kube-system", name) is not None
    if name == "cloud-controller-manager" and not pods and not has_lease and not profile.cloud_controller:
        return [], [], None  # no sign of a cloud-controller-manager: this cluster does not run one
    if dist.mode == "managed" and not has_lease:
        base, leader = Base(Status.UNKNOWN, profile.hidden(name)), None
    elif name == "cloud-controller-manager" and not has_lease:
        base = Base(Status.UNKNOWN, profile.hidden(name) or "no leader Lease", lift_on_ready=offline(idx))
        leader = None
    else:
        base, leader = _by_lease(idx, name, dist, findings, consequence)
    if not pods and base.status is Status.UNKNOWN and profile.hidden(name) and profile.hidden(name) not in base.detail:
        base = Base(base.status, f"{base.detail}; {profile.hidden(name)}", base.evidence)
    several = len(pods) > 1
    instances = judge(name, base, pods, nodes, leader if several else None)
    red = redundancy(name, instances)
    if several:
        for comp in instances:
            if comp.node in red.down_nodes and comp.detail.startswith(("pod ", "not observable")):
                role = comp.role or "instance"
                after = f"{red.healthy} of {red.total} instances healthy"
                if role == "leader" and base.status is Status.HEALTHY:
                    after = "a standby takes over when its Lease expires"
                elif red.healthy < 2:
                    after += ": no failover left"
                findings.append(
                    finding(
                        "KPD-124",
                        comp.node or name,
                        f"{name} {role} on {comp.node} is {'down' if comp.status is Status.DOWN else 'unknown'} "
                        f"({comp.detail}): {after}",
                        component=name,
                    )
                )
    else:
        for comp, pod in zip(instances, pods, strict=False):
            if comp.status is Status.DEGRADED:
                findings.append(
                    finding("KPD-123", pod.key, f"{name} pod {pod.key} on {comp.node} is {comp.detail}", component=name)
                )
    return instances, findings, red
