"""Throwaway scale clusters for the live benchmark (bench/live.py) and the API-cost e2e test.
Their command line, ``python -m lab.scale``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lab import labctl
from lab.labctl import LabError
from lab.scale.base import BENCH, PER_DEPLOYMENT, ScaleCluster, api_ready
from lab.scale.cluster import create, delete
from lab.scale.workload import ready_nodes, scale_nodes, scale_pods, workload_state


def status(cluster: ScaleCluster) -> dict[str, object]:
    if not api_ready(cluster):
        return {"name": cluster.name, "running": False}
    nodes, leases = ready_nodes(cluster)
    deployments, pods, endpoints = workload_state(cluster)
    return {
        "name": cluster.name,
        "running": True,
        "kubeconfig": str(cluster.kubeconfig),
        "readyNodes": nodes,
        "nodeLeases": leases,
        "deployments": deployments,
        "readyPods": pods,
        "readyEndpoints": endpoints,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """python -m lab.scale create --nodes 1000          # prints the kubeconfig
    python -m lab.scale scale --pods 30000 [--nodes N]
    python -m lab.scale status | kubeconfig | delete [--name NAME]"""
    parser = argparse.ArgumentParser(prog="python -m lab.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=BENCH, help=f"kwokctl cluster name (default {BENCH})")
    parser.add_argument(
        "--root", type=Path, help="its directory (default ~/.cache/kplanediag/<name without kplanediag->)"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("create", help="create (or recreate) the cluster with N Ready nodes")
    p.add_argument("--nodes", type=int, default=1000)
    p = sub.add_parser("scale", help="scale nodes and the bench workload")
    p.add_argument("--nodes", type=int)
    p.add_argument("--pods", type=int, required=True)
    p.add_argument("--per-deployment", type=int, default=PER_DEPLOYMENT)
    sub.add_parser("delete", help="delete the cluster")
    sub.add_parser("status", help="nodes, pods and endpoints, as JSON")
    sub.add_parser("kubeconfig", help="print the kubeconfig path")
    args = parser.parse_args(argv)
    root = args.root or labctl.cache_root() / args.name.removeprefix("kplanediag-")
    cluster = ScaleCluster(root, args.name)
    try:
        if args.cmd == "create":
            print(create(cluster, args.nodes))
        elif args.cmd == "scale":
            if args.nodes is not None:
                scale_nodes(cluster, args.nodes)
            scale_pods(cluster, args.pods, args.per_deployment)
        elif args.cmd == "delete":
            delete(cluster)
        elif args.cmd == "status":
            print(json.dumps(status(cluster), indent=2))
        else:
            print(cluster.kubeconfig)
    except LabError as exc:
        print(f"[lab] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0
