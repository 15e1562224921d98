"""Node health: Ready and heartbeat Lease, pressure and custom conditions, cordon and autoscaler
removal, kubelet version skew. Produces the kubelet and container-runtime components per node."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.heartbeat import Beat, heartbeat
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Plane, Severity, Status
from kplanediag.snapshot import minor_version
from kplanediag.snapshot.kinds import Condition, Node

PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure")
STANDARD = {"Ready", "NetworkUnavailable", *PRESSURE}
# Custom condition polarity by name: problem-when-True suffixes are tested first ("Unhealthy").
PROBLEM_WHEN_TRUE = (
    "Pressure",
    "Unavailable",
    "Problem",
    "Deadlock",
    "Restart",
    "Unhealthy",
    "Failure",
    "Failed",
    "Error",
    "Shutdown",
    "Down",
    "Filesystem",
    "Corrupt",
    "Overlay2",
    "Degraded",
)
PROBLEM_PREFIXES = ("Frequent", "Corrupt", "Readonly", "ReadOnly", "Kernel")
GOOD_WHEN_TRUE = ("Ready", "Healthy", "Available", "OK", "Ok", "Up", "Running", "Reachable", "Succeeded")
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


def problem_polarity(condition_type: str) -> bool | None:
    """True: the condition reports a problem when "True"; False: when "False"; None: unknown."""
    if condition_type.endswith(PROBLEM_WHEN_TRUE) or condition_type.startswith(PROBLEM_PREFIXES):
        return True
    if condition_type.endswith(GOOD_WHEN_TRUE):
        return False
    return None


def removed_by(node: Node) -> str | None:
    for taint in node.spec.taints:
        who = AUTOSCALER_TAINTS.get(taint.key)
        if who:
            return who
    return "deletion" if node.metadata.deletion_timestamp else None


def _lower(severity: Severity, removing: str | None) -> Severity | None:
    return Severity.WARNING if removing and severity is Severity.CRITICAL else None


def assess_node(
    idx: ClusterIndex, node: Node, api_minor: tuple[int, int] | None, dist: Distribution | None = None
) -> tuple[NodeState, list[Component], list[Finding]]:
    name = node.metadata.name
    findings: list[Finding] = []
    removing = removed_by(node)
    ready_cond = o.condition(node.status.conditions, "Ready")
    ready = (ready_cond.status or "missing") if ready_cond else "missing"
    ready_msg = (ready_cond.message or ready_cond.reason) if ready_cond else ""
    evidence = ["Node object", f"Ready={ready}"]

    beat = heartbeat(idx, node, ready, dist)
    lease_txt = beat.text
    lease_stale = beat.beat is Beat.STALE
    stalled = beat.beat is Beat.STALLED
    if lease_txt:
        evidence.append(f"Lease kube-node-lease/{name}: {lease_txt.removeprefix('heartbeat Lease ')}")
    if beat.beat is Beat.MISSING:
        findings.append(finding("KPD-209", name, f"node {name} has no heartbeat Lease in kube-node-lease"))
    if beat.beat in (Beat.BEHIND, Beat.AHEAD):
        kept = (
            "the node lifecycle controller keeps it Ready, so its kubelet renews on time"
            if beat.beat is Beat.BEHIND
            else "the kubelet is alive"
        )
        findings.append(
            finding(
                "KPD-212",
                name,
                f"kubelet clock on {name} is {beat.describe_skew()} the API server's: {lease_txt}; {kept}. "
                "Fix its time sync: certificates, tokens, logs and CronJob times on it are off",
            )
        )

    def crit(code: str, message: str) -> None:
        sev = _lower(Severity.CRITICAL, removing)
        suffix = f" (node is being removed by {removing})" if removing else ""
        findings.append(finding(code, name, message + suffix, severity=sev))

    network_down = ready == "False" and any(h in ready_msg for h in NETWORK_HINTS)
    runtime_down = ready == "False" and any(h in ready_msg for h in RUNTIME_HINTS)
    if runtime_down or network_down:
        if runtime_down:
            crit("KPD-210", f"container runtime on {name} is not ready: {ready_msg}")
        if network_down:
            crit(
                "KPD-211", f"network plugin (CNI) on {name} is not ready: node NotReady, no pod can start: {ready_msg}"
            )
    elif ready == "False":
        crit("KPD-200", f"node {name} is NotReady: {ready_msg or 'no reason given'}")
    elif ready in ("Unknown", "missing"):
        detail = f"; {lease_txt}" if lease_txt else ""
        crit("KPD-201", f"node {name} status is {ready}: kubelet stopped posting status{detail}")
    elif lease_stale:
        crit("KPD-202", f"kubelet on {name} is silent: {lease_txt}; Ready=True is out of date")

    for cond in node.status.conditions:
        ctype, cstatus = cond.type, cond.status
        text = cond.message or cond.reason
        if ctype in PRESSURE and cstatus == "True":
            findings.append(finding("KPD-203", name, f"{ctype} on {name}: {text}".rstrip(": ")))
        elif ctype == "NetworkUnavailable" and cstatus == "True":
            crit("KPD-204", f"pod network on {name} is unavailable: {text}".rstrip(": "))
        elif ctype not in STANDARD:
            polarity = problem_polarity(ctype)
            if polarity is not None and cstatus == ("True" if polarity else "False"):
                findings.append(finding("KPD-206", name, f"{ctype}={cstatus} on {name}: {text}".rstrip(": ")))

    cordoned = node.spec.unschedulable
    if cordoned:
        findings.append(finding("KPD-207", name, f"node {name} is cordoned: no new pods are scheduled on it"))
    if removing:
        findings.append(finding("KPD-208", name, f"node {name} is being removed by {removing}"))

    info = node.status.node_info
    kubelet_version = info.kubelet_version or None
    kubelet_minor = minor_version(kubelet_version)
    if (
        api_minor
        and kubelet_minor
        and (kubelet_minor > api_minor or api_minor[1] - kubelet_minor[1] > MAX_KUBELET_SKEW)
    ):
        findings.append(
            finding(
                "KPD-205",
                name,
                f"kubelet {kubelet_version} on {name} is outside the "
                f"supported skew of API server v{api_minor[0]}.{api_minor[1]}",
            )
        )

    # the kubelet posts no status: what runs there cannot be observed (a NotReady it reports is its word)
    silent = ready in ("Unknown", "missing") or lease_stale
    # not running pods as it should; a network plugin that is not ready is the CNI's failure, not the node's:
    # the kubelet, the runtime and hostNetwork pods work, and new pods cannot get a network
    failing = silent or (ready == "False" and not (network_down and not runtime_down))
    reason = (
        "container runtime not ready"
        if runtime_down
        else "network plugin not ready"
        if network_down
        else f"Ready={ready}"
        if ready != "True"
        else "heartbeat Lease stale"
        if lease_stale
        else ""
    )
    kubelet_status = Status.DEGRADED if runtime_down or network_down else Status.DOWN if failing else Status.HEALTHY
    if stalled and kubelet_status is Status.HEALTHY:
        kubelet_status, reason = Status.UNKNOWN, "heartbeat not recordable: writes failing cluster-wide"
    # the network check is the runtime's own answer: a runtime that answers it is up
    runtime_status = (
        Status.DOWN
        if runtime_down
        else Status.HEALTHY
        if network_down
        else Status.UNKNOWN
        if failing
        else Status.HEALTHY
    )
    runtime = info.container_runtime_version
    components = [
        Component("kubelet", Plane.DATA, kubelet_status, name, kubelet_version, tuple(evidence), reason),
        Component(
            "container-runtime",
            Plane.DATA,
            runtime_status,
            name,
            runtime or None,
            ("Node status.nodeInfo.containerRuntimeVersion",),
            "kubelet not reporting" if runtime_status is Status.UNKNOWN else "",
        ),
    ]
    if network_down:
        components.append(
            Component(
                "cni",
                Plane.DATA,
                Status.DOWN,
                name,
                None,
                ("Node Ready condition message",),
                "network plugin not ready",
            )
        )
    state = NodeState(
        name,
        ready,
        failing,
        reason,
        cordoned,
        removing,
        silent=silent,
        since=_since(ready_cond),
        network_down=network_down,
    )
    return state, components, findings


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
