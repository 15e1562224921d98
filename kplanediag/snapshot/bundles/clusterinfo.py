"""``kubectl cluster-info dump --output-directory DIR``: its layout (docs/input.md); the same Lists
printed to stdout are read by stream.py."""

from __future__ import annotations

from kplanediag.snapshot.bundles.layout import Layout, Route

# ``nodes.json`` and ``<ns>/<resource>.json`` (typed Lists whose items carry no kind), and
# ``<ns>/<pod>/logs.txt`` (not read). The dump holds no capture time and no /version: the reader takes the
# newest timestamp in the objects.
FILES = {
    "pods.json": "pods",
    "services.json": "services",
    "daemonsets.json": "daemonsets",
    "deployments.json": "deployments",
    "replicasets.json": "replicasets",
    "events.json": "events",
}


def route(parts: tuple[str, ...]) -> Route | None:
    """The dump's own depth: ``nodes.json`` and ``<ns>/<file>``, under at most one top directory (an
    archive of it); deeper files of those names are someone else's."""
    if parts[-1] == "nodes.json" and len(parts) <= 2:
        return Route(resource="nodes")
    resource = FILES.get(parts[-1]) if 2 <= len(parts) <= 3 else None
    return Route(resource=resource, api_version="v1" if resource == "events" else "") if resource else None


LAYOUT = Layout(name="kubectl cluster-info dump", source="cluster-info-dump", route=route)
