"""The status page's two diagrams (render/html.py): the control plane as the API server over the
components that talk to it, each with its instances and leader; the data plane as a grid of nodes
(kubelet, runtime, kube-proxy, CNI), healthy ones folded into a count when there are many; and the
cross-plane table."""

from __future__ import annotations

from kplanediag.analysis.model import STATUS_RANK, Component, Plane, Status
from kplanediag.analysis.results import Report
from kplanediag.render.html_parts import ICON, WORD, badge, esc, icon

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


def instance_item(c: Component) -> str:
    role = ""
    if c.role == "leader":
        role = f' <span class="role leader">{icon("★")}leader</span>'
    elif c.role:
        role = f' <span class="role">{esc(c.role)}</span>'
    detail = f' <span class="detail">{esc(c.detail)}</span>' if c.detail else ""
    version = f' <span class="muted">{esc(c.version)}</span>' if c.version else ""
    where = esc(c.node) if c.node else "(node not known)"
    return f'<li class="st-{c.status.value}">{badge(c.status)} {where}{role}{version}{detail}</li>'


def component_card(name: str, instances: list[Component]) -> str:
    status = component_status(instances)
    leaders = [c.node or "?" for c in instances if c.role == "leader"]
    lead = f"; leader on {esc(', '.join(leaders))}" if leaders else ""
    evidence = "".join(
        f"<li>{esc(c.node or name)}: {esc('; '.join(c.evidence) or 'no evidence recorded')}</li>" for c in instances
    )
    return (
        f'<div class="card st-{status.value}" role="group" aria-label="{esc(name)}: {esc(NODE_WORD[status])}">'
        f"<h3>{esc(name)} {badge(status, NODE_WORD[status])}</h3>"
        f'<p class="muted">{len(instances)} instance(s){lead}</p>'
        f'<ul class="instances">{"".join(instance_item(c) for c in instances)}</ul>'
        f'<details><summary>Evidence</summary><ul class="detail">{evidence}</ul></details></div>'
    )


def control_plane(report: Report) -> str:
    by_name: dict[str, list[Component]] = {}
    for c in report.components:
        if c.plane is Plane.CONTROL:
            by_name.setdefault(c.name, []).append(c)
    mode = report.cluster.control_plane_mode
    note = (
        f'<p class="muted">Control-plane mode: {esc(mode)}'
        + (": components that are not visible are unknown, not down." if mode != "self-hosted" else ".")
        + "</p>"
    )
    if not by_name:
        return note + "<p>No control-plane component observed.</p>"
    names = sorted(by_name, key=lambda n: (CONTROL_ORDER.index(n) if n in CONTROL_ORDER else 99, n))
    top = names[0] if names[0] == "kube-apiserver" else None
    below = [n for n in names if n != top]
    parts = [
        '<figure class="diagram"><figcaption>Every component talks to the API server; only the API server '
        "talks to etcd.</figcaption>"
    ]
    if top:
        parts.append(f'<div class="cp-top">{component_card(top, by_name[top])}</div>')
    if below:
        parts.append('<div class="cp-bus" aria-hidden="true"></div>' if top else "")
        parts.append(f'<div class="cp-row">{"".join(component_card(n, by_name[n]) for n in below)}</div>')
    parts.append("</figure>")
    return note + "".join(parts)


def node_tile(name: str, components: dict[str, Component]) -> str:
    status = worst([c.status for c in components.values()])
    rows = []
    keys = [*NODE_COMPONENTS, *sorted(k for k in components if k not in NODE_COMPONENTS)]
    for key in keys:
        c = components.get(key)
        label = esc(NODE_COMPONENTS.get(key, key))
        if c is None:
            rows.append(f'<dt>{label}</dt><dd class="st-unknown">not observed</dd>')
            continue
        detail = (
            f' <span class="detail">({esc(c.detail)})</span>' if c.detail and c.status is not Status.HEALTHY else ""
        )
        rows.append(
            f'<dt>{label}</dt><dd class="st-{c.status.value}">{icon(ICON[c.status])}{WORD[c.status]}{detail}</dd>'
        )
    return (
        f'<li class="node st-{status.value}" data-node="{esc(name)}" data-status="{NODE_WORD[status]}">'
        f"<div class=nodehead><h3>{esc(name)}</h3> {badge(status, NODE_WORD[status])}</div>"
        f"<dl>{''.join(rows)}</dl></li>"
    )


def groups(
    nodes: list[str], by_node: dict[str, dict[str, Component]], state: dict[str, Status]
) -> dict[tuple[Status, str], list[str]]:
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
    return dict(sorted(out.items(), key=lambda kv: (STATUS_RANK[kv[0][0]], -len(kv[1]))))


def fold(status: Status, reason: str, names: list[str]) -> str:
    return (
        f'<details class="fold" data-status="{NODE_WORD[status]}"><summary>{badge(status, NODE_WORD[status])} '
        f'<span class="fold-count">{len(names)}</span> node(s) folded: {esc(reason)}. Show their names</summary>'
        f'<ul class="names">{"".join(f"<li>{esc(n)}</li>" for n in names)}</ul></details>'
    )


def data_plane(report: Report) -> str:
    by_node: dict[str, dict[str, Component]] = {}
    others: list[Component] = []
    for c in report.components:
        if c.plane is Plane.DATA and c.node:
            by_node.setdefault(c.node, {})[c.name] = c
        elif c.plane is Plane.DATA:
            others.append(c)
    state = {n: worst([c.status for c in comps.values()]) for n, comps in by_node.items()}
    order = sorted(by_node, key=lambda n: (STATUS_RANK[state[n]], n))
    sick = [n for n in order if state[n] in (Status.DOWN, Status.DEGRADED)]
    calm = [n for n in order if state[n] in (Status.UNKNOWN, Status.HEALTHY)]  # folded when many
    counts = "".join(
        f"<li>{badge(s, f'{sum(1 for n in order if state[n] is s)} {NODE_WORD[s]}')}</li>"
        for s in (Status.DOWN, Status.DEGRADED, Status.UNKNOWN, Status.HEALTHY)
        if any(state[n] is s for n in order)
    )
    out = [f'<p>{len(order)} node(s)</p><ul class="counts" aria-label="nodes by status">{counts}</ul>' if order else ""]
    tiles = sick[:TILES_MAX]
    folded = len(calm) > FOLD_AT or len(sick) > TILES_MAX
    if not folded:
        tiles += calm
    if tiles:
        out.append(
            f'<ul class="grid" aria-label="nodes, worst first">{"".join(node_tile(n, by_node[n]) for n in tiles)}</ul>'
        )
    rest = sick[TILES_MAX:]
    if rest:
        out.append(
            f"<details><summary>{len(rest)} more failing or degraded node(s)</summary><ul class=names>"
            + "".join(f"<li>{esc(n)}: {NODE_WORD[state[n]]}</li>" for n in rest)
            + "</ul></details>"
        )
    if folded:
        out += [fold(status, reason, names) for (status, reason), names in groups(calm, by_node, state).items()]
    if not by_node:
        out.append("<p>No node observed.</p>")
    if others:
        out.append('<h3 id="cluster-wide-h">Cluster-wide data-plane components</h3><div class="cards">')
        for c in others:
            evidence = f'<p class="detail">{esc("; ".join(c.evidence))}</p>' if c.evidence else ""
            detail = f'<p class="detail">{esc(c.detail)}</p>' if c.detail else ""
            out.append(
                f'<div class="card st-{c.status.value}" role="group" aria-label="{esc(c.name)}: {WORD[c.status]}">'
                f"<h4>{esc(c.name)} {badge(c.status)}</h4>{detail}{evidence}</div>"
            )
        out.append("</div>")
    return "".join(out)


def cross_plane(report: Report) -> str:
    rows = [c for c in report.components if c.plane is Plane.CROSS]
    if not rows:
        from kplanediag.render.table import cross_plane_absence  # noqa: PLC0415

        said = cross_plane_absence(report)
        return f"<p>{esc(said[0].upper() + said[1:])}.</p>"
    body = "".join(
        f'<tr class="st-{c.status.value}"><td>{esc(c.name)}</td><td>{esc(c.detail)}</td><td>{badge(c.status)}</td>'
        f"<td>{esc('; '.join(c.evidence))}</td></tr>"
        for c in rows
    )
    return (
        "<table><thead><tr><th scope=col>kind</th><th scope=col>name</th><th scope=col>status</th>"
        f"<th scope=col>served by</th></tr></thead><tbody>{body}</tbody></table>"
    )
