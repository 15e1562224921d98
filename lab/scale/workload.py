"""Scaling a scale cluster: kwok nodes, then Deployments, Services and PDBs, waited on until Ready."""

from __future__ import annotations

import subprocess
import time

from lab.labctl import LabError, log, wait_for
from lab.scale.base import NAMESPACE, PER_DEPLOYMENT, RESOURCES, ScaleCluster, bench_namespace, column, kwokctl


def ready_nodes(cluster: ScaleCluster) -> tuple[int, int]:
    ready = column(
        cluster, "nodes", jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'
    )
    leases = column(
        cluster, "leases", "-n", "kube-node-lease", jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}'
    )
    return sum(1 for r in ready if r == "True"), len(leases)


def scale_nodes(cluster: ScaleCluster, nodes: int, timeout: float | None = None) -> float:
    """``kwokctl scale node --replicas N``, then wait until N nodes are Ready with a Lease."""
    t0 = time.monotonic()
    # one node at a time: 5,000 took 567 s on a loaded 2-core machine, near kwokctl()'s 600 s default
    kwokctl(cluster, "scale", "node", "--replicas", str(nodes), timeout=max(600, nodes / 4))
    wait_for(
        f"{nodes} Ready nodes with Leases",
        lambda: ready_nodes(cluster) == (nodes, nodes),
        timeout or 60 + nodes / 10,
        2,
    )
    took = time.monotonic() - t0
    log(f"{cluster.name}: {nodes} nodes Ready in {took:.1f}s")
    return took


def deployments_for(pods: int, per_deployment: int) -> int:
    if pods % per_deployment:
        raise LabError(f"{pods} pods is not a multiple of {per_deployment} pods per Deployment")
    return pods // per_deployment


def workload_state(cluster: ScaleCluster) -> tuple[int, int, int]:
    """(Deployments, ready pods by their Deployments, ready endpoints) in the bench namespaces."""
    ready = column(
        cluster,
        "deployments",
        "-A",
        jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.readyReplicas}{"\\n"}{end}',
        timeout=300,
    )
    endpoints = column(
        cluster,
        "endpointslices",
        "-A",
        jsonpath='{range .items[*]}{range .endpoints[*]}{.targetRef.namespace}/{.conditions.ready}{"\\n"}{end}{end}',
        timeout=300,
    )
    ready = [r for r in ready if bench_namespace(r.split("/", 1)[0])]
    pods = sum(int(r.split("=", 1)[1] or 0) for r in ready)
    in_bench = (e.split("/", 1) for e in endpoints)
    return len(ready), pods, sum(1 for ns, *is_ready in in_bench if bench_namespace(ns) and is_ready == ["true"])


def scale_pods(
    cluster: ScaleCluster, pods: int, per_deployment: int = PER_DEPLOYMENT, timeout: float | None = None
) -> float:
    """Scale the bench workload to ``pods`` Running and Ready pods (``pods / per_deployment``
    Deployments, each with a Service and a PDB); waits until every pod is Ready and in its
    Service's EndpointSlice. Returns the seconds it took."""
    deployments = deployments_for(pods, per_deployment)
    cluster.resources.write_text(RESOURCES.replace("@REPLICAS@", str(per_deployment)))
    t0 = time.monotonic()
    # kwokctl scale creates one object at a time: the three kinds in parallel
    procs = {
        kind: subprocess.Popen(
            [
                *(str(cluster.bin / "kwokctl"), "--name", cluster.name, "--config", str(cluster.resources)),
                *("scale", kind, "app", "--namespace", NAMESPACE, "--replicas", str(deployments)),
            ],
            env=cluster.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for kind in ("deployment", "service", "pdb")
    }
    for kind, proc in procs.items():
        _, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise LabError(f"kwokctl scale {kind} failed ({proc.returncode}): {err.strip()[-800:]}")
    log(f"{cluster.name}: {deployments} Deployments, Services and PDBs applied in {time.monotonic() - t0:.1f}s")
    last: list[tuple[int, int, int]] = []

    def done() -> bool:
        state = workload_state(cluster)
        if not last or state != last[-1]:
            log(f"{cluster.name}: {state[0]} Deployments, {state[1]} ready pods, {state[2]} ready endpoints")
        last.append(state)
        return state == (deployments, pods, pods)

    wait_for(f"{pods} ready pods with endpoints", done, timeout or 120 + pods / 10, max(5, pods / 1000))
    took = time.monotonic() - t0
    log(f"{cluster.name}: {pods} pods Running and Ready in {took:.1f}s")
    return took
