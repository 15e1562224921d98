"""Node health: Ready and heartbeat Lease, pressure and custom conditions, cordon and autoscaler
removal, kubelet version skew. Produces the kubelet and container-runtime components per node."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.conditions import condition_findings
from kplanediag.analysis.dataplane.heartbeat import Beat, Heartbeat, heartbeat
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Plane, Severity, Status
from kplanediag.snapshot import minor_version
from kplanediag.snapshot.kinds import Condition, Node

AUTOSCALER_TAINTS = {
    "ToBeDeletedByClusterAutoscaler": "cluster-autoscaler",
    "karpenter.sh/disrupted": "Karpenter",
    "karpenter.sh/disruption": "Karpenter",
}
# The kubelet's Ready=False message names its failing checks ("container runtime is down", "PLEG is
# not healthy: ...", "container runtime network not ready: NetworkReady=false ..."); each is attributed
# to the component it names. The network check comes first: its text also says "container runtime".
NETWORK_HINTS = ("NetworkReady=false", "network not ready", "NetworkPluginNotReady", "cni plugin not initialized")
RUNTIME_HINTS = (
    "container runtime is down",
    "runtime is down",
    "PLEG is not healthy",
    "container runtime status check",
)
MAX_KUBELET_SKEW = 3  # minor versions older than the API server (Kubernetes >= 1.28)


@dataclass(frozen=True)
class NodeState:
    name: str
    ready: str  # "True" | "False" | "Unknown" | "missing"
    failing: bool
    reason: str
    cordoned: bool
    removed_by: str | None
    silent: bool = False  # the kubelet posts no status (Ready Unknown or missing, heartbeat stale)
    network_down: bool = False  # the kubelet reports the network plugin not ready (it judges the CNI there)
    since: datetime | None = None  # when the Ready condition last changed, where it says

    @property
    def cut_off(self) -> bool:
        """Not Ready, for any reason: the node lifecycle controller's not-ready or unreachable taint is on."""
        return self.ready != "True"


def _since(cond: Condition | None) -> datetime | None:
    return cond.last_transition_time if cond is not None else None


def removed_by(node: Node) -> str | None:
    for taint in node.spec.taints:
        who = AUTOSCALER_TAINTS.get(taint.key)
        if who:
            return who
    return "deletion" if node.metadata.deletion_timestamp else None


def _lower(severity: Severity, removing: str | None) -> Severity | None:
    return Severity.WARNING if removing and severity is Severity.CRITICAL else None


@dataclass(frozen=True)
class _Readings:
    """What one node's Ready condition, heartbeat and removal say, as assess_node's parts read them."""

    name: str
    ready: str  # "True" | "False" | "Unknown" | "missing"
    message: str  # the Ready condition's message, else its reason
    beat: Heartbeat
    removing: str | None
    network_down: bool  # the kubelet's Ready=False names the network plugin
    runtime_down: bool  # the kubelet's Ready=False names the container runtime

    @property
    def stale(self) -> bool:
        return self.beat.beat is Beat.STALE

    @property
    def silent(self) -> bool:
        """The kubelet posts no status: what runs there cannot be observed (a NotReady it reports is its word)."""
        return self.ready in ("Unknown", "missing") or self.stale

    @property
    def failing(self) -> bool:
        """Not running pods as it should; a network plugin that is not ready is the CNI's failure, not the
        node's: the kubelet, the runtime and hostNetwork pods work, and new pods cannot get a network."""
        return self.silent or (self.ready == "False" and not (self.network_down and not self.runtime_down))

    def critical(self, code: str, message: str) -> Finding:
        """A critical finding, lowered to a warning on a node being removed (and said so)."""
        sev = _lower(Severity.CRITICAL, self.removing)
        suffix = f" (node is being removed by {self.removing})" if self.removing else ""
        return finding(code, self.name, message + suffix, severity=sev)


def _read(idx: ClusterIndex, node: Node, ready_cond: Condition | None, dist: Distribution | None) -> _Readings:
    ready = (ready_cond.status or "missing") if ready_cond else "missing"
    message = (ready_cond.message or ready_cond.reason) if ready_cond else ""
    return _Readings(
        node.metadata.name,
        ready,
        message,
        heartbeat(idx, node, ready, dist),
        removed_by(node),
        network_down=ready == "False" and any(h in message for h in NETWORK_HINTS),
        runtime_down=ready == "False" and any(h in message for h in RUNTIME_HINTS),
    )


def _heartbeat_findings(r: _Readings) -> list[Finding]:
    """No heartbeat Lease at all (KPD-209), or a kubelet whose clock is off the API server's (KPD-212)."""
    name, beat = r.name, r.beat
    if beat.beat is Beat.MISSING:
        return [finding("KPD-209", name, f"node {name} has no heartbeat Lease in kube-node-lease")]
    if beat.beat not in (Beat.BEHIND, Beat.AHEAD):
        return []
    kept = (
        "the node lifecycle controller keeps it Ready, so its kubelet renews on time"
        if beat.beat is Beat.BEHIND
        else "the kubelet is alive"
    )
    message = (
        f"kubelet clock on {name} is {beat.describe_skew()} the API server's: {beat.text}; {kept}. "
        "Fix its time sync: certificates, tokens, logs and CronJob times on it are off"
    )
    return [finding("KPD-212", name, message)]


def _ready_findings(r: _Readings) -> list[Finding]:
    """The runtime or the network plugin not ready, the node NotReady, Unknown or silent."""
    name, ready = r.name, r.ready
    if r.runtime_down or r.network_down:
        found = []
        if r.runtime_down:
            found.append(r.critical("KPD-210", f"container runtime on {name} is not ready: {r.message}"))
        if r.network_down:
            message = f"network plugin (CNI) on {name} is not ready: node NotReady, no pod can start: {r.message}"
            found.append(r.critical("KPD-211", message))
        return found
    if ready == "False":
        return [r.critical("KPD-200", f"node {name} is NotReady: {r.message or 'no reason given'}")]
    if ready in ("Unknown", "missing"):
        detail = f"; {r.beat.text}" if r.beat.text else ""
        return [r.critical("KPD-201", f"node {name} status is {ready}: kubelet stopped posting status{detail}")]
    if r.stale:
        return [r.critical("KPD-202", f"kubelet on {name} is silent: {r.beat.text}; Ready=True is out of date")]
    return []


def _scheduling_findings(node: Node, r: _Readings) -> list[Finding]:
    """Cordoned (KPD-207), being removed by an autoscaler or a deletion (KPD-208)."""
    found = []
    if node.spec.unschedulable:
        found.append(finding("KPD-207", r.name, f"node {r.name} is cordoned: no new pods are scheduled on it"))
    if r.removing:
        found.append(finding("KPD-208", r.name, f"node {r.name} is being removed by {r.removing}"))
    return found


def _skew_findings(node: Node, api_minor: tuple[int, int] | None) -> list[Finding]:
    """A kubelet newer than the API server, or more than MAX_KUBELET_SKEW minor versions older."""
    name = node.metadata.name
    kubelet_version = node.status.node_info.kubelet_version or None
    kubelet_minor = minor_version(kubelet_version)
    if not (api_minor and kubelet_minor):
        return []
    if kubelet_minor > api_minor or api_minor[1] - kubelet_minor[1] > MAX_KUBELET_SKEW:
        message = (
            f"kubelet {kubelet_version} on {name} is outside the "
            f"supported skew of API server v{api_minor[0]}.{api_minor[1]}"
        )
        return [finding("KPD-205", name, message)]
    return []


def _kubelet_status(r: _Readings) -> tuple[Status, str]:
    """The kubelet's status and the reason said beside it (and in the node's state)."""
    reason = (
        "container runtime not ready"
        if r.runtime_down
        else "network plugin not ready"
        if r.network_down
        else f"Ready={r.ready}"
        if r.ready != "True"
        else "heartbeat Lease stale"
        if r.stale
        else ""
    )
    status = Status.DEGRADED if r.runtime_down or r.network_down else Status.DOWN if r.failing else Status.HEALTHY
    if r.beat.beat is Beat.STALLED and status is Status.HEALTHY:
        return Status.UNKNOWN, "heartbeat not recordable: writes failing cluster-wide"
    return status, reason


def _components(node: Node, r: _Readings, kubelet: tuple[Status, str]) -> list[Component]:
    """The node's kubelet and container runtime, and its network plugin where the kubelet says it is down."""
    name, info = r.name, node.status.node_info
    evidence = ["Node object", f"Ready={r.ready}"]
    if r.beat.text:
        evidence.append(f"Lease kube-node-lease/{name}: {r.beat.text.removeprefix('heartbeat Lease ')}")
    # the network check is the runtime's own answer: a runtime that answers it is up
    runtime_status = (
        Status.DOWN
        if r.runtime_down
        else Status.HEALTHY
        if r.network_down
        else Status.UNKNOWN
        if r.failing
        else Status.HEALTHY
    )
    kubelet_version = info.kubelet_version or None
    components = [
        Component("kubelet", Plane.DATA, kubelet[0], name, kubelet_version, tuple(evidence), kubelet[1]),
        Component(
            "container-runtime",
            Plane.DATA,
            runtime_status,
            name,
            info.container_runtime_version or None,
            ("Node status.nodeInfo.containerRuntimeVersion",),
            "kubelet not reporting" if runtime_status is Status.UNKNOWN else "",
        ),
    ]
    if r.network_down:
        cni_evidence = ("Node Ready condition message",)
        components.append(
            Component("cni", Plane.DATA, Status.DOWN, name, None, cni_evidence, "network plugin not ready")
        )
    return components


def assess_node(
    idx: ClusterIndex, node: Node, api_minor: tuple[int, int] | None, dist: Distribution | None = None
) -> tuple[NodeState, list[Component], list[Finding]]:
    ready_cond = o.condition(node.status.conditions, "Ready")
    r = _read(idx, node, ready_cond, dist)
    findings = [
        *_heartbeat_findings(r),
        *_ready_findings(r),
        *condition_findings(node, r.critical),
        *_scheduling_findings(node, r),
        *_skew_findings(node, api_minor),
    ]
    kubelet = _kubelet_status(r)
    state = NodeState(
        r.name,
        r.ready,
        r.failing,
        kubelet[1],
        node.spec.unschedulable,
        r.removing,
        silent=r.silent,
        since=_since(ready_cond),
        network_down=r.network_down,
    )
    return state, _components(node, r, kubelet), findings


def assess_nodes(
    idx: ClusterIndex, api_version: str | None, dist: Distribution | None = None
) -> tuple[dict[str, NodeState], list[Component], list[Finding]]:
    states: dict[str, NodeState] = {}
    components: list[Component] = []
    findings: list[Finding] = []
    api_minor = minor_version(api_version)
    for node_name in sorted(idx.nodes):
        state, comps, found = assess_node(idx, idx.nodes[node_name], api_minor, dist)
        states[node_name] = state
        components += comps
        findings += found
    return states, components, findings
