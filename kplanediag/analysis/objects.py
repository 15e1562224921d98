"""Small readers over raw Kubernetes JSON (names, labels, conditions, readiness, owners)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kplanediag.snapshot import Obj, parse_time

# Raw JSON objects are plain dicts: ``isinstance(x, dict)`` is several times faster than ``Mapping``
# on the hot paths below, which run for every pod of a large cluster.


def meta(obj: Obj) -> Mapping[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def name(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def namespace(obj: Obj) -> str:
    return str(meta(obj).get("namespace", ""))


def key(obj: Obj) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects."""
    ns = namespace(obj)
    return f"{ns}/{name(obj)}" if ns else name(obj)


def labels(obj: Obj) -> Mapping[str, str]:
    value = meta(obj).get("labels")
    return value if isinstance(value, dict) else {}


def spec(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def conditions(obj: Obj) -> list[Mapping[str, Any]]:
    value = status(obj).get("conditions")
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


def condition(obj: Obj, type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions(obj) if c.get("type") == type_), None)


def controller_ref(obj: Obj) -> Mapping[str, Any] | None:
    refs = meta(obj).get("ownerReferences")
    if not isinstance(refs, list):
        return None
    return next((r for r in refs if isinstance(r, Mapping) and r.get("controller")), None)


def int_field(mapping: Mapping[str, Any], field: str, default: int = 0) -> int:
    value = mapping.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def time_field(mapping: Mapping[str, Any], field: str) -> datetime | None:
    return parse_time(mapping.get(field))


# --- pods -----------------------------------------------------------------------------------------


def pod_node(pod: Obj) -> str:
    return str(spec(pod).get("nodeName") or "")


def pod_ready(pod: Obj) -> bool:
    cond = condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True") and status(pod).get("phase") == "Running"


def pod_terminated(pod: Obj) -> bool:
    return status(pod).get("phase") in ("Succeeded", "Failed")


def pod_pending_unscheduled(pod: Obj) -> bool:
    return status(pod).get("phase") == "Pending" and not pod_node(pod) and not meta(pod).get("deletionTimestamp")


def crash_looping(pod: Obj) -> bool:
    for cs in status(pod).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            return True
    return False


def pod_state(pod: Obj) -> str:
    """A short human description: "Ready", "CrashLoopBackOff", "not ready", "Pending" ..."""
    if crash_looping(pod):
        return "CrashLoopBackOff"
    if pod_ready(pod):
        return "Ready"
    phase = status(pod).get("phase") or "unknown phase"
    return "not ready" if phase == "Running" else str(phase)


def image_tag(pod_or_template: Obj) -> str | None:
    containers = spec(pod_or_template).get("containers") or []
    image = str(containers[0].get("image", "")) if containers else ""
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    return tag or None


def selector_matches(selector: Mapping[str, Any] | None, obj_labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions); an empty selector matches everything."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if obj_labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        k, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = k in obj_labels
        if op == "In" and (not present or obj_labels[k] not in values):
            return False
        if op == "NotIn" and present and obj_labels[k] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def minor_version(version: object) -> tuple[int, int] | None:
    """(major, minor) of "v1.36.2", "v1.30.1-eks-abc" or "1.29+"; None if unparseable."""
    if not isinstance(version, str):
        return None
    parts = version.lstrip("v").split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()))
    except (IndexError, ValueError):
        return None
