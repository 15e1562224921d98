"""The status page's two diagrams (templates/planes.html.j2), laid out: the control plane as the API
server over its components, the data plane as a grid of nodes (folded when many), the cross-plane rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kplanediag.analysis.model import STATUS_RANK, Component, Plane, Status
from kplanediag.render.html_parts import WORD

if TYPE_CHECKING:
    from kplanediag.analysis.results import Report

CONTROL_ORDER = ("kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "cloud-controller-manager")
NODE_COMPONENTS = {"kubelet": "kubelet", "container-runtime": "runtime", "kube-proxy": "kube-proxy", "cni": "CNI"}
NODE_WORD = {Status.HEALTHY: "healthy", Status.DEGRADED: "degraded", Status.DOWN: "failing", Status.UNKNOWN: "unknown"}
FOLD_AT = 50  # more healthy or unknown nodes than this: counted by reason, names in a <details>, no tiles
TILES_MAX = 500  # node tiles drawn at most; further failing nodes are listed by name


def worst(statuses: list[Status]) -> Status:
    return min(statuses, key=STATUS_RANK.__getitem__) if statuses else Status.UNKNOWN


def component_status(instances: list[Component]) -> Status:
    """An instance down among healthy ones of the same component is lost redundancy: degraded."""
    statuses = [c.status for c in instances]
    if Status.HEALTHY in statuses and set(statuses) != {Status.HEALTHY}:
        return Status.DEGRADED
    return worst(statuses)


def leaders(instances: list[Component]) -> list[str]:
    return [c.node or "?" for c in instances if c.role == "leader"]


@dataclass
class ControlPlane:
    mode: str
    by_name: dict[str, list[Component]]
    top: str | None = None  # the API server, drawn above the others
    below: list[str] = field(default_factory=list)


def control_plane(report: Report) -> ControlPlane:
    by_name: dict[str, list[Component]] = {}
    for c in report.components:
        if c.plane is Plane.CONTROL:
            by_name.setdefault(c.name, []).append(c)
    layout = ControlPlane(report.cluster.control_plane_mode, by_name)
    if by_name:
        names = sorted(by_name, key=lambda n: (CONTROL_ORDER.index(n) if n in CONTROL_ORDER else 99, n))
        layout.top = names[0] if names[0] == "kube-apiserver" else None
        layout.below = [n for n in names if n != layout.top]
    return layout


def tile_keys(components: dict[str, Component]) -> list[str]:
    """A node tile's rows: the four node components, then any other, by name."""
    return [*NODE_COMPONENTS, *sorted(k for k in components if k not in NODE_COMPONENTS)]


def groups(
    nodes: list[str], by_node: dict[str, dict[str, Component]], state: dict[str, Status]
) -> list[tuple[Status, str, list[str]]]:
    """Nodes in the same state for the same reasons, e.g. 4,990 with "CNI unknown (no pod on this node)"."""
    out: dict[tuple[Status, str], list[str]] = {}
    for n in nodes:
        odd = [
            f"{NODE_COMPONENTS.get(k, k)} {WORD[c.status]}" + (f" ({c.detail})" if c.detail else "")
            for k, c in sorted(by_node[n].items())
            if c.status is not Status.HEALTHY
        ]
        missing = [label for k, label in NODE_COMPONENTS.items() if k not in by_node[n]]
        odd += [f"{label} not observed" for label in missing]
        reason = "; ".join(odd) or "kubelet, runtime, kube-proxy and CNI all ok"
        out.setdefault((state[n], reason), []).append(n)
    ordered = sorted(out.items(), key=lambda kv: (STATUS_RANK[kv[0][0]], -len(kv[1])))
    return [(status, reason, names) for (status, reason), names in ordered]


@dataclass
class DataPlane:
    by_node: dict[str, dict[str, Component]] = field(default_factory=dict)
    others: list[Component] = field(default_factory=list)  # cluster-wide, on no node
    state: dict[str, Status] = field(default_factory=dict)
    counts: list[tuple[Status, str]] = field(default_factory=list)  # badge per status: "3 failing"
    tiles: list[str] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)  # failing nodes past TILES_MAX, by name
    folds: list[tuple[Status, str, list[str]]] = field(default_factory=list)


def data_plane(report: Report) -> DataPlane:
    layout = DataPlane()
    for c in report.components:
        if c.plane is Plane.DATA and c.node:
            layout.by_node.setdefault(c.node, {})[c.name] = c
        elif c.plane is Plane.DATA:
            layout.others.append(c)
    state = layout.state = {n: worst([c.status for c in comps.values()]) for n, comps in layout.by_node.items()}
    order = sorted(layout.by_node, key=lambda n: (STATUS_RANK[state[n]], n))
    sick = [n for n in order if state[n] in (Status.DOWN, Status.DEGRADED)]
    calm = [n for n in order if state[n] in (Status.UNKNOWN, Status.HEALTHY)]  # folded when many
    layout.counts = [
        (s, f"{sum(1 for n in order if state[n] is s)} {NODE_WORD[s]}")
        for s in (Status.DOWN, Status.DEGRADED, Status.UNKNOWN, Status.HEALTHY)
        if any(state[n] is s for n in order)
    ]
    layout.tiles = sick[:TILES_MAX]
    folded = len(calm) > FOLD_AT or len(sick) > TILES_MAX
    if not folded:
        layout.tiles += calm
    layout.rest = sick[TILES_MAX:]
    if folded:
        layout.folds = groups(calm, layout.by_node, state)
    return layout


def cross_plane_absence(report: Report) -> str:
    """Why the cross-plane table is empty, as a sentence."""
    from kplanediag.render.table import cross_plane_absence as said  # noqa: PLC0415

    text = said(report)
    return text[0].upper() + text[1:] + "."


def helpers() -> dict[str, object]:
    """The names planes.html.j2 uses."""
    return {
        "HEALTHY": Status.HEALTHY,
        "NODE_COMPONENTS": NODE_COMPONENTS,
        "NODE_WORD": NODE_WORD,
        "component_status": component_status,
        "control_plane": control_plane,
        "cross_plane_absence": cross_plane_absence,
        "data_plane": data_plane,
        "leaders": leaders,
        "tile_keys": tile_keys,
        "worst": worst,
    }
