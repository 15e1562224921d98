"""Node causes and what they explain: a silent kubelet, or a runtime or network plugin not ready,
becomes the root of the findings it explains."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.causes.model import Links
from kplanediag.analysis.causes.pending import PendingPods
from kplanediag.analysis.controlplane.instances import Redundancy
from kplanediag.analysis.crossplane import CrossPlane
from kplanediag.analysis.dataplane.dns import DNS_LABEL
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.model import Component, Finding, Plane, Status
from kplanediag.analysis.words import plural

# The finding of a node that is the root of what happens there, by kind of node failure, worst first.
ROOT_CODES = {"failure": ("KPD-201", "KPD-202", "KPD-210", "KPD-200"), "network": ("KPD-211",)}
INSTANCE_CODES = ("KPD-103", "KPD-104", "KPD-111", "KPD-123", "KPD-124")  # one control-plane instance
ADDON_CODES = ("KPD-300", "KPD-310")  # kube-proxy or the CNI pod on one node
DNS_CODES = ("KPD-320", "KPD-321")
QUORUM_CODES = ("KPD-112", "KPD-113")


@dataclass(frozen=True)
class NodeCause:
    """Nodes failing the same way, as one cause: ``kind`` "failure" (the kubelet is silent or reports
    the node NotReady) or "network" (the network plugin is not ready: the kubelet and runtime work)."""

    kind: str
    nodes: tuple[str, ...]
    root: Finding  # the first node's root finding: what the cause is named by
    findings: tuple[Finding, ...]  # each node's root finding
    pending: PendingPods  # pods the not-ready taint of these nodes keeps Pending

    @property
    def silent(self) -> tuple[str, ...]:
        return self.nodes if self.kind == "failure" else ()


def _root(findings: list[Finding], codes: tuple[str, ...]) -> Finding | None:
    for code in codes:
        for f in findings:
            if f.code == code:
                return f
    return None


def _pod_nodes(idx: ClusterIndex) -> dict[str, str]:
    return {p.key: p.spec.node_name for p in idx.pods if p.spec.node_name}


def _instances(cause: NodeCause, components: tuple[Component, ...], links: Links) -> None:
    for node in cause.nodes:
        hit = [c for c in components if c.node == node and c.status in (Status.UNKNOWN, Status.DOWN)]
        control = sorted({c.name for c in hit if c.plane is Plane.CONTROL})
        data = sorted({c.name for c in hit if c.plane is Plane.DATA and c.name not in ("kubelet", "container-runtime")})
        if control:
            word = "not observable (its kubelet is silent)" if node in cause.silent else "down or not ready"
            links.add(cause.root, f"control-plane instances on {node} {word}: {', '.join(control)}")
        if data and node in cause.silent:
            links.add(cause.root, f"per-node add-ons on {node} not observable: {', '.join(data)}")


def _explain(
    idx: ClusterIndex,
    cause: NodeCause,
    findings: tuple[Finding, ...],
    redundancy: tuple[Redundancy, ...],
    links: Links,
) -> None:
    nodes = set(cause.nodes)
    pods_at = _pod_nodes(idx) if any(f.code in INSTANCE_CODES for f in findings) else {}
    for f in findings:
        if f.code in INSTANCE_CODES and (f.subject in nodes or pods_at.get(f.subject) in nodes):
            links.add(cause.root, "", f)
        elif f.code in ADDON_CODES and f.subject in nodes and (cause.kind == "failure" or f.code == "KPD-310"):
            links.add(cause.root, f"{f.component} pod on {f.subject} not ready: {f.message.split(' is ', 1)[-1]}", f)
    left = []
    for red in redundancy:
        if red.down_nodes and set(red.down_nodes) <= nodes and red.total > 1:
            quorum = f" (quorum {red.quorum})" if red.quorum is not None else ""
            left.append(f"{red.component} {red.healthy}/{red.total}{quorum}")
            if red.component == "etcd":
                quorum_finding = next((f for f in findings if f.code in QUORUM_CODES and f.component == "etcd"), None)
                links.add(cause.root, "", quorum_finding)
    if left:
        links.add(cause.root, f"instances left running: {', '.join(left)}")


def _together(idx: ClusterIndex, cause: NodeCause, nodes: dict[str, NodeState], links: Links) -> None:
    """Several kubelets that went silent together point to a cause they share, outside the machines."""
    silent = [nodes[n] for n in cause.nodes if nodes[n].silent]
    times = sorted(s.since for s in silent if s.since is not None)
    if len(times) < 2 or (times[-1] - times[0]).total_seconds() > policy("common_cause_window"):
        return
    spread = (times[-1] - times[0]).total_seconds()
    every = "every node" if len(silent) == len(idx.nodes) else f"{plural(len(silent), 'node')}"
    links.add(
        cause.root,
        f"{every} went silent within {spread:.0f}s of each other: a cause they share is likelier than "
        f"{len(silent)} machine failures (their network path to the API server, its load balancer, the "
        "kubelets' credentials, a rollout to them)",
    )


def _dns(idx: ClusterIndex, cause: NodeCause, findings: tuple[Finding, ...], links: Links) -> None:
    dns = next((f for f in findings if f.code in DNS_CODES), None)
    if dns is None:
        return
    nodes = set(cause.nodes)
    label = {DNS_LABEL}
    replicas = [p for p in idx.pods_by_namespace.get("kube-system", []) if set(p.labels.items()) & label]
    here = [p for p in replicas if p.spec.node_name in nodes]
    held = [p for p in cause.pending.pods if p in replicas]
    elsewhere_down = [
        p
        for p in replicas
        if p not in here and p not in held and not o.pod_ready(p) and p.metadata.deletion_timestamp is None
    ]
    if (here or held) and not elsewhere_down:
        parts = []
        if here:
            parts.append(f"{plural(len(here), 'replica')} on {', '.join(sorted({p.spec.node_name for p in here}))}")
        if held:
            parts.append(f"{plural(len(held), 'replica')} Pending on the not-ready taint")
        down = dns.code == "KPD-320"
        links.add(cause.root, f"CoreDNS {'down' if down else 'degraded'}: {' and '.join(parts)}", dns)


# A silent kubelet hides what runs on its node (control-plane instances, per-node add-ons) and takes its
# replicas away; a node NotReady for its runtime or network plugin keeps its kubelet (what it reports is
# current) but takes the not-ready taint, which keeps new pods Pending.
def link_nodes(
    idx: ClusterIndex,
    components: tuple[Component, ...],
    findings: tuple[Finding, ...],
    nodes: dict[str, NodeState],
    redundancy: tuple[Redundancy, ...],
    pending: PendingPods,
    cross: CrossPlane | None,
    links: Links,
) -> list[NodeCause]:
    by_node: dict[str, list[Finding]] = {}
    for f in findings:
        if f.plane is Plane.DATA:
            by_node.setdefault(f.subject, []).append(f)
    causes = []
    for kind in ("failure", "network"):
        roots = []
        for name, state in sorted(nodes.items()):
            wanted = state.failing if kind == "failure" else (state.cut_off and not state.failing)
            root = _root(by_node.get(name, []), ROOT_CODES[kind]) if wanted else None
            if root is not None:
                roots.append(root)
        if not roots:
            continue
        roots.sort(key=lambda f: -f.severity.rank)
        cause = NodeCause(kind, tuple(sorted(f.subject for f in roots)), roots[0], tuple(roots), pending)
        for other in roots[1:]:
            links.effects.setdefault(other.key, [])
        if kind == "failure":
            _together(idx, cause, nodes, links)
        _instances(cause, components, links)
        _explain(idx, cause, findings, redundancy, links)
        _dns(idx, cause, findings, links)
        if pending.pods and set(pending.nodes) & set(cause.nodes):
            links.add(cause.root, pending.describe(idx))
            subjects = {g.subject for g in pending.groups if set(g.nodes) & set(cause.nodes)}
            for f in findings:
                if f.code == "KPD-233" and f.subject in subjects:
                    links.add(cause.root, "", f)
        if cross is not None and kind == "failure":
            for hook in cross.webhooks:
                b = hook.backends
                if b is not None and hook.failing and set(b.on_failing_nodes) & set(cause.nodes):
                    effect = "are rejected cluster-wide" if hook.fail_closed else "skip its checks"
                    links.add(
                        cause.root, f"webhook {hook.subject} was served only from here: {hook.operations()} {effect}"
                    )
        causes.append(cause)
    # a node cause never explains another; both kinds keep their own entries
    return causes
