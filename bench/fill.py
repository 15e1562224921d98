"""Filling a scale cluster in minutes (issue 26, item 4): the bench workload's objects (lab/scale/pods.py)
created directly, pods already bound, over keep-alive connections while the controller-manager is held.

Why it stays steady: the controller-manager is stopped (and its Lease released for its successor) while
every Deployment, its ReplicaSet (owned by it, revision annotations written) and its pods (owned by
the ReplicaSet, ``spec.nodeName`` set) are created; when it starts again its informers list
everything before any worker runs, so the ReplicaSet controller counts ``replicas`` pods it owns
and creates none, and the Deployment controller finds its ReplicaSet by template (the
pod-template-hash left out) and makes no other. It only writes statuses, EndpointSlices and PDB
statuses, as after any restart. The scheduler has nothing to bind; kwok makes the pods Running.
Past the first workload the default is bench/etcd_fill.py: the others cloned from it into etcd.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench import etcd_fill
from bench.limit import Endpoint, endpoint
from lab.labctl import LabError, cache_root, kubectl, log, wait_for
from lab.scale import (
    BENCH,
    PER_DEPLOYMENT,
    ScaleCluster,
    bench_namespace,
    column,
    deployments_for,
    namespace_for,
    workload_state,
)
from lab.scale import pods as objects

KCM = "kube-controller-manager"
WORKERS = 64  # requests in flight, one keep-alive connection each (a create waits ~0.1 s at 5,000 nodes)
RETRIES = 8
VIAS = ("etcd", "api")


class FillError(LabError):
    pass


@dataclass
class Creator:
    """POSTs over one keep-alive connection per thread; 409 (already there, from an earlier run)
    answers with the existing object, 429 and 5xx are retried."""

    endpoint: Endpoint
    local: threading.local = field(default_factory=threading.local)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _send(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        conn: http.client.HTTPSConnection | None = getattr(self.local, "conn", None)
        if conn is None:
            ep = self.endpoint
            conn = self.local.conn = http.client.HTTPSConnection(ep.host, ep.port, context=ep.context, timeout=60)
        headers = {**self.endpoint.headers, "Accept": "application/json", "Content-Type": "application/json"}
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            return 0, b""

    def create(self, kind: str, obj: dict[str, Any]) -> str:
        """Create ``obj``; its uid."""
        path = objects.paths(obj["metadata"]["namespace"])[kind]
        body = json.dumps(obj, separators=(",", ":")).encode()
        for attempt in range(RETRIES):
            status, answer = self._send("POST", path, body)
            with self.lock:
                self.requests += 1
            if status == 409:
                status, answer = self._send("GET", f"{path}/{obj['metadata']['name']}", None)
            if status in (200, 201):
                uid: str = json.loads(answer)["metadata"]["uid"]
                return uid
            if status and status != 429 and status < 500:
                raise FillError(f"POST {path}: HTTP {status}: {answer[:300]!r}")
            time.sleep(0.2 * (attempt + 1))
        raise FillError(f"POST {path}: no answer after {RETRIES} attempts")

    def workload(self, serial: int, per: int, nodes: list[str]) -> None:
        name = objects.workload_name(serial)
        dep = self.create("Deployment", objects.deployment(name, per))
        rs = self.create("ReplicaSet", objects.replicaset(name, dep, per))
        for replica in range(per):
            node = objects.node_for(serial * per + replica, nodes)
            self.create("Pod", objects.pod(name, rs, replica, node))
        self.create("Service", objects.service(name))
        self.create("PodDisruptionBudget", objects.pdb(name))


def node_names(cluster: ScaleCluster) -> list[str]:
    return sorted(column(cluster, "nodes", jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}'))


def workloads(cluster: ScaleCluster) -> int:
    names = column(cluster, "deployments", "-A", jsonpath='{range .items[*]}{.metadata.namespace}{"\\n"}{end}')
    return sum(1 for ns in names if bench_namespace(ns))


def ensure_namespaces(cluster: ScaleCluster, serials: range) -> None:
    """The namespaces of workloads ``serials`` (bench/fill.py's objects there need them; the API's
    need their default ServiceAccount too, which the controller-manager makes)."""
    wanted = sorted({namespace_for(s) for s in serials})
    have = set(column(cluster, "namespaces", jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}'))
    missing = [ns for ns in wanted if ns not in have]
    if missing:
        items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in missing]
        kubectl(cluster, "apply", "-f", "-", input_=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        log(f"{cluster.name}: {len(missing)} namespaces created")

    def accounts() -> bool:
        found = column(cluster, "serviceaccounts", "-A", "--field-selector=metadata.name=default",
                       jsonpath='{range .items[*]}{.metadata.namespace}{"\\n"}{end}')  # fmt: skip
        return set(wanted) <= set(found)

    wait_for(f"the default ServiceAccount in {len(wanted)} namespaces", accounts, 300, 2)


def create_all(cluster: ScaleCluster, serials: range, per: int, progress: Callable[[int], None]) -> int:
    """Every workload of ``serials``, ``WORKERS`` at a time; the number of requests sent."""
    nodes = node_names(cluster)
    with endpoint(cluster.kubeconfig) as ep:
        creator = Creator(ep)
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [pool.submit(creator.workload, s, per, nodes) for s in serials]
            for done, future in enumerate(futures, 1):
                future.result()
                progress(done)
    return creator.requests


def wait_ready(cluster: ScaleCluster, deployments: int, pods: int, timeout: float) -> None:
    last: list[tuple[int, int, int]] = []

    def done() -> bool:
        state = workload_state(cluster)
        if not last or state != last[-1]:
            log(f"{cluster.name}: {state[0]} Deployments, {state[1]} ready pods, {state[2]} ready endpoints")
        last.append(state)
        return state == (deployments, pods, pods)

    wait_for(f"{pods} ready pods with endpoints", done, timeout, 10)


def fill(cluster: ScaleCluster, pods: int, per: int = PER_DEPLOYMENT, via: str = "etcd") -> dict[str, float | int]:
    """Grow the bench workload to ``pods`` pods, Running and Ready in their Services' endpoints;
    how long creating them and their becoming ready took. ``via="etcd"``: the first workload
    through the API, every other one cloned into etcd (bench/etcd_fill.py); ``"api"``: all through the API."""
    target = deployments_for(pods, per)
    if via == "api" or target <= 1:
        return fill_api(cluster, target, per)
    t0 = time.monotonic()
    first = fill_api(cluster, 1, per) if workloads(cluster) == 0 else {}
    have = workloads(cluster)
    have = have if have > target else max(1, have - 1)  # an interrupted run may have left the last one half written
    if have > target:
        cloned = etcd_fill.shrink(cluster, target)
    else:
        ensure_namespaces(cluster, range(have, target))
        cloned = etcd_fill.clone(cluster, range(have, target), per, node_names(cluster))
    wait_ready(cluster, target, pods, 600 + pods / 100)
    wait_leader(cluster)
    ready = time.monotonic() - t0
    log(f"{cluster.name}: {pods} pods Running, Ready and in endpoints after {ready:.1f} s")
    return {**{f"api{k[0].upper()}{k[1:]}": v for k, v in first.items()}, **cloned, "readySeconds": round(ready, 1)}


def wait_leader(cluster: ScaleCluster, timeout: float = 300) -> None:
    """Until the controller-manager renews its leader Lease (a check before would find it down)."""

    def renewed() -> bool:
        at = column(cluster, "lease", "-n", "kube-system", KCM, jsonpath="{.spec.renewTime}")
        return bool(at) and time.time() - datetime.fromisoformat(at[0].replace("Z", "+00:00")).timestamp() < 15

    took = wait_for(f"{KCM} to renew its leader Lease", renewed, timeout, 2)
    log(f"{cluster.name}: {KCM} renews its leader Lease ({took:.0f} s)")


def fill_api(cluster: ScaleCluster, target: int, per: int) -> dict[str, float | int]:
    """Every workload up to ``target`` through the API, the controller-manager held while they are created."""
    pods = target * per
    have = max(0, workloads(cluster) - WORKERS)  # the last ones may be half made (an interrupted run)
    if have > target:
        raise FillError(f"{have * per} pods already, more than {pods}: the bench only grows")
    step = max(1, (target - have) // 10)

    def progress(done: int) -> None:
        if done % step == 0:
            log(f"{cluster.name}: {(have + done) * per} pods created ({time.monotonic() - t0:.0f} s)")

    ensure_namespaces(cluster, range(have, target))
    t0 = time.monotonic()
    with etcd_fill.held_controller_manager(cluster):
        requests = create_all(cluster, range(have, target), per, progress)
    created = time.monotonic() - t0
    log(f"{cluster.name}: {(target - have) * per} pods created directly in {created:.1f} s ({requests} requests)")
    wait_ready(cluster, target, pods, 600 + pods / 20)  # the controller-manager's catch-up took 7+ min at 30k
    wait_leader(cluster)
    ready = time.monotonic() - t0
    log(f"{cluster.name}: {pods} pods Running, Ready and in endpoints after {ready:.1f} s")
    return {"createdSeconds": round(created, 1), "readySeconds": round(ready, 1), "requests": requests}


def main(argv: list[str] | None = None) -> int:
    """python -m bench.fill --pods 30000: grow a running scale cluster's bench workload (lab/scale)."""
    parser = argparse.ArgumentParser(prog="python -m bench.fill", description=main.__doc__)
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--name", default=BENCH, help=f"kwokctl cluster name (default {BENCH})")
    parser.add_argument("--via", choices=VIAS, default="etcd", help="all through the API, or cloned into etcd")
    args = parser.parse_args(argv)
    cluster = ScaleCluster(cache_root() / args.name.removeprefix("kplanediag-"), args.name)
    try:
        print(json.dumps(fill(cluster, args.pods, via=args.via)))
    except LabError as exc:
        print(f"bench.fill: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
