"""The component tables: control plane by instance, data plane by node, the cross-plane objects."""

from __future__ import annotations

from kplanediag.analysis.model import STATUS_RANK, Component, Plane, Status
from kplanediag.analysis.report import HIDDEN, expected_unknown
from kplanediag.analysis.results import Report
from kplanediag.render.table.layout import short_digest, table, wrap

NODE_COMPONENTS = ("kubelet", "container-runtime", "kube-proxy", "cni")
MARK = {Status.HEALTHY: "ok", Status.DEGRADED: "DEGRADED", Status.DOWN: "DOWN", Status.UNKNOWN: "unknown"}


def status_text(c: Component) -> str:
    """The status word first, the reason after it (no parentheses around a reason that has its own)."""
    return MARK[c.status] + (f": {c.detail}" if c.detail and c.status is not Status.HEALTHY else "")


def control_plane_table(report: Report, every_instance: bool = False) -> str:
    """One row per instance; a component whose instances are all healthy is one row saying how
    many and which leads (``every_instance``: -o wide and components list each)."""
    mine = [c for c in report.components if c.plane is Plane.CONTROL]
    if not mine:
        return "  (no control-plane component observed)"
    by_name: dict[str, list[Component]] = {}
    for c in mine:
        by_name.setdefault(c.name, []).append(c)
    hidden = {} if every_instance else profile_hidden(mine)
    folded_lines = [
        line
        for why, names in hidden.items()
        for line in wrap("  ", f"{why}: {', '.join(names)} (unknown, as expected: not down; -o wide lists each)")
    ]
    mine = [c for c in mine if not any(c.name in names for names in hidden.values())]
    if not mine:
        return "\n".join(folded_lines)
    nodes = {c.node for c in mine}
    if not every_instance and len(nodes) == 1 and None not in nodes and all(c.role is None for c in mine):
        # one node holds them all (a single-node cluster, k3s, RKE2): said once, the versions get its room
        rows = [[c.name, status_text(c), short_digest(c.version or "-")] for c in mine]
        (node,) = nodes
        return "\n".join(
            [
                *wrap("  ", f"all on {node}:"),
                table(rows, ["COMPONENT", "STATUS", "VERSION"], [24, 30, 30]),
                *folded_lines,
            ]
        )
    rows = []
    for c in mine:
        group = by_name[c.name]
        folded = not every_instance and len(group) > 1 and all(x.status is Status.HEALTHY for x in group)
        if folded and c is not group[0]:
            continue
        if folded:
            leader = next((x.node for x in group if x.role == "leader"), None)
            where = f"{len(group)} instances" + (f", leader {leader}" if leader else "")
            versions = ", ".join(dict.fromkeys(short_digest(x.version or "-") for x in group))
            rows.append([c.name, where, status_text(c), versions])
        else:
            node = (c.node or "-") + (f" ({c.role})" if c.role else "")
            rows.append([c.name, node, status_text(c), short_digest(c.version or "-")])
    return "\n".join([table(rows, ["COMPONENT", "NODE", "STATUS", "VERSION"], [24, 28, 30, 12]), *folded_lines])


def profile_hidden(components: list[Component]) -> dict[str, list[str]]:
    """Unknown components whose profile says they cannot be seen (a managed control plane), by that
    reason, when two or more share it: one line for them all instead of a row each."""
    groups: dict[str, list[str]] = {}
    for c in components:
        why = next((part for part in c.detail.split("; ") if HIDDEN in part), None)
        if c.status is Status.UNKNOWN and c.node is None and why is not None:
            groups.setdefault(why, []).append(c.name)
    return {why: sorted(set(names)) for why, names in groups.items() if len(set(names)) > 1}


def data_plane_table(report: Report, all_nodes: bool) -> str:
    by_node: dict[str, dict[str, Component]] = {}
    others = []
    for c in report.components:
        if c.plane is Plane.DATA and c.node:
            by_node.setdefault(c.node, {})[c.name] = c
        elif c.plane is Plane.DATA:
            others.append(c)

    def worst(node: str) -> int:
        return min(STATUS_RANK[c.status] for c in by_node[node].values())

    nodes = sorted(by_node, key=lambda n: (worst(n), n))
    shown = [n for n in nodes if all_nodes or worst(n) != STATUS_RANK[Status.HEALTHY]]
    rows = [[n, *(status_text(by_node[n][k]) if k in by_node[n] else "-" for k in NODE_COMPONENTS)] for n in shown]
    text = table(rows, ["NODE", *(k.upper() for k in NODE_COMPONENTS)], [26, 20, 16, 16, 16]) if rows else ""
    hidden = len(nodes) - len(shown)
    if hidden:
        folded = f"{hidden} node(s) with every component healthy (`kplanediag components` lists them)"
        text += "\n" + "\n".join(wrap("  ", folded))
    for c in others:
        if expected_unknown(c):  # the profile says it cannot be seen: its reason is the evidence
            said = f"{c.name}: unknown, as expected: {c.detail}"
        else:
            said = f"{c.name}: {status_text(c)}" + (f"  [{c.evidence[-1]}]" if c.evidence else "")
        text += "\n" + "\n".join(wrap("", said))
    return text.strip("\n") or "  (no data-plane component observed)"


CROSS_LISTS = {
    "validatingwebhookconfigurations": "validating webhooks",
    "mutatingwebhookconfigurations": "mutating webhooks",
    "apiservices": "aggregated APIs",
}


def cross_plane_absence(report: Report) -> str:
    """Why the cross-plane table is empty: none exist, or (some of) them were not read. 'None'
    is said only of what was read."""
    unread = [what for source, what in CROSS_LISTS.items() if any(g.startswith(f"{source}: ") for g in report.gaps)]
    if not unread:
        return "no admission webhook or aggregated API"
    read = [what for what in CROSS_LISTS.values() if what not in unread]
    none = f"; no {' and no '.join(read)}" if read else ""
    listed = ", ".join(unread[:-1]) + (" and " if len(unread) > 1 else "") + unread[-1]
    if len(unread) == len(CROSS_LISTS):
        listed = "webhooks and aggregated APIs"
    return f"{listed}: not read (see Not observed){none}"


def cross_plane_table(report: Report, all_rows: bool = False) -> str:
    """Webhook configurations and aggregated APIs: what each is, its status, who serves it. Healthy
    ones are folded like healthy nodes (``all_rows``: -o wide lists them)."""
    cross = [c for c in report.components if c.plane is Plane.CROSS]
    if not cross:
        return "\n".join(wrap("  ", cross_plane_absence(report)))
    shown = [c for c in cross if all_rows or c.status is not Status.HEALTHY]
    rows = [[c.name, c.detail, MARK[c.status], "; ".join(c.evidence)] for c in shown]
    text = table(rows, ["KIND", "NAME", "STATUS", "SERVED BY"], [18, 30, 9, 40]) if rows else ""
    hidden = len(cross) - len(shown)
    if hidden:
        folded = (
            f"({hidden} healthy webhook configuration(s) and aggregated API(s) not shown; "
            "-o wide or `kplanediag components` lists all)"
        )
        text += "\n" + "\n".join(wrap("  ", folded))
    return text.strip("\n")
