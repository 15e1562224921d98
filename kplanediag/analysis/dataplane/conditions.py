"""Node conditions beside Ready: pressure, the pod network, and custom ones (node-problem-detector's
and the like), read by their polarity."""

from __future__ import annotations

from collections.abc import Callable

from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Finding
from kplanediag.snapshot.kinds import Node

PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure")
STANDARD = {"Ready", "NetworkUnavailable", *PRESSURE}
# Custom condition polarity by name: problem-when-True suffixes are tested first ("Unhealthy").
PROBLEM_WHEN_TRUE = (
    "Pressure",
    "Unavailable",
    "Problem",
    "Deadlock",
    "Restart",
    "Unhealthy",
    "Failure",
    "Failed",
    "Error",
    "Shutdown",
    "Down",
    "Filesystem",
    "Corrupt",
    "Overlay2",
    "Degraded",
)
PROBLEM_PREFIXES = ("Frequent", "Corrupt", "Readonly", "ReadOnly", "Kernel")
GOOD_WHEN_TRUE = ("Ready", "Healthy", "Available", "OK", "Ok", "Up", "Running", "Reachable", "Succeeded")


def problem_polarity(condition_type: str) -> bool | None:
    """True: the condition reports a problem when "True"; False: when "False"; None: unknown."""
    if condition_type.endswith(PROBLEM_WHEN_TRUE) or condition_type.startswith(PROBLEM_PREFIXES):
        return True
    if condition_type.endswith(GOOD_WHEN_TRUE):
        return False
    return None


def condition_findings(node: Node, critical: Callable[[str, str], Finding]) -> list[Finding]:
    """Pressure (KPD-203), an unavailable pod network (KPD-204, by ``critical``: lowered on a node
    being removed), and custom conditions reporting a problem (KPD-206)."""
    name, found = node.metadata.name, []
    for cond in node.status.conditions:
        ctype, cstatus = cond.type, cond.status
        text = cond.message or cond.reason
        if ctype in PRESSURE and cstatus == "True":
            found.append(finding("KPD-203", name, f"{ctype} on {name}: {text}".rstrip(": ")))
        elif ctype == "NetworkUnavailable" and cstatus == "True":
            found.append(critical("KPD-204", f"pod network on {name} is unavailable: {text}".rstrip(": ")))
        elif ctype not in STANDARD:
            polarity = problem_polarity(ctype)
            if polarity is not None and cstatus == ("True" if polarity else "False"):
                found.append(finding("KPD-206", name, f"{ctype}={cstatus} on {name}: {text}".rstrip(": ")))
    return found
