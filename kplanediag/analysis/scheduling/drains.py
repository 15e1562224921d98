"""Drains a PodDisruptionBudget blocks (KPD-230): a cordoned node still running ready pods that a
budget allows no disruption of, so every eviction of them (kubectl drain, node upgrades, autoscaler
scale-down) is refused with 429 and retried forever."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.impact import desired_healthy
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.classes import DRAIN_BLOCKED
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Affected, BlastEntry, Finding
from kplanediag.analysis.scheduling.tolerations import cordoned
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot.kinds import Pod, PodDisruptionBudget

COMPONENT = "eviction"  # not a process: the Eviction API and what calls it (the codes table says "*")


@dataclass(frozen=True)
class Budget:
    """A PodDisruptionBudget's arithmetic, from its status or, without one, from its spec and the pods."""

    pdb: PodDisruptionBudget
    healthy: int
    desired: int
    from_status: bool

    @property
    def allowed(self) -> int:
        return max(0, self.healthy - self.desired)

    def describe(self) -> str:
        told = "" if self.from_status else ", computed from its spec: no status"
        return f"PodDisruptionBudget {self.pdb.key} ({self.healthy} healthy, needs {self.desired}{told})"


@dataclass(frozen=True)
class BlockedDrain:
    node: str
    held: tuple[tuple[Budget, tuple[str, ...]], ...]  # each budget allowing nothing, with the pods it holds


def budget(idx: ClusterIndex, pdb: PodDisruptionBudget) -> Budget:
    st = pdb.status
    if st is not None and st.current_healthy is not None and st.desired_healthy is not None:
        return Budget(pdb, st.current_healthy, st.desired_healthy, True)
    matched = [
        p for p in idx.pods_by_namespace.get(pdb.namespace, []) if o.selector_matches(pdb.spec.selector, p.labels)
    ]
    expected = st.expected_pods if st is not None and st.expected_pods is not None else len(matched)
    healthy = sum(1 for p in matched if o.pod_ready(p))
    return Budget(pdb, healthy, desired_healthy(pdb, expected), False)


def drained_pods(idx: ClusterIndex, node: str) -> list[Pod]:
    """What a drain must evict: pods not owned by a DaemonSet, not mirror pods, not being deleted."""
    return [
        p
        for p in idx.pods_by_node.get(node, [])
        if p.metadata.deletion_timestamp is None and idx.workload_of(p)[0] not in ("DaemonSet", "Node")
    ]


def blocked_drains(idx: ClusterIndex) -> list[BlockedDrain]:
    """Cordoned nodes whose ready pods a budget allowing zero disruptions covers. A budget's null
    selector selects no pod; pods not ready are left out (unhealthyPodEvictionPolicy is not read)."""
    if not (idx.has("pods") and idx.has("nodes") and idx.has("poddisruptionbudgets")):
        return []
    budgets: dict[str, Budget] = {}
    out = []
    for name in sorted(idx.nodes):
        if not cordoned(idx.nodes[name]):
            continue
        held: dict[str, list[str]] = {}
        for pod in drained_pods(idx, name):
            if not o.pod_ready(pod):
                continue
            for pdb in idx.snapshot.poddisruptionbudgets:
                if pdb.namespace != pod.namespace or pdb.spec.selector is None:
                    continue
                if not o.selector_matches(pdb.spec.selector, pod.labels):
                    continue
                if pdb.key not in budgets:
                    budgets[pdb.key] = budget(idx, pdb)
                if budgets[pdb.key].allowed == 0:
                    held.setdefault(pdb.key, []).append(pod.name)
        if held:
            out.append(BlockedDrain(name, tuple((budgets[k], tuple(sorted(v))) for k, v in sorted(held.items()))))
    return out


def _held_text(d: BlockedDrain) -> str:
    return "; ".join(f"{b.describe()} holds {some(list(pods), 4)}" for b, pods in d.held)


def drain_findings(idx: ClusterIndex) -> list[tuple[BlockedDrain, Finding]]:
    out = []
    for d in blocked_drains(idx):
        pods = sum(len(p) for _, p in d.held)
        message = (
            f"node {d.node} is cordoned and still runs {plural(pods, 'pod')} held by budgets allowing no disruption: "
            f"{_held_text(d)}. A drain of it cannot finish: every eviction is refused until more replicas are ready"
        )
        out.append((d, finding("KPD-230", d.node, message, component=COMPONENT)))
    return out


def drain_entry(d: BlockedDrain, cause: Finding) -> BlastEntry:
    pods = [f"{b.pdb.namespace}/{p}" for b, names in d.held for p in names]
    return BlastEntry(
        f"drain blocked by a PodDisruptionBudget: {d.node}",
        cause.plane,
        "node",
        f"the drain of {d.node} is blocked: {plural(len(pods), 'pod')} held by "
        f"{plural(len(d.held), 'PodDisruptionBudget')} allowing no disruption",
        Affected(
            nodes=(d.node,),
            pods=len(pods),
            namespaces=tuple(sorted({b.pdb.namespace for b, _ in d.held})),
            disruption_budgets=tuple(b.pdb.key for b, _ in d.held),
        ),
        (
            f"`kubectl drain {d.node}` retries its evictions forever (429 Too Many Requests): node upgrades, "
            "reboots and maintenance that wait for the drain stall",
            "a cluster autoscaler cannot scale this node down; managed node-group upgrades time out or force it",
            "raising the workload's ready replicas on other nodes, or relaxing "
            + some([b.pdb.key for b, _ in d.held], 3)
            + ", unblocks it",
        ),
        (
            f"the held pods keep running and serving on {d.node}",
            "the cordon only stops new pods landing there; other nodes are unaffected",
        ),
        DRAIN_BLOCKED,
        cause.component,
        cause.severity,
        cause,
    )
