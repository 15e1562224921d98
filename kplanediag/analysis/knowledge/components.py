"""What each component is, as data (components.table beside this module): its plane, what it
does, what breaks and what keeps working when it fails, and what to look at next. One source for
``kplanediag explain`` and docs/components.md."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from kplanediag.analysis.model import Plane

TABLE = "components.table"
MODEL = (
    "The control plane decides (what should run, and where); the data plane executes (runs the "
    "containers and moves the traffic). Failures are normal and expected. During a control-plane "
    "outage, pods already running keep running and Services keep routing: what stops is change "
    "(deploys, scaling, rescheduling, healing). A slow control plane slows management only: it does "
    "not break running applications."
)


@dataclass(frozen=True)
class ComponentInfo:
    name: str
    plane: Plane
    does: str
    breaks: str
    keeps: str
    next_steps: str


def _load() -> dict[str, ComponentInfo]:
    text = resources.files(__package__).joinpath(TABLE).read_text(encoding="utf-8")
    table: dict[str, ComponentInfo] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, plane, does, breaks, keeps, steps = (cell.strip() for cell in line.split("|", 5))
            table[name] = ComponentInfo(name, Plane(plane), does, breaks, keeps, steps)
    return table


COMPONENTS: dict[str, ComponentInfo] = _load()


def components_markdown() -> str:
    lines = [
        "# Components",
        "",
        "Generated from `kplanediag/analysis/knowledge/components.table` by `make docs`; do not edit by hand.",
        "`kplanediag explain [COMPONENT|CODE]` prints the same text.",
        "",
        MODEL,
    ]
    for plane in (Plane.CONTROL, Plane.CROSS, Plane.DATA):
        lines += ["", f"## {plane.value}"]
        for c in (x for x in COMPONENTS.values() if x.plane is plane):
            lines += [
                "",
                f"### {c.name}",
                "",
                c.does,
                "",
                f"- **When it fails:** {c.breaks}",
                f"- **Keeps working:** {c.keeps}",
                f"- **Look next:** {c.next_steps}",
            ]
    return "\n".join(lines) + "\n"
