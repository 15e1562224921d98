"""sonobuoy results (``sonobuoy retrieve``): their layout and capture time (docs/input.md)."""

from __future__ import annotations

from kplanediag.snapshot.bundles.layout import (
    TIME,
    VERSION,
    CaptureTime,
    Layout,
    Meta,
    Route,
    newest_in,
    resource_of,
    version_file,
)


# ``resources/cluster/<file>.json`` and ``resources/ns/<ns>/<file>.json``, each a JSON array of objects; the
# file is named ``<group>_<version>_<resource>.json`` (``core_v1_pods.json``) or, up to sonobuoy 0.10,
# ``Pods.json``. /version: ``serverversion.json``.
def _from_file_name(name: str) -> Route | None:
    stem = name.removesuffix(".json")
    if stem == name:
        return None
    group, _, rest = stem.rpartition("_")  # "core_v1", "pods"  |  "", "Pods"
    resource = resource_of(rest)
    if not resource:
        return None
    group, _, version = group.rpartition("_")
    api = "" if not version else version if group == "core" else f"{group}/{version}"
    return Route(resource=resource, api_version=api)


def route(parts: tuple[str, ...]) -> Route | None:
    if len(parts) >= 2 and parts[-2] == "meta" and parts[-1] in ("run.log", "query-time.json"):
        return Route(role=TIME)
    if len(parts) <= 2 and parts[-1] == "serverversion.json":
        return Route(role=VERSION)
    for i in range(len(parts) - 2):
        if parts[i] != "resources":
            continue
        rest = parts[i + 1 :]
        if (rest[0] == "cluster" and len(rest) == 2) or (rest[0] == "ns" and len(rest) == 3):
            return _from_file_name(rest[-1])
    return None


# Capture time: the last entry of the aggregator's log ``meta/run.log`` (``meta/query-time.json`` holds
# durations only, unless a version stores a time there).
def capture_time(meta: Meta) -> CaptureTime | None:
    return newest_in(meta, "meta/query-time.json", "sonobuoy's meta/query-time.json") or newest_in(
        meta, "meta/run.log", "the last entry of sonobuoy's meta/run.log (the end of its resource queries)"
    )


LAYOUT = Layout(
    name="sonobuoy results",
    source="sonobuoy",
    route=route,
    capture_time=capture_time,
    version=lambda meta: version_file(meta, "serverversion.json"),
)
