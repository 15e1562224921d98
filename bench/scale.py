"""The envelope (issue 26, item 4): a live ``kplanediag check -o json`` at 3,000, 30,000 and 150,000 pods
on 5,000 kwok nodes, against the protobuf limit at each size; ``make bench-scale``.

    make bench-scale                                    # 5,000 nodes; 3k, 30k, 150k pods
    make bench-scale ARGS='--sizes 3000,30000 --runs 2'  # a smaller try; --keep, --reuse as bench/live.py
    make bench-scale ARGS="--reuse --peer 'before=env PYTHONPATH=../old kplanediag check -o json'"

The cluster is lab/scale/'s throwaway ``kplanediag-bench`` (never the shared lab), filled by
bench/fill.py: pods created already bound to their nodes, owned by ReplicaSets of Deployments, with
a Service and a PDB per 10 pods; each size is measured once every pod is Running, Ready and in its
Service's EndpointSlice (``--fill etcd``, the default: the first workload through the API, the
others cloned from it into etcd, bench/etcd_fill.py; ``--fill api``: all through the API). Three
tools, interleaved, ``--runs`` times after ``--warmup`` (bench/live.py's machinery, bench/measure.py's
wall time and peak RSS): kplanediag, the limit (the same protobuf pages parsed by the protobuf package
alone) and the same pages decoded by kplanediag's decoder (no analysis);
with each ``--peer NAME=COMMAND`` (bench/peers.py: KUBECONFIG set) another tool in the same runs, such
as kplanediag before a change. Beside them, each control-plane process's memory and etcd's database
size. Targets are PASS/FAIL lines; everything is saved in bench/results/scale-<sizes>.json after each size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fill import VIAS, fill
from bench.live import DECODED, JSON_OUT, LIMIT, RESULTS, ROOT, Tool, count, kpd, limit_cmd, mb, print_size, run_tools
from bench.peers import OK, PREFIX, PeerError, parse_peer, peer_command
from bench.quiet import settle
from bench.serve import status_kib
from kplanediag import __version__
from kplanediag.collect.lists import PAGE_SIZE
from lab import labctl, scale

DEFAULT_SIZES = (3000, 30000, 150000)
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller")
RATIO_BOUND = 1.2  # kplanediag's time over the limit's, at 30,000 pods and more
RSS_BOUND_MB = 150  # kplanediag's peak RSS at 30,000 pods, in MB of 10^6 bytes as bench.live's
SLOPE_BOUND = 5.5  # 150k over 30k, of time and of memory: linear is 5
# the run's 30 s default deadline is ten times a 30,000-pod check, not a 150,000-pod one; each
# request gets the limit's own timeout (bench/limit.py), so that both read every list to its end
KPD_LIMITS = ("--deadline", "10m", "--request-timeout", "60s")


def tools(kubeconfig: Path, peers: Sequence[tuple[str, list[str]]] = ()) -> list[Tool]:
    """kplanediag, the limit (protobuf package alone), the decoder, the peers; the limit's median is second."""
    out = [
        Tool(JSON_OUT, [kpd(), "check", "-o", "json", *KPD_LIMITS, "--kubeconfig", str(kubeconfig)], (0, 1, 2)),
        Tool(LIMIT, limit_cmd(kubeconfig, "protobuf", PAGE_SIZE)),
        Tool(DECODED, limit_cmd(kubeconfig, "protobuf", PAGE_SIZE, upb_only=False)),
    ]
    for name, argv in peers:
        cmd, env = peer_command(argv, kubeconfig)
        out.append(Tool(PREFIX + name, cmd, OK, env))
    return out


def cluster_state(cluster: scale.ScaleCluster) -> dict[str, Any]:
    """What the pods are (Ready by their Deployments, in endpoints, not Running), the nodes, and what
    the control plane holds: each process's resident memory and peak, etcd's database, free memory."""
    nodes, leases = scale.ready_nodes(cluster)
    deployments, ready, endpoints = scale.workload_state(cluster)
    pending = scale.column(cluster, "pods", "-A", "--field-selector=status.phase!=Running", jsonpath="{.items[*].kind}")
    memory = {}
    for name in COMPONENTS:
        pid = labctl.component_pid(cluster, name)
        if pid:
            memory[name] = {"rss": status_kib(pid, "VmRSS") * 1024, "peak": status_kib(pid, "VmHWM") * 1024}
    db = [p.stat().st_size for p in cluster.cluster_dir.rglob("member/snap/db")]
    available = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if "MemAvailable" in x)
    return {
        "readyNodes": nodes,
        "nodeLeases": leases,
        "deployments": deployments,
        "readyPods": ready,
        "readyEndpoints": endpoints,
        "podsNotRunning": len(pending),
        "memory": memory,
        "etcdDbBytes": max(db, default=None),
        "memAvailableBytes": available * 1024,
    }


def verdict(cmd: list[str]) -> dict[str, Any]:
    """One more, untimed run of kplanediag, its report kept (the timed runs keep only a small one):
    its exit code, headline and gaps. A run cut short would be fast for the wrong reason."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, cwd=ROOT)
    try:
        doc: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        return {"exit": proc.returncode, "error": proc.stderr[-300:]}
    return {"exit": proc.returncode, "summary": doc.get("summary"), "gaps": doc.get("gaps")}


def measure_size(
    cluster: scale.ScaleCluster, size: int, runs: int, warmup: int, peers: Sequence[tuple[str, list[str]]] = ()
) -> dict[str, Any]:
    state = cluster_state(cluster)
    tl = tools(cluster.kubeconfig, peers)
    run_tools(tl, runs, warmup)
    limit, decoded = (t.summary(None).get("median") for t in tl[1:3])
    figures = {t.name: t.summary(limit) for t in tl}
    mine = figures[JSON_OUT]
    if "median" in mine and decoded:
        mine["ratioToDecoder"] = round(mine["median"] / decoded, 3)
    mine["report"] = verdict(tl[0].cmd)
    print_size(size, tl, figures)
    said, headline = mine["report"], (mine["report"].get("summary") or {}).get("text")
    print(f"(kplanediag's report: exit {said['exit']}, {headline}; gaps {said.get('gaps')})")
    if "ratioToDecoder" in mine:
        print(f"(kplanediag over the decoder alone: {mine['ratioToDecoder']:.2f}x)")
    held = ", ".join(f"{n} {mb(m['rss'])}" for n, m in state["memory"].items())
    print(f"(cluster: {state['readyPods']:,} pods Ready, {state['podsNotRunning']} not Running; {held})", flush=True)
    return {"tools": figures, "read": count(tl[1]), "cluster": state}


def targets(by_size: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, bound: float, unit: str = "x") -> None:
        text = (f"{value:.0f} {unit}" if unit == "MB" else f"{value:.2f}{unit}") if value is not None else "no figure"
        out.append(
            {"target": name, "value": value, "bound": bound, "pass": value is not None and value <= bound, "text": text}
        )

    def tool(size: int) -> dict[str, Any]:
        got: dict[str, Any] = by_size[size]["tools"][JSON_OUT] if size in by_size else {}
        return got

    for size in sorted(by_size):
        if size >= 30000:
            add(
                f"check -o json <= {RATIO_BOUND}x the limit at {size:,} pods",
                tool(size).get("ratioToLimit"),
                RATIO_BOUND,
            )
    if 30000 in by_size:  # issue 26, item 3
        rss = tool(30000).get("peakRss")
        add(
            f"check -o json peak RSS <= {RSS_BOUND_MB} MB at 30,000 pods",
            rss / 1e6 if rss else None,
            RSS_BOUND_MB,
            "MB",
        )
    top = max(by_size, default=0)
    bound = round(SLOPE_BOUND * top / 150000, 2)  # 5.5 at 150k/30k: linear and 10% to spare
    for key, what in (("median", "time"), ("peakRss", "peak RSS")):
        a, b = tool(30000).get(key), tool(top).get(key)
        if a and b and top > 30000:
            add(f"slope {top:,} / 30,000 pods <= {bound}x, {what}", b / a, bound)
    return out


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="pod counts, multiples of 10")
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (median; default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument(
        "--settle",
        type=float,
        default=300,
        help="at most this many seconds waiting for the controller-manager's queues to empty (default 300)",
    )
    parser.add_argument("--fill", choices=VIAS, default="etcd", help="clone into etcd (default) or create via the API")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept cluster (its pods stay; the bench grows)")
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="with --reuse: measure the kept cluster as it is, no fill (which restarts the controller-manager)",
    )
    parser.add_argument("--name", default=scale.BENCH, help=f"kwokctl cluster name (default {scale.BENCH})")
    parser.add_argument("--out", type=Path, help="result file (default bench/results/scale-<sizes>.json)")
    parser.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="also measure another tool, KUBECONFIG set and {kubeconfig} filled in; repeatable (bench/peers.py)",
    )
    args = parser.parse_args(argv)
    try:
        args.peers = [parse_peer(p) for p in args.peer]
    except PeerError as exc:
        parser.error(str(exc))
    return args


def header(args: argparse.Namespace, sizes: list[int]) -> dict[str, Any]:
    return {
        "benchmark": "scale",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kplanediag": __version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "nodes": args.nodes,
        "sizes": sizes,
        "runs": args.runs,
        "pageSize": PAGE_SIZE,
        "fill": {},
        "peers": {name: " ".join(argv) for name, argv in args.peers},
        "bySize": {},
    }


def report(doc: dict[str, Any], out: Path) -> None:
    print("\n== targets")
    for t in doc["targets"]:
        print(f"{'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['text']}")
    print(f"\nbench wall time {doc['wallSeconds'] / 60:.1f} min; figures in {os.path.relpath(out, ROOT)}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    sizes = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    out = args.out or RESULTS / f"scale-{'_'.join(map(str, sizes))}.json"
    started = time.monotonic()
    doc = header(args, sizes)
    print(f"== scale benchmark: {args.nodes:,} nodes, pods {', '.join(f'{s:,}' for s in sizes)}", flush=True)
    cluster = scale.ScaleCluster(labctl.cache_root() / args.name.removeprefix("kplanediag-"), args.name)
    by_size: dict[int, dict[str, Any]] = {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.monotonic()
        scale.ensure(cluster, args.nodes, args.reuse)
        doc["fill"]["nodesSeconds"] = round(time.monotonic() - t0, 1)
        for size in sizes:
            if args.as_is and args.reuse:
                doc["fill"][str(size)] = {"asIs": True}
            else:
                doc["fill"][str(size)] = fill(cluster, size, via=args.fill)
            quiet = settle(cluster, args.settle)
            print(f"\n== {size:,} pods on {args.nodes:,} nodes", flush=True)
            by_size[size] = doc["bySize"][str(size)] = measure_size(cluster, size, args.runs, args.warmup, args.peers)
            by_size[size]["settle"] = quiet
            out.write_text(json.dumps(doc, indent=1) + "\n")  # after every size: a partial run keeps its figures
    except labctl.LabError as exc:
        print(f"bench: the scale cluster failed: {exc}", file=sys.stderr)
        doc["error"] = str(exc)
    finally:
        if not args.keep:
            scale.delete(cluster)
    doc["targets"] = targets(by_size)
    doc["wallSeconds"] = round(time.monotonic() - started, 1)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    report(doc, out)
    return 1 if "error" in doc else 0


if __name__ == "__main__":
    sys.exit(main())
