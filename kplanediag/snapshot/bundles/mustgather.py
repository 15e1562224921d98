"""OpenShift/OKD must-gather (``oc adm must-gather``): its layout and capture time (docs/input.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from kplanediag.snapshot.bundles.layout import LOCKS, TIME, CaptureTime, Layout, Meta, Route, resource_of

_SUFFIXES = (".yaml", ".yml", ".json")
# "2021-08-03 12:11:56.91501602 +0200 CEST m=+1.651641915"
_GO_TIME = re.compile(rb"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))? ([+-])(\d\d)(\d\d)")


def _list(group: str, file: str, namespace: str = "") -> Route | None:
    stem = next((file[: -len(s)] for s in _SUFFIXES if file.endswith(s)), "")
    resource = resource_of(stem)
    if not resource or resource == LOCKS:  # Endpoints: YAML is read without annotations, so no lock
        return None
    return Route(resource=resource, api_version="v1" if group == "core" else group, namespace=namespace)


# YAML per list or object, under ``namespaces/<ns>/<group>/<resource>.yaml`` (``core`` for the core group:
# ``core/pods.yaml``) and ``cluster-scoped-resources/<group>/<resource>/<name>.yaml`` (or
# ``<resource>.yaml``). The per-pod directories (``namespaces/<ns>/pods/<pod>/``: logs, and a copy of the pod)
# are not read.
def route(parts: tuple[str, ...]) -> Route | None:
    if parts[-1] == "timestamp" and len(parts) <= 3:
        return Route(role=TIME)
    for i, part in enumerate(parts):
        rest = parts[i + 1 :]
        if part == "namespaces" and len(rest) == 3:
            return _list(rest[1], rest[2], rest[0])
        if part == "cluster-scoped-resources" and len(rest) in (2, 3):
            return _list(rest[0], rest[1] + ".yaml" if len(rest) == 3 else rest[1])
    return None


def _go_times(data: bytes) -> list[datetime]:
    times = []
    for m in _GO_TIME.finditer(data):
        day, clock, frac, sign, hh, mm = (g.decode() if g else "" for g in m.groups())
        try:
            local = datetime.fromisoformat(f"{day}T{clock}.{(frac or '0')[:6]:0<6}")
        except ValueError:
            continue
        offset = timedelta(hours=int(hh), minutes=int(mm)) * (1 if sign == "+" else -1)
        times.append(local.replace(tzinfo=UTC) - offset)
    return times


# Capture time: the ``timestamp`` files (Go time lines, start and end of each gather step): the newest, the
# end of the gather, when every file was written.
def capture_time(meta: Meta) -> CaptureTime | None:
    times = [t for path, data in meta.items() if path.endswith("timestamp") for t in _go_times(data)]
    return (max(times), "the must-gather's timestamp files (the end of the gather)") if times else None


LAYOUT = Layout(name="must-gather", source="must-gather", route=route, capture_time=capture_time)
