"""Add-ons crash-looping or restarting heavily (KPD-330): their pods in kube-system and the add-on
namespaces, one finding and one blast-radius entry per workload, with what its loss breaks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.distribution import Distribution, matches
from kplanediag.analysis.impact import is_component_pod
from kplanediag.analysis.index import ClusterIndex, WorkloadKey
from kplanediag.analysis.knowledge.addons import NAME_LABELS, AddonKind, addon_kind, addon_namespace
from kplanediag.analysis.knowledge.classes import ADDON_FAILING
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.knowledge.profiles import KUBE_DNS
from kplanediag.analysis.model import (
    Affected,
    BlastEntry,
    Component,
    Finding,
    Impact,
    Impacted,
    Plane,
    Severity,
    Status,
)
from kplanediag.analysis.timeline import ago
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot.kinds import Pod

COREDNS = ("Deployment", "kube-system", "coredns")  # judged by dataplane/dns.py, labelled or not


@dataclass(frozen=True)
class Trouble:
    """One add-on pod that crash-loops or restarts heavily."""

    pod: Pod
    restarts: int  # of all its containers
    crash_looping: bool
    age: float | None  # seconds since its creation; None: not known

    def describe(self) -> str:
        state = "CrashLoopBackOff" if self.crash_looping else o.pod_state(self.pod)
        since = f" in {ago(self.age).removesuffix(' ago')}" if self.age else ""
        return f"pod {self.pod.key} ({state}, {plural(self.restarts, 'restart')}{since})"


@dataclass(frozen=True)
class FailingAddon:
    """An add-on workload with troubled pods; ``ready``: its pods ready and not crash-looping."""

    workload: WorkloadKey
    kind: AddonKind
    troubles: tuple[Trouble, ...]
    pods: int
    ready: int

    @property
    def name(self) -> str:
        return self.workload[2]

    @property
    def label(self) -> str:
        kind, ns, name = self.workload
        return f"{kind} {ns}/{name}"

    @property
    def restarts(self) -> int:
        return sum(t.restarts for t in self.troubles)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(sorted({t.pod.spec.node_name for t in self.troubles if t.pod.spec.node_name}))

    def state(self) -> str:
        looping = sum(1 for t in self.troubles if t.crash_looping)
        heavy = len(self.troubles) - looping
        if looping and heavy:
            return f"{looping} crash-looping and {heavy} restarting heavily of {plural(self.pods, 'pod')}"
        word = "crash-looping" if looping else "restarting heavily"
        return f"{len(self.troubles)} of {plural(self.pods, 'pod')} {word}"


def restart_count(pod: Pod) -> int:
    return sum(cs.restart_count for cs in pod.status.container_statuses)


def trouble(idx: ClusterIndex, pod: Pod) -> Trouble | None:
    """The pod's trouble, if it crash-loops now or restarted more and faster than the policy allows."""
    count = restart_count(pod)
    age = idx.seconds_since(pod.metadata.creation_timestamp)
    age = age if age is not None and age > 0 else None  # skewed clocks: not known rather than negative
    if o.crash_looping(pod):
        return Trouble(pod, count, True, age)
    if count < policy("addon_restarts"):
        return None
    if age is not None and count / (age / 3600) < policy("addon_restarts_per_hour"):
        return None  # spread over a long life: node reboots and upgrades, not the add-on's own failures
    return Trouble(pod, count, False, age)


def reported(idx: ClusterIndex, pod: Pod) -> bool:
    """Whether the pod's status is current: a node whose kubelet stopped posting (Ready Unknown) left
    its pods' last statuses behind, and its failure is judged by the node rules."""
    node = idx.nodes.get(pod.spec.node_name)
    ready = o.condition(node.status.conditions, "Ready") if node else None
    return ready is None or ready.status != "Unknown"


def is_addon_pod(idx: ClusterIndex, dist: Distribution, pod: Pod) -> bool:
    """A pod of an add-on namespace that no other rule judges: not the profile's control plane,
    kube-proxy, the CNI agents or cluster DNS."""
    if pod.metadata.deletion_timestamp is not None or is_component_pod(idx, pod):
        return False
    if any(matches(rule, pod) for rule in dist.profile.dns_pods or KUBE_DNS) or idx.workload_of(pod) == COREDNS:
        return False
    return not any(pod is p for pods in dist.pods.values() for p in pods)


def failing_addons(idx: ClusterIndex, dist: Distribution) -> list[FailingAddon]:
    """Add-on workloads with a pod crash-looping or restarting heavily, ordered by namespace and name."""
    if not idx.has("pods"):
        return []  # a gap, recorded by the report
    pods: dict[WorkloadKey, list[Pod]] = defaultdict(list)
    for namespace, in_ns in idx.pods_by_namespace.items():
        if addon_namespace(namespace, dist.profile):
            for pod in in_ns:
                if is_addon_pod(idx, dist, pod):
                    pods[idx.workload_of(pod)].append(pod)
    out = []
    for key, members in sorted(pods.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        troubles = [t for p in members if reported(idx, p) and (t := trouble(idx, p))]
        if not troubles:
            continue
        names = [key[2], *(p.labels.get(label, "") for p in members for label in NAME_LABELS)]
        ready = sum(1 for p in members if o.pod_ready(p) and not o.crash_looping(p))
        out.append(FailingAddon(key, addon_kind(names), tuple(troubles), len(members), ready))
    return out


def what_breaks(addon: FailingAddon) -> str:
    """What its loss breaks, as far as it is lost: wholly, on some nodes, partly, or intermittently."""
    kind = addon.kind
    if addon.workload[0] == "DaemonSet" and kind.per_node and addon.nodes:
        return kind.per_node.format(nodes=some(list(addon.nodes)))
    if all(o.pod_ready(t.pod) and not t.crash_looping for t in addon.troubles):
        return f"intermittent: each time it restarts, {kind.breaks}"
    if addon.ready:
        return f"degraded: {addon.ready} of {plural(addon.pods, 'pod')} still ready; if they fail too, {kind.breaks}"
    return kind.breaks


def addon_finding(addon: FailingAddon) -> Finding:
    message = (
        f"add-on {addon.label}: {addon.state()}, {plural(addon.restarts, 'restart')}: "
        f"{what_breaks(addon)}; {addon.kind.keeps}"
    )
    ns, name = addon.workload[1], addon.workload[2]
    return finding("KPD-330", f"{ns}/{name}", message, component=name)


def addon_entry(addon: FailingAddon, cause: Finding) -> BlastEntry:
    kind, ns, name = addon.workload
    down = sum(1 for t in addon.troubles if not o.pod_ready(t.pod) or t.crash_looping)
    impact = Impact.OUTAGE if addon.ready == 0 else Impact.DEGRADED
    per_node = kind == "DaemonSet"
    affected = Affected(
        nodes=addon.nodes,
        pods=len(addon.troubles),
        workloads=(Impacted(kind, ns, name, impact, addon.ready, down),),
        namespaces=(ns,),
    )
    still = [addon.kind.keeps]
    if per_node and addon.ready:
        still.append(f"{name} on the other nodes ({addon.ready} of {plural(addon.pods, 'pod')} ready)")
    still.append("the control plane, the other add-ons and the workloads that do not use it keep working")
    return BlastEntry(
        f"add-on {'crash-looping' if down else 'restarting heavily'}: {addon.label}",
        Plane.DATA,
        "node" if per_node else "cluster",
        f"{name} {addon.state()}, {plural(addon.restarts, 'restart')}: {what_breaks(addon)}",
        affected,
        (what_breaks(addon),),
        tuple(still),
        ADDON_FAILING,
        name,
        severity=Severity.WARNING,
        cause=cause,
        effects=tuple(t.describe() for t in addon.troubles),
    )


def assess_addon_restarts(idx: ClusterIndex, dist: Distribution) -> tuple[list[Finding], list[BlastEntry]]:
    """KPD-330 and its blast-radius entry for every add-on workload crash-looping or restarting heavily."""
    findings: list[Finding] = []
    entries: list[BlastEntry] = []
    for addon in failing_addons(idx, dist):
        cause = addon_finding(addon)
        findings.append(cause)
        entries.append(addon_entry(addon, cause))
    return findings, entries


def addon_components(idx: ClusterIndex, dist: Distribution) -> list[Component]:
    """The failing add-ons as data-plane components (down: no pod ready; degraded: some), for a report
    whose blast-radius entries must name a component it lists."""
    return [
        Component(
            a.name,
            Plane.DATA,
            Status.DOWN if a.ready == 0 else Status.DEGRADED,
            None,
            o.image_tag(a.troubles[0].pod),
            (a.label, *(t.describe() for t in a.troubles)),
            a.state(),
        )
        for a in failing_addons(idx, dist)
    ]
