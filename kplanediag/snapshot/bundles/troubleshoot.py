"""troubleshoot.sh support bundles (``kubectl support-bundle``, kURL, Replicated): their layout and
capture time (docs/input.md)."""

from __future__ import annotations

from kplanediag.snapshot.bundles.layout import (
    ERRORS,
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

# Under ``cluster-resources/``, ``<resource>.json`` for cluster-scoped lists (``nodes.json``) and
# ``<resource>/<ns>.json`` for namespaced ones (``pods/kube-system.json``), each a typed List;
# ``<resource>-errors.json`` records what could not be collected. /version:
# ``cluster-info/cluster_version.json``.
ANCHOR = "cluster-resources"


def route(parts: tuple[str, ...]) -> Route | None:
    if parts[-1] == "version.yaml" and len(parts) <= 2:
        return Route(role=TIME)
    if parts[-2:] == ("cluster-info", "cluster_version.json"):
        return Route(role=VERSION)
    if ANCHOR not in parts[:-1]:
        return None
    rest = parts[parts.index(ANCHOR) + 1 :]
    if not rest[-1].endswith(".json") or len(rest) > 2:
        return None
    if len(rest) == 1 and rest[0].endswith("-errors.json"):
        return Route(resource=resource_of(rest[0].removesuffix("-errors.json")), role=ERRORS)
    resource = resource_of(rest[0].removesuffix(".json"))
    return Route(resource=resource, api_version="v1" if resource == "events" else "") if resource else None


# Capture time: a timestamp in ``version.yaml`` where the troubleshoot version writes one; else none (the
# reader falls back to the objects).
def capture_time(meta: Meta) -> CaptureTime | None:
    return newest_in(meta, "version.yaml", "the support bundle's version.yaml")


LAYOUT = Layout(
    name="troubleshoot support bundle",
    source="troubleshoot",
    route=route,
    capture_time=capture_time,
    version=lambda meta: version_file(meta, "cluster_version.json"),
)
