"""Benchmark: the /metrics exposition (render/metrics.py) of the offline bench's synthetic cluster.

    make bench            (or: python -m bench.series --nodes 5000 --pods-per-node 6)

Builds the cluster of bench/offline.py (default 5,000 nodes and 30,000 application pods, every
500th node silent), analyses it, and prints the number of series, per family, the exposition's size
and the time to build it (median of ``--runs``), against the bound of docs/metrics.md (< 30,000
series at 5,000 nodes). Nothing is asserted; ``--json FILE`` saves the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.offline import synthesize
from kplanediag.analysis.report import analyze
from kplanediag.render.metrics import RunStats, exposition
from tests.unit.factories import snapshot_from_dict

BOUND = 30_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=6)
    parser.add_argument("--failed-every", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = synthesize(args.nodes, args.pods_per_node, args.failed_every)
    pods = len(data["resources"]["pods"])
    report = analyze(snapshot_from_dict(data))
    del data
    build = time.perf_counter() - t0
    stats = RunStats(checks_total=1, last_success_timestamp=time.time(), last_duration_seconds=build)
    times, body = [], b""
    for _ in range(args.runs):
        start = time.perf_counter()
        body = exposition(report, stats)
        times.append(time.perf_counter() - start)
    lines = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
    families = Counter(line.split("{")[0].split(" ")[0] for line in lines)
    median = statistics.median(times)
    instances = len(report.components)
    print(f"cluster: {args.nodes} nodes, {pods} pods, {instances} component instances (built in {build:.0f}s)")
    print(f"series: {len(lines)} (bound {BOUND} at 5,000 nodes: {'PASS' if len(lines) < BOUND else 'FAIL'})")
    print(f"exposition: {len(body) / 1e6:.2f} MB, {median * 1000:.0f} ms (median of {args.runs})")
    for name, n in families.most_common():
        print(f"  {n:7d}  {name}")
    if args.json:
        doc = {
            "benchmark": "series",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "nodes": args.nodes,
            "pods": pods,
            "series": len(lines),
            "bytes": len(body),
            "expositionSeconds": median,
            "families": dict(families),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
