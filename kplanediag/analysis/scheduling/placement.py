"""Which node would take a pod, judged as the scheduler's filters judge it from the snapshot: Ready, not
cordoned, taints tolerated, node selection and anti-affinity matched, requests fitting what is left."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from kplanediag.analysis import objects as o
from kplanediag.analysis.scheduling.tolerations import closing_taints, cordoned, node_ready
from kplanediag.snapshot.kinds import Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodAffinityTerm
from kplanediag.snapshot.quantity import parse_quantity

# The filters: Ready and not cordoned, taints tolerated, nodeSelector, required node affinity and pod
# anti-affinity, and the pod's requests against what the pods already bound leave of each node's allocatable
# cpu, memory, pods.
RESOURCES = ("cpu", "memory")
TERMINAL = ("Succeeded", "Failed")


@functools.lru_cache(maxsize=4096)  # a cluster's requests repeat a few strings ("100m", "128Mi")
def quantity(text: str) -> Decimal | None:
    """A resource.Quantity's string (``250m``, ``1.5Gi``, ``2e3``, ``8``) as a number; None if it is
    not one (then what it limits is not judged)."""
    try:
        value = parse_quantity(text.strip())
    except ValueError:
        return None
    return value if value.is_finite() else None


def requests(pod: Pod) -> dict[str, Decimal]:
    """The pod's cpu and memory requests, its containers' summed (init containers are not read)."""
    out: dict[str, Decimal] = {}
    for c in pod.spec.containers:
        for name in RESOURCES:
            value = c.resources.requests.get(name)
            amount = quantity(value) if value is not None else None
            if amount:
                out[name] = out.get(name, Decimal(0)) + amount
    return out


def _requirement(req: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    value = labels.get(req.key)
    if req.operator == "In":
        return value is not None and value in req.values
    if req.operator == "NotIn":
        return value is None or value not in req.values
    if req.operator == "Exists":
        return value is not None
    if req.operator == "DoesNotExist":
        return value is None
    if req.operator in ("Gt", "Lt") and value is not None and len(req.values) == 1:
        try:
            have, bound = int(value), int(req.values[0])
        except ValueError:
            return False
        return have > bound if req.operator == "Gt" else have < bound
    return False


def _term(term: NodeSelectorTerm, node: Node) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False  # an empty term matches no node (the API's rule)
    fields = {"metadata.name": node.metadata.name}
    return all(_requirement(r, node.labels) for r in term.match_expressions) and all(
        _requirement(r, fields) for r in term.match_fields
    )


def selects(node: Node, pod: Pod) -> bool:
    """The pod's nodeSelector and required node affinity (any of its terms) both match the node."""
    labels = node.labels
    if any(labels.get(k) != v for k, v in pod.spec.node_selector.items()):
        return False
    affinity = pod.spec.affinity
    required = (
        affinity.node_affinity.required_during_scheduling_ignored_during_execution
        if (affinity and affinity.node_affinity)
        else None
    )
    return required is None or any(_term(t, node) for t in required.node_selector_terms)


def anti_affinity(pod: Pod) -> tuple[PodAffinityTerm, ...]:
    affinity = pod.spec.affinity
    if affinity is None or affinity.pod_anti_affinity is None:
        return ()
    return affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution


def node_constraints(pod: Pod) -> tuple[object, ...]:
    """The pod's nodeSelector and affinity, hashable: pods with equal ones are judged once."""
    affinity = pod.spec.affinity
    return (tuple(sorted(pod.spec.node_selector.items())), None if affinity is None else msgspec.json.encode(affinity))


def _signature(pod: Pod) -> tuple[object, ...]:
    """What decides where a pod may go: pods with equal signatures are judged once."""
    return (pod.metadata.namespace, pod.spec.tolerations, *node_constraints(pod), tuple(sorted(requests(pod).items())))


@dataclass
class Room:
    """What is left on the nodes that could take pods, updated as pods are placed."""

    nodes: dict[str, Node]
    free: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # node -> resource -> left
    pods_on: dict[str, list[Pod]] = field(default_factory=dict)
    occupied: dict[tuple[int, tuple[str, ...]], tuple[PodAffinityTerm, set[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, nodes: Iterable[Node], pods: Iterable[Pod]) -> Room:
        """Nodes with what their bound, unfinished pods leave of allocatable (a resource whose
        allocatable is not in the snapshot is not judged on that node)."""
        room = cls({n.metadata.name: n for n in nodes})
        for name, node in room.nodes.items():
            room.free[name] = {
                r: amount
                for r in (*RESOURCES, "pods")
                if (text := node.status.allocatable.get(r)) is not None and (amount := quantity(text)) is not None
            }
            room.pods_on[name] = []
        for pod in pods:
            if pod.spec.node_name in room.free and pod.status.phase not in TERMINAL:
                room.take(pod.spec.node_name, pod)
        return room

    def take(self, node: str, pod: Pod) -> None:
        free = self.free[node]
        for r, amount in requests(pod).items():
            if r in free:
                free[r] -= amount
        if "pods" in free:
            free["pods"] -= 1
        self.pods_on[node].append(pod)
        for term, values in self.occupied.values():
            self._note(term, values, node, pod)

    def _note(self, term: PodAffinityTerm, values: set[str], node: str, pod: Pod) -> None:
        value = self.nodes[node].labels.get(term.topology_key)
        if value is not None and o.selector_matches(term.label_selector, pod.labels):
            values.add(value)

    def _values(self, term: PodAffinityTerm, namespaces: tuple[str, ...]) -> set[str]:
        """The topology values (``term.topology_key`` of the nodes) where a pod the term repels runs."""
        key = (id(term), namespaces)
        if key not in self.occupied:
            values: set[str] = set()
            for node, pods in self.pods_on.items():
                for pod in pods:
                    if pod.metadata.namespace in namespaces:
                        self._note(term, values, node, pod)
            self.occupied[key] = (term, values)
        return self.occupied[key][1]

    def static(self, node: Node, pod: Pod) -> str:
        """The first of the filters that placing pods cannot change which the node fails; ""."""
        if not node_ready(node):
            return "node(s) not Ready"
        if cordoned(node):
            return "node(s) were unschedulable"
        if closing_taints(node, pod.spec.tolerations, lifecycle=True):
            return "node(s) had untolerated taint(s)"
        if not selects(node, pod):
            return "node(s) didn't match Pod's node affinity/selector"
        return ""

    def dynamic(self, node: Node, pod: Pod, need: Mapping[str, Decimal]) -> str:
        """The first filter that placed pods can close which the node fails for ``pod``; ""."""
        for term in anti_affinity(pod):
            value = node.labels.get(term.topology_key)
            if value is not None and value in self._values(term, term.namespaces or (pod.metadata.namespace,)):
                return "node(s) didn't match pod anti-affinity rules"
        free = self.free.get(node.metadata.name, {})
        for r in RESOURCES:
            if need.get(r) and r in free and free[r] < need[r]:
                return f"Insufficient {r}"
        if "pods" in free and free["pods"] < 1:
            return "Too many pods"
        return ""


def place(room: Room, pods: Iterable[Pod]) -> tuple[dict[str, str], dict[str, str]]:
    """Each pod on the first node, most cpu left first, that takes it (first fit per kind of pod:
    a node that fails a pod fails every later pod of its kind, as placing only closes nodes); returns
    pod key -> node for the placed and pod key -> why ("0/N nodes are available: ...") for the rest."""
    placed: dict[str, str] = {}
    stuck: dict[str, str] = {}
    groups: dict[tuple[object, ...], list[Pod]] = {}
    for pod in pods:
        groups.setdefault(_signature(pod), []).append(pod)
    by_cpu = sorted(room.nodes, key=lambda n: (-room.free[n].get("cpu", Decimal(0)), n))
    statics: dict[tuple[object, ...], tuple[Counter[str], list[str]]] = {}
    for group in groups.values():
        first = group[0]
        need = requests(first)
        key = (first.spec.tolerations, *node_constraints(first))
        if key not in statics:  # the filters no placement changes, once per kind of pod
            closed: Counter[str] = Counter()
            open_ = []
            for name in by_cpu:
                why = room.static(room.nodes[name], first)
                if why:
                    closed[why] += 1
                else:
                    open_.append(name)
            statics[key] = (closed, open_)
        reasons, candidates = statics[key]
        cursor = 0
        for pod in group:
            while cursor < len(candidates):
                name = candidates[cursor]
                if not room.dynamic(room.nodes[name], first, need):
                    room.take(name, pod)
                    placed[pod.key] = name
                    break
                cursor += 1
            else:
                closed = reasons + Counter(room.dynamic(room.nodes[n], first, need) for n in candidates)
                said = ", ".join(sorted(f"{n} {why}" for why, n in closed.items()))  # as the scheduler sorts them
                stuck[pod.key] = f"0/{len(room.nodes)} nodes are available: {said}"
    return placed, stuck
