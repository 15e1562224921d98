"""Blast radius: one entry per root cause (the linking pass, analysis/causes), saying what breaks, what
is degraded, what still works, with the effects the cause explains; worst first."""

from __future__ import annotations

from dataclasses import replace

from kplanediag.analysis.blast.control import control_plane_entry, redundancy_entry
from kplanediag.analysis.blast.data import addon_entry, dns_degraded_entry, dns_entry, node_entry
from kplanediag.analysis.blast.network import network_entry
from kplanediag.analysis.causes import Causes, Links
from kplanediag.analysis.causes.nodes import NodeCause
from kplanediag.analysis.controlplane.instances import Redundancy
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.lastknown import LastKnown
from kplanediag.analysis.model import BlastEntry, Component, Finding, Plane, Status
from kplanediag.analysis.words import plural, some

# Control-plane failures stop management (scope "management"); node failures hit the pods, workloads
# and Services on those nodes ("node"); CoreDNS down hits name resolution everywhere ("cluster").
SCOPE_ORDER = {"cluster": 0, "management": 1, "node": 2, "workloads": 3}
# The findings that name each class of failure, worst first: an entry's cause where no pass set one.
CLASS_CODES = {
    "control-plane-down": ("KPD-100", "KPD-101", "KPD-110", "KPD-102", "KPD-120", "KPD-121", "KPD-122", "KPD-125",
                           "KPD-126"),
    "quorum-lost": ("KPD-113",),
    "redundancy-lost": ("KPD-112", "KPD-104", "KPD-124"),
    "etcd-writes-failing": ("KPD-422",),
    "etcd-quota": ("KPD-421", "KPD-420"),
    "certificate-expiring": ("KPD-431", "KPD-430"),
    "apiserver-saturated": ("KPD-440", "KPD-441"),
    "webhook-rejecting-writes": ("KPD-400",),
    "webhook-not-enforced": ("KPD-401",),
    "aggregated-api-unavailable": ("KPD-410",),
    "component-down": ("KPD-300", "KPD-310", "KPD-211"),
    "dns-down": ("KPD-320",),
    "dns-degraded": ("KPD-321",),
}  # fmt: skip


def _cause(entry: BlastEntry, findings: tuple[Finding, ...], links: Links) -> BlastEntry:
    """The entry's root cause: set by the pass that made it, else the finding its class is named by."""
    if entry.cause is not None:
        return entry if entry.effects else replace(entry, effects=links.of(entry.cause))
    codes = CLASS_CODES.get(entry.failure_class, ())
    found = [
        f
        for code in codes
        for f in findings
        if f.code == code and (f.component in (entry.component, "*") or f.component == entry.component)
    ]
    subject = [
        f for f in found if f.subject in entry.failure or (entry.affected.nodes and f.subject in entry.affected.nodes)
    ]
    if not (subject or found):
        return entry
    root = (subject or found)[0]
    if root.key in links.caused_by:  # its own root stands over it
        key = links.root_of(root.key)
        root = next((f for f in findings if f.key == key), root)
    return replace(entry, cause=root, severity=root.severity, effects=entry.effects or links.of(root))


def order(entries: list[BlastEntry]) -> tuple[BlastEntry, ...]:
    """Worst first: severity, then scope (cluster, management, node, workloads), then size."""
    return tuple(
        sorted(entries, key=lambda b: (-b.severity.rank, SCOPE_ORDER.get(b.scope, 9), -len(b.affected.nodes),
                                      -b.affected.pods))
    )  # fmt: skip


def blast_radius(
    idx: ClusterIndex,
    components: tuple[Component, ...],
    findings: tuple[Finding, ...],
    nodes: dict[str, NodeState],
    redundancy: tuple[Redundancy, ...] = (),
    dist: Distribution | None = None,
    causes: Causes | None = None,
    known: LastKnown | None = None,
) -> list[BlastEntry]:
    """One entry per root cause (unordered; ``order`` sorts them). ``causes``: the linking pass's
    result; without it every failure is its own cause. ``known``: the last known state, when the API
    server is unreachable now."""
    causes = causes or Causes(Links())
    links = causes.links
    codes = {f.code for f in findings}
    failure = next((c for c in causes.nodes if c.kind == "failure"), None)
    explained_nodes = set(failure.nodes) if failure else set()
    cp_down = _control_plane_down(components, codes)
    replicated = {r.component: r for r in redundancy}
    entries = _control_plane_entries(idx, components, codes, replicated, cp_down, explained_nodes, known)
    if failure is not None:
        entries.append(_node_failure_entry(idx, failure, nodes, components, replicated, cp_down, dist, links))
    entries += _data_plane_entries(idx, components, causes, explained_nodes)
    dns = next((f for f in findings if f.code in ("KPD-320", "KPD-321")), None)
    if dns is not None and dns.key not in links.caused_by:  # else its cause's entry says it
        entries.append(dns_entry(idx) if dns.code == "KPD-320" else dns_degraded_entry(idx, dns))
    return attach(entries, findings, links)


def _control_plane_down(components: tuple[Component, ...], codes: set[str]) -> dict[str, str]:
    """The control-plane components down, by name, with the detail of the first instance down."""
    cp_down: dict[str, str] = {}
    for comp in components:
        if comp.plane is Plane.CONTROL and comp.status is Status.DOWN:
            cp_down.setdefault(comp.name, comp.detail)
    # cluster-wide check failures (answered through a load balancer by an unknown instance): every
    # instance is degraded rather than down, the failure is the component's all the same
    for code, name, detail in (
        ("KPD-101", "kube-apiserver", "livez failing"),
        ("KPD-102", "kube-apiserver", "readyz failing"),
        ("KPD-110", "etcd", "checks failing"),
    ):
        if code in codes and name not in cp_down:
            cp_down[name] = detail
    return cp_down


def _control_plane_entries(
    idx: ClusterIndex,
    components: tuple[Component, ...],
    codes: set[str],
    replicated: dict[str, Redundancy],
    cp_down: dict[str, str],
    explained_nodes: set[str],
    known: LastKnown | None,
) -> list[BlastEntry]:
    """One entry per control-plane component down, or with redundancy lost or quorum lost; a
    component whose entry is about redundancy or quorum leaves ``cp_down`` (changed in place)."""
    entries: list[BlastEntry] = []
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
            if not set(red.down_nodes) <= explained_nodes:  # else the node's entry says it
                entries.append(redundancy_entry(idx, red, components))
            cp_down.pop(name, None)
        elif red is not None and red.quorum_lost and red.total > 1:
            entries.append(control_plane_entry(idx, name, f"quorum lost ({red.healthy}/{red.total} healthy)"))
            cp_down.pop(name, None)
        elif name in cp_down:
            entries.append(control_plane_entry(idx, name, cp_down[name] or "down", known))
    return entries


def _node_failure_entry(
    idx: ClusterIndex,
    failure: NodeCause,
    nodes: dict[str, NodeState],
    components: tuple[Component, ...],
    replicated: dict[str, Redundancy],
    cp_down: dict[str, str],
    dist: Distribution | None,
    links: Links,
) -> BlastEntry:
    """The entry of the nodes that failed together, with what still works beside them."""
    explained_nodes = set(failure.nodes)
    failed = {n: nodes[n] for n in failure.nodes}
    removed = {n: s.removed_by for n, s in failed.items() if s.removed_by}
    entry = node_entry(idx, failed, "kube-controller-manager" not in cp_down, removed)
    still = [*entry.still_works]
    for red in replicated.values():
        if red.partial and red.down_nodes and set(red.down_nodes) <= explained_nodes:
            kept = redundancy_entry(idx, red, components).still_works[:-1]  # its last: what keeps running
            still.extend(x for x in kept if x not in still)
    if dist is not None and dist.single_node and failure.silent and idx.snapshot.reachable:
        still.append(
            "single-node cluster: the API server answered this check, so the control plane runs; "
            "what fails on the node now is not restarted while its kubelet is silent"
        )
    return replace(
        entry, still_works=tuple(still), cause=failure.root, severity=failure.root.severity,
        effects=links.of(failure.root),
    )  # fmt: skip


def _data_plane_entries(
    idx: ClusterIndex, components: tuple[Component, ...], causes: Causes, explained_nodes: set[str]
) -> list[BlastEntry]:
    """One entry per network cause, then one per add-on (kube-proxy, CNI) down on nodes no other entry explains."""
    entries: list[BlastEntry] = []
    network = {n for c in causes.nodes if c.kind == "network" for n in c.nodes}
    for cause in causes.nodes:
        if cause.kind == "network":
            entries.append(network_entry(idx, cause, causes.links.of(cause.root)))
    for name in ("kube-proxy", "cni"):  # one entry per add-on: one bad rollout or config downs it everywhere
        down = [
            c
            for c in components
            if c.name == name and c.status is Status.DOWN and c.node not in network and c.node not in explained_nodes
        ]
        if down:
            entries.append(addon_entry(idx, down))
    return entries


def attach(entries: list[BlastEntry], findings: tuple[Finding, ...], links: Links) -> list[BlastEntry]:
    return [_cause(e, findings, links) for e in entries]


__all__ = ["attach", "blast_radius", "order", "plural", "some"]
