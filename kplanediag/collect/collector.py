"""Collects one Snapshot: /version, /livez and /readyz, then every list, paginated and served from
the API server's watch cache (resourceVersion=0), in parallel. A list that fails becomes a gap."""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kplanediag.collect.transport import CollectError, Response, Transport, UnreachableError
from kplanediag.snapshot import Gap, Obj, Probe, Snapshot, parse_health_body

PAGE_SIZE = 500
WORKERS = 4


@dataclass(frozen=True)
class ListCall:
    resource: str  # snapshot key
    path: str
    kind: str
    api_version: str


LISTS = (
    ListCall("nodes", "/api/v1/nodes", "Node", "v1"),
    ListCall("pods", "/api/v1/pods", "Pod", "v1"),
    ListCall("leases", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", "Lease", "coordination.k8s.io/v1"),
    ListCall(
        "leases", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", "Lease", "coordination.k8s.io/v1"
    ),
    ListCall("daemonsets", "/apis/apps/v1/daemonsets", "DaemonSet", "apps/v1"),
    ListCall("deployments", "/apis/apps/v1/deployments", "Deployment", "apps/v1"),
    ListCall("statefulsets", "/apis/apps/v1/statefulsets", "StatefulSet", "apps/v1"),
    ListCall("replicasets", "/apis/apps/v1/replicasets", "ReplicaSet", "apps/v1"),
    ListCall("services", "/api/v1/services", "Service", "v1"),
    ListCall("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", "EndpointSlice", "discovery.k8s.io/v1"),
    ListCall("poddisruptionbudgets", "/apis/policy/v1/poddisruptionbudgets", "PodDisruptionBudget", "policy/v1"),
)


class ListFailed(CollectError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Timings:
    """Server time seen in responses and per-call durations, for -v and for "now"."""

    newest: datetime | None = None

    def saw(self, response: Response) -> None:
        if response.server_time and (self.newest is None or response.server_time > self.newest):
            self.newest = response.server_time


def list_all(transport: Transport, call: ListCall, timings: Timings, say: Callable[[str], None]) -> list[Obj]:
    """Every item of one list, page by page; items get kind and apiVersion back (Lists omit them)."""
    items: list[Obj] = []
    fields = {"limit": str(PAGE_SIZE), "resourceVersion": "0"}
    pages = 0
    while True:
        response = transport.get(call.path, fields)
        timings.saw(response)
        if response.status != 200:
            raise ListFailed(response.reason())
        body: dict[str, Any] = response.json()
        pages += 1
        for item in body.get("items") or []:
            item["kind"], item["apiVersion"] = call.kind, call.api_version
            (item.get("metadata") or {}).pop("managedFields", None)  # never used; often half the bytes
            items.append(item)
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            say(f"{call.path}: {len(items)} items, {pages} page(s), {response.seconds * 1000:.0f} ms (last page)")
            return items
        fields = {"limit": str(PAGE_SIZE), "continue": token}  # a continue token carries its own resourceVersion


def probe(transport: Transport, endpoint: str, timings: Timings) -> Probe:
    response = transport.get(endpoint, {"verbose": "true"})
    timings.saw(response)
    return Probe(f"{endpoint}?verbose", response.status, parse_health_body(response.text()))


def collect(transport: Transport, verbose: bool = False) -> Snapshot:
    """Everything kplanediag needs, in a handful of requests. Raises only for authentication
    failures; an unreachable API server gives a Snapshot with ``reachable=False``."""

    def say(text: str) -> None:
        if verbose:
            print(f"[collect] {text}", file=sys.stderr)

    timings = Timings()
    local_start = datetime.now(UTC)
    try:
        version_response = transport.get("/version")
    except UnreachableError as exc:
        say(f"unreachable: {exc}")
        no_answer = Probe("/livez?verbose", None, (), str(exc))
        return Snapshot(
            collected_at=local_start,
            source="live",
            server=transport.server,
            reachable=False,
            livez=no_answer,
            gaps=(Gap("all", f"API server unreachable: {exc}"),),
        )
    timings.saw(version_response)
    version = version_response.json() if version_response.status == 200 else None
    gaps: list[Gap] = [] if version else [Gap("version", version_response.reason())]

    resources: dict[str, list[Obj]] = {}
    failed: set[str] = set()

    def fetch(call: ListCall) -> tuple[ListCall, list[Obj] | str]:
        try:
            return call, list_all(transport, call, timings, say)
        except ListFailed as exc:
            return call, exc.reason
        except UnreachableError as exc:
            return call, f"no answer within {transport.timeout:g}s ({exc})"

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        livez_future = pool.submit(probe, transport, "/livez", timings)
        readyz_future = pool.submit(probe, transport, "/readyz", timings)
        for call, result in pool.map(fetch, LISTS):
            if isinstance(result, str):
                gaps.append(
                    Gap(call.resource if call.resource != "leases" else f"leases ({call.path.split('/')[-2]})", result)
                )
                failed.add(call.resource)
            else:
                resources.setdefault(call.resource, []).extend(result)
        livez = readyz = None
        for name, future in (("livez", livez_future), ("readyz", readyz_future)):
            try:
                result_probe = future.result()
            except UnreachableError as exc:
                result_probe = Probe(f"/{name}?verbose", None, (), str(exc))
                gaps.append(Gap(name, f"no answer within {transport.timeout:g}s"))
            if name == "livez":
                livez = result_probe
            else:
                readyz = result_probe
    return Snapshot(
        collected_at=timings.newest or local_start,
        source="live",
        server=transport.server,
        version=version,
        livez=livez,
        readyz=readyz,
        resources={k: tuple(v) for k, v in resources.items() if k not in failed},
        gaps=tuple(gaps),
    )
