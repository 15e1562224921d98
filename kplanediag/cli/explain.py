"""``kplanediag explain [COMPONENT|CODE]``: the two planes, what a component does and what its
failure breaks, or what a finding code means: from the knowledge tables, nothing collected."""

from __future__ import annotations

import textwrap

import click

from kplanediag.cli.options import CannotAssess

WIDTH = 100


def para(label: str, text: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=label, subsequent_indent=" " * len(label))


@click.command("explain", short_help="What a component or finding code means.")
@click.argument("subject", required=False, metavar="[COMPONENT|CODE]")
def explain(subject: str | None) -> int:
    """Without an argument: the map of both planes. With a component (kube-scheduler, kubelet,
    coredns, ...): what it does, what breaks when it fails, what keeps working, what to look at next.
    With a finding code (KPD-201): its severity, plane and meaning, and its component's text."""
    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415
    from kplanediag.analysis.knowledge.components import COMPONENTS, MODEL  # noqa: PLC0415
    from kplanediag.analysis.model import Plane  # noqa: PLC0415

    out: list[str] = []
    if subject is None:
        out.append(para("", MODEL))
        for plane in (Plane.CONTROL, Plane.CROSS, Plane.DATA):
            out += ["", f"{plane.value}:"]
            for c in (x for x in COMPONENTS.values() if x.plane is plane):
                out.append(para(f"  {c.name:<25} ", c.does))
        out += ["", "kplanediag explain COMPONENT or CODE for more (codes: docs/codes.md)."]
        click.echo("\n".join(out))
        return 0
    key = subject.strip()
    code = CODES.get(key.upper())
    info = COMPONENTS.get(key.lower())
    if code is None and info is None:
        raise CannotAssess(
            f"{subject!r} is neither a component ({', '.join(COMPONENTS)}) nor a finding code (KPD-100 ... KPD-900)",
            "usage",
        )
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
