"""Tables for people: grouped by plane, worst first, laid out for the terminal's width (100 columns
when not a terminal; ``columns`` sets it, the CLI from the terminal or $COLUMNS)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tabulate import tabulate

from kplanediag.analysis.model import STATUS_RANK, Component, Finding, Plane, Status
from kplanediag.analysis.report import HIDDEN, expected_unknown
from kplanediag.analysis.results import Report
from kplanediag.analysis.timeline import ago
from kplanediag.render import SECTIONS
from kplanediag.render.escape import terminal

WIDTH = 100  # the width every table's column widths are given for, and the default
MIN_WIDTH, MAX_WIDTH = 60, 200
_width: ContextVar[int] = ContextVar("width", default=WIDTH)
_DIGEST = re.compile(r"((?:sha256:)?(?<![0-9a-f])[0-9a-f]{12})[0-9a-f]{52}(?![0-9a-f])")


@contextmanager
def columns(width: int) -> Iterator[None]:
    """Lay tables out for ``width`` columns (kept within MIN_WIDTH..MAX_WIDTH) inside the block."""
    token = _width.set(max(MIN_WIDTH, min(MAX_WIDTH, width)))
    try:
        yield
    finally:
        _width.reset(token)


def short_digest(text: str) -> str:
    """``image@sha256:<64 hex>`` -> ``image@sha256:<12 hex>`` (a bare 64-hex digest likewise), as
    docker and crictl show them."""
    return _DIGEST.sub(r"\1", text)


NODE_COMPONENTS = ("kubelet", "container-runtime", "kube-proxy", "cni")
CUT_AT = 4000
"""A cell or wrapped line longer than this (in characters) is cut, saying so: laying out text is
not linear in its length (a 1 MiB message took 22 s); -o json has the whole text."""
MARK = {Status.HEALTHY: "ok", Status.DEGRADED: "DEGRADED", Status.DOWN: "DOWN", Status.UNKNOWN: "unknown"}


def status_text(c: Component) -> str:
    """The status word first, the reason after it (no parentheses around a reason that has its own)."""
    return MARK[c.status] + (f": {c.detail}" if c.detail and c.status is not Status.HEALTHY else "")


def cut(text: str) -> str:
    """``text`` made safe for a terminal (escape.terminal), cut at CUT_AT characters, saying so."""
    if len(text) > CUT_AT:
        text = f"{text[:CUT_AT]} ... [cut: {len(text) - CUT_AT} more characters; -o json has them all]"
    return terminal(text.replace("\r\n", "\n").replace("\t", " "))  # a lone CR stays visible: \x0d


def table(rows: list[list[str]], headers: list[str], widths: list[int]) -> str:
    """``widths`` are for WIDTH columns; on a narrower terminal the widest column gives a column at a
    time (none below 10), on a wider one the widest (the free text) takes the difference."""
    width = _width.get()
    safe = [[cut(x) for x in row] for row in rows]
    scaled = list(widths)
    if width > WIDTH:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        scaled[widest] += width - WIDTH
    # a column keeps room for its longest word (a component's name is not split) and 10 at least
    floor = [
        min(w, max([10, len(h), *(len(word) for row in safe for word in row[i].split())]))
        for i, (w, h) in enumerate(zip(widths, headers, strict=True))
    ]
    for _ in range(WIDTH - width):
        shrinkable = [i for i in range(len(scaled)) if scaled[i] > floor[i]]
        if not shrinkable:
            break
        scaled[max(shrinkable, key=lambda i: scaled[i])] -= 1
    return tabulate(safe, headers=headers, tablefmt="simple", maxcolwidths=scaled, disable_numparse=True)


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


def since_text(f: Finding, report: Report) -> str:
    if f.since is None:
        return ""
    seconds = (report.cluster.evaluated_at - f.since).total_seconds()
    return f" (since {f.since.strftime('%H:%M:%SZ')}, {ago(seconds)})"


def effect_of(f: Finding) -> str:
    """A finding another explains says so: it is an effect, not a failure of its own."""
    return f" [effect of {f.caused_by}]" if f.caused_by else ""


def findings_table(report: Report) -> str:
    if not report.findings:
        return "  no findings"
    blocks = []
    for plane in (Plane.CONTROL, Plane.CROSS, Plane.DATA):
        rows = [
            [f.severity.value.upper(), f.code, f.component, f.message + since_text(f, report) + effect_of(f)]
            for f in report.findings
            if f.plane is plane
        ]
        if rows:
            blocks.append(
                f"[{plane.value}]\n" + table(rows, ["SEVERITY", "CODE", "COMPONENT", "MESSAGE"], [8, 7, 23, 54])
            )
    return "\n\n".join(blocks)


def wrap(prefix: str, text: str) -> list[str]:
    text = cut(text)
    width = _width.get()
    # names are not split at their hyphens (kube-controller-manager)
    lines = textwrap.wrap(
        text, width, initial_indent=prefix, subsequent_indent=" " * len(prefix), break_on_hyphens=False
    )
    return lines or [prefix]


def blast_text(report: Report) -> str:
    if not report.blast_radius:
        return "  no current failure"
    lines: list[str] = []
    for i, b in enumerate(report.blast_radius, 1):
        cause = f"{b.severity.value.upper()} " + (f"{b.cause.code} " if b.cause else "")
        lines += wrap(f"{i}. ", f"{cause}[{b.plane.value}, scope {b.scope}] {b.summary}")
        lines += [line for item in b.effects for line in wrap("     because of it: ", item)]
        lines += [line for item in b.breaks for line in wrap("     breaks: ", item)]
        lines += [line for item in b.still_works for line in wrap("     still works: ", item)]
    return "\n".join(lines)


def heading(title: str) -> str:
    return f"\n== {title} " + "=" * max(0, _width.get() - len(title) - 4)


def evidence_text(report: Report) -> str:
    """-o wide: how each component was found and judged (Lease holders and ages, checks, pods)."""
    lines: list[str] = []
    for c in report.components:
        where = f" on {c.node}" if c.node else (f" {c.detail}" if c.plane is Plane.CROSS else "")
        lines += wrap(f"  {c.name}{where}: ", "; ".join(c.evidence) or "(no evidence recorded)")
    return "\n".join(lines) or "  (no component observed)"


def grouped_gaps(gaps: tuple[str, ...]) -> list[str]:
    """Gaps of one reason on one line ("leases, events: not in the input List"), in first-seen order."""
    by_reason: dict[str, list[str]] = {}
    for gap in gaps:
        name, sep, reason = gap.partition(": ")
        key = reason if sep and " " not in name else gap
        by_reason.setdefault(key, []).append(name if sep and " " not in name else "")
    return [f"{', '.join(names)}: {reason}" if all(names) else reason for reason, names in by_reason.items()]


def render_table(
    report: Report, sections: Iterable[str] = SECTIONS, all_nodes: bool = False, wide: bool = False
) -> str:
    wanted = set(sections)
    c = report.cluster
    out = [cut(report.summary)]  # the headline is one line, whatever the width: the terminal folds it
    out.append(
        f"cluster {c.server or '-'}  version {c.version or 'unknown'}  control plane {c.control_plane_mode}  "
        f"at {c.evaluated_at.strftime('%Y-%m-%d %H:%M:%SZ')}"
    )
    single = ", single node: both planes on one machine" if c.single_node else ""
    # how the profile was recognised: -o wide (the table says which)
    recognised = f" ({'; '.join(c.profile_evidence) or 'no distribution signal'})" if wide else ""
    out += wrap("", f"profile {c.profile}{recognised}{single}")
    if c.collected_at_from:
        out += wrap("", f"captured {c.collected_at.strftime('%Y-%m-%d %H:%M:%SZ')}: told by {c.collected_at_from}")
    if c.clock_note:
        out += wrap("", c.clock_note)
    out += [line for note in c.observations for line in wrap("", note)]
    if report.what_if is not None:  # before anything else: this report is hypothetical
        from kplanediag.render.whatif import whatif_lines  # noqa: PLC0415

        out += [heading("What if (hypothetical, not a current failure)")]
        out += [line for item in whatif_lines(report) for line in wrap("  ", item)]
    if "components" in wanted:
        out += [
            heading("Control plane"),
            control_plane_table(report, every_instance=all_nodes or wanted == {"components"}),
            heading("Data plane"),
            data_plane_table(report, all_nodes or wanted == {"components"}),
            heading("Cross-plane: admission webhooks, aggregated APIs"),
            cross_plane_table(report, all_rows=all_nodes or wanted == {"components"}),
        ]
        if wide:
            out += [heading("Evidence"), evidence_text(report)]
    quiet = not report.findings and not report.blast_radius and {"findings", "blastRadius"} <= wanted
    if quiet:  # healthy: one section says both
        out += [heading("Findings, blast radius"), "  no findings, no current failure"]
    if "findings" in wanted and not quiet:
        out += [heading("Findings"), findings_table(report)]
    if "blastRadius" in wanted and not quiet:
        out += [heading("Blast radius"), blast_text(report)]
    if report.last_known is not None:
        out += [heading("Last known state (not current)")]
        out += [line for item in report.last_known.lines() for line in wrap("  ", item)]
    if report.gaps:
        out += [heading("Not observed")] + [line for g in grouped_gaps(report.gaps) for line in wrap("  - ", g)]
    if report.fit is not None:
        from kplanediag.render.fit import footer_lines  # noqa: PLC0415

        out += [heading("Fitted to this cluster")] + [line for x in footer_lines(report) for line in wrap("  ", x)]
    return terminal("\n".join(out) + "\n")  # every line above is already: this pass is the guarantee
