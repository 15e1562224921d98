"""Every output format by name (``-o``), all from the same Report: table and wide (table.py),
json and yaml (the same document, as_json.py), markdown, junit and html (their own modules)."""

from __future__ import annotations

from collections.abc import Iterable

from kplanediag.analysis.model import Report
from kplanediag.render import SECTIONS


def render(report: Report, output: str, sections: Iterable[str] = SECTIONS, colour: bool = False) -> str:
    """``colour``: escape codes for a terminal, in the table outputs only (never in documents)."""
    wanted = tuple(sections)
    if output == "json":
        from kplanediag.render.as_json import render_json  # noqa: PLC0415

        return render_json(report, wanted)
    if output == "yaml":
        import yaml  # noqa: PLC0415

        from kplanediag.render.as_json import report_dict  # noqa: PLC0415

        text: str = yaml.safe_dump(report_dict(report, wanted), sort_keys=False, allow_unicode=True, width=100)
        return text
    if output == "markdown":
        from kplanediag.render.markdown import render_markdown  # noqa: PLC0415

        return render_markdown(report, wanted)
    if output == "junit":
        from kplanediag.render.junit import render_junit  # noqa: PLC0415

        return render_junit(report)
    if output == "html":
        from kplanediag.render.html import render_html  # noqa: PLC0415

        return render_html(report, sections=wanted)
    from kplanediag.render.table import render_table  # noqa: PLC0415

    text = render_table(report, wanted, all_nodes=output == "wide", wide=output == "wide")
    if colour:
        from kplanediag.render.colour import colourise  # noqa: PLC0415

        return colourise(text)
    return text
