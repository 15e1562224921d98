"""Tables for people: grouped by plane, worst first, laid out for the terminal's width (100 columns
when not a terminal; ``columns`` sets it, the CLI from the terminal or $COLUMNS)."""

from __future__ import annotations

from collections.abc import Iterable

from kplanediag.analysis.results import Report
from kplanediag.render import SECTIONS
from kplanediag.render.escape import terminal
from kplanediag.render.table.layout import CUT_AT, WIDTH, columns, cut, heading, wrap
from kplanediag.render.table.planes import control_plane_table, cross_plane_absence, cross_plane_table, data_plane_table
from kplanediag.render.table.sections import blast_text, evidence_text, findings_table, grouped_gaps

__all__ = ["CUT_AT", "WIDTH", "columns", "cross_plane_absence", "render_table"]


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
