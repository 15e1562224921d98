"""``kplanediag explain [COMPONENT|CODE]``: the two planes, what a component does and what its
failure breaks, or what a finding code means: from the knowledge tables, nothing collected."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import click

from kplanediag.cli.completers import complete_subjects
from kplanediag.cli.options import CannotAssess

if TYPE_CHECKING:
    from kplanediag.analysis.knowledge.codes import Code
    from kplanediag.analysis.knowledge.components import ComponentInfo

WIDTH = 100


def resolve(subject: str) -> tuple[Code | None, ComponentInfo | None]:
    """The code and/or component ``subject`` names: exactly (``KPD-201``, ``kube-scheduler``), by a
    code's number (``201``), or by the one component whose name holds it (``scheduler``); else
    exit 3 with the closest names (``did you mean``)."""
    import difflib  # noqa: PLC0415

    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415
    from kplanediag.analysis.knowledge.components import COMPONENTS  # noqa: PLC0415

    key = subject.strip()
    code = CODES.get(key.upper()) or CODES.get(f"KPD-{key}")
    info = COMPONENTS.get(key.lower())
    if code is None and info is None:
        holding = [name for name in COMPONENTS if key.lower() in name]
        if len(holding) == 1:
            return None, COMPONENTS[holding[0]]
        names = [*COMPONENTS, *CODES]
        close = holding or difflib.get_close_matches(key.lower(), [n.lower() for n in names], n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise CannotAssess(
            f"{subject!r} is neither a component ({', '.join(COMPONENTS)}) nor a finding code "
            f"(kplanediag explain codes lists them).{hint}",
            "usage",
        )
    return code, info


def para(label: str, text: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=label, subsequent_indent=" " * len(label))


@click.command("explain", short_help="What a component or finding code means.")
@click.argument("subject", required=False, metavar="[COMPONENT|CODE|codes]", shell_complete=complete_subjects)
@click.option("--list", "list_codes", is_flag=True, help="Every finding code with its severity and title.")
def explain(subject: str | None, list_codes: bool) -> int:
    """Without an argument: the map of both planes. With a component (kube-scheduler, kubelet,
    coredns, ...; "scheduler" will do): what it does, what breaks when it fails, what keeps working,
    what to look at next. With a finding code (KPD-201, or 201): its severity, plane and meaning, and
    its component's text. "codes": every finding code with its severity and title."""
    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415
    from kplanediag.analysis.knowledge.components import COMPONENTS, MODEL  # noqa: PLC0415
    from kplanediag.analysis.model import Plane  # noqa: PLC0415

    out: list[str] = []
    if list_codes or (subject or "").strip().lower() == "codes":
        for entry in CODES.values():
            click.echo(f"{entry.code}  {entry.severity.value:<8}  {entry.plane.value:<13}  {entry.title}")
        return 0
    if subject is None:
        out.append(para("", MODEL))
        for plane in (Plane.CONTROL, Plane.CROSS, Plane.DATA):
            out += ["", f"{plane.value}:"]
            for c in (x for x in COMPONENTS.values() if x.plane is plane):
                out.append(para(f"  {c.name:<25} ", c.does))
        out += ["", "kplanediag explain COMPONENT or CODE for more; kplanediag explain codes lists every code."]
        click.echo("\n".join(out))
        return 0
    code, info = resolve(subject)
    if code is not None:
        out += [
            f"{code.code} ({code.severity.value}, {code.plane.value}, component {code.component}): {code.title}",
            para("  ", code.meaning),
        ]
        info = COMPONENTS.get(code.component)
        if info is not None:
            out.append("")
    if info is not None:
        out += [
            f"{info.name} ({info.plane.value})",
            para("  ", info.does),
            para("  When it fails: ", info.breaks),
            para("  Keeps working: ", info.keeps),
            para("  Look next:     ", info.next_steps),
        ]
    click.echo("\n".join(out))
    return 0
