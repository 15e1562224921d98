"""Live benchmark: kplanediag against a real kwok cluster, side by side with kubectl and the bare
cost of its reads, at several sizes.

    make bench                                   # offline, then this: 1,000 nodes; 3k, 10k, 30k pods
    make bench ARGS='--sizes 300,1000 --runs 2'  # a quick try (or BENCH_SIZES=300,1000)
    python -m bench.live --keep ...; python -m bench.live --reuse ...   # keep the cluster for re-runs

The cluster is lab/scale/'s throwaway ``kplanediag-bench`` (never the shared lab cluster): real
etcd, kube-apiserver, controller-manager and scheduler, kwok playing 1,000 kubelets and renewing
their Leases; per 10 pods one Deployment (its ReplicaSet and pods made by the controller-manager,
scheduled by the scheduler), one Service with its EndpointSlice and one PodDisruptionBudget. It is
deleted at the end unless ``--keep``.

Each tool runs as its own process, ``--runs`` times (after one untimed warm-up), interleaved; wall
time and peak RSS come from bench/measure.py (the child started by GNU time, so that its peak RSS is
its own and not this process's; a plain wait4 from here would report this process's peak):

- ``kplanediag check -o json`` and ``kplanediag check`` (exit codes 0-2 are results, 3 a failure);
- ``kplanediag check -o json`` with ``KPLANEDIAG_WIRE=json`` (the JSON fallback);
- ``kubectl get pods -A -o json`` (the lab's kubectl);
- the limit (bench/limit.py): the lists kplanediag reads, as protobuf pages, parsed with the
  protobuf package alone (no conversion, no analysis);
- the same protobuf pages decoded into kplanediag's typed objects (its decoder, no analysis);
- the same lists as JSON pages of the same size, bytes only;
- each ``--peer NAME=COMMAND`` (Popeye, k8sgpt, ... as installed by whoever runs the bench; never
  built here), with the cluster's kubeconfig in KUBECONFIG and in ``{kubeconfig}`` (bench/peers.py).

Then ``kplanediag --version`` against ``python -c 'import click'``, and at the biggest size a
page-size sweep of the limit and ``kplanediag serve``'s series count and memory (bench/serve.py).
Nothing is asserted: the targets are printed as PASS/FAIL lines and everything is saved as JSON in
bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import measure as honest_measure
from bench.peers import OK, PREFIX, PeerError, parse_peer, peer_command
from bench.serve import measure_serve
from bench.serve import report as report_serve
from kplanediag import __version__
from kplanediag.collect.lists import PAGE_SIZE
from kplanediag.collect.pages import WORKERS
from lab import labctl, scale

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
DEFAULT_SIZES = (3000, 10000, 30000)
SWEEP = (500, 2000, 5000, 0)  # 0: one page per list
REFERENCE = "Popeye v0.22 38.3 s / 4.1 GB, k8sgpt 4.05 s / 763 MB at 30,000 pods"
TIMEOUT = 600.0

# names of the tools in tables and JSON
JSON_OUT = "kplanediag check -o json"
TABLE_OUT = "kplanediag check"
JSON_WIRE = "kplanediag check -o json, KPLANEDIAG_WIRE=json"
KUBECTL = "kubectl get pods -A -o json"
LIMIT = "limit: protobuf pages, parsed"
DECODED = "protobuf pages into Structs"
JSON_BYTES = "JSON pages, bytes only"
VERSION = "kplanediag --version"
CLICK = "python -c 'import click'"


@dataclass
class Sample:
    wall: float
    rss: int  # bytes
    code: int
    stdout_bytes: int
    stderr_tail: str = ""
    cpu: float = 0.0  # the tool's own CPU seconds (user and system)
    machine_cpu: float = 0.0  # every process's CPU seconds meanwhile: the tool's and the cluster's


@dataclass
class Tool:
    name: str
    cmd: list[str]
    ok: tuple[int, ...] = (0,)
    env: dict[str, str] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    failures: list[Sample] = field(default_factory=list)
    last_stdout: str = ""

    def summary(self, limit: float | None) -> dict[str, Any]:
        walls = [s.wall for s in self.samples]
        out: dict[str, Any] = {
            "cmd": " ".join(self.cmd),
            "env": self.env,
            "runs": len(self.samples),
            "failures": [asdict(f) for f in self.failures],
            "walls": [round(w, 4) for w in walls],
            "exitCodes": sorted({s.code for s in self.samples}),
            "outputBytes": self.samples[-1].stdout_bytes if self.samples else None,
        }
        if walls:
            median = statistics.median(walls)
            out |= {
                "median": round(median, 4),
                "min": round(min(walls), 4),
                "max": round(max(walls), 4),
                "peakRss": max(s.rss for s in self.samples),
                "ratioToLimit": round(median / limit, 3) if limit else None,
                "cpuMedian": round(statistics.median(s.cpu for s in self.samples), 3),
                "machineCpuMedian": round(statistics.median(s.machine_cpu for s in self.samples), 3),
            }
        return out


def measure(cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float = TIMEOUT) -> tuple[Sample, str]:
    """Run one child to its end: wall time, and its own peak RSS (bench/measure.py)."""
    got = honest_measure(cmd, env, timeout, ROOT)
    return Sample(got.wall, got.rss, got.code, got.size, got.tail, got.cpu, got.machine_cpu), got.head


def run_tools(tools: list[Tool], runs: int, warmup: int) -> None:
    for i in range(warmup + runs):
        for tool in tools:
            env = {**os.environ, **tool.env} if tool.env else None
            sample, stdout = measure(tool.cmd, env)
            tool.last_stdout = stdout
            if sample.code not in tool.ok:
                tool.failures.append(sample)
                print(f"  ! {tool.name}: exit {sample.code}: {sample.stderr_tail.strip()[-300:]}", flush=True)
            elif i >= warmup:
                tool.samples.append(sample)
        if i >= warmup:
            print(f"  run {i - warmup + 1}/{runs} done", flush=True)


def kpd() -> str:
    return str(VENV_BIN / "kplanediag")


def limit_cmd(kubeconfig: Path, wire: str, page_size: int, parse: bool = True, upb_only: bool = True) -> list[str]:
    cmd = [sys.executable, "-m", "bench.limit", "--kubeconfig", str(kubeconfig), "--wire", wire]
    cmd += ["--page-size", str(page_size), "--workers", str(WORKERS)]
    if upb_only and parse:
        cmd.append("--upb-only")
    return cmd if parse else [*cmd, "--no-parse"]


def tools_for(kubeconfig: Path, kubectl: Path, page_size: int) -> list[Tool]:
    k = ["--kubeconfig", str(kubeconfig)]
    kplane = (0, 1, 2)
    return [
        Tool(JSON_OUT, [kpd(), "check", "-o", "json", *k], kplane),
        Tool(TABLE_OUT, [kpd(), "check", *k], kplane),
        Tool(JSON_WIRE, [kpd(), "check", "-o", "json", *k], kplane, {"KPLANEDIAG_WIRE": "json"}),
        Tool(KUBECTL, [str(kubectl), *k, "get", "pods", "-A", "-o", "json"]),
        Tool(LIMIT, limit_cmd(kubeconfig, "protobuf", page_size)),
        Tool(JSON_BYTES, limit_cmd(kubeconfig, "json", page_size, parse=False)),
        Tool(DECODED, limit_cmd(kubeconfig, "protobuf", page_size, upb_only=False)),
    ]


def label(path: str) -> str:
    """``pods``, ``leases (kube-node-lease)``: a list path, short."""
    parts = path.split("/")
    return f"{parts[-1]} ({parts[parts.index('namespaces') + 1]})" if "namespaces" in parts else parts[-1]


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        return "  ".join(cells)

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def print_size(size: int, tools: list[Tool], figures: dict[str, dict[str, Any]]) -> None:
    rows = []
    for tool in tools:
        f = figures[tool.name]
        if "median" not in f:
            rows.append([tool.name, "FAILED", "", "", "", "", ""])
            continue
        ratio = f"{f['ratioToLimit']:.2f}x" if f.get("ratioToLimit") else "-"
        cpu = [f"{f['cpuMedian']:.2f} s", f"{f['machineCpuMedian']:.2f} s"]
        wall = [f"{f['median']:.2f} s", f"{f['min']:.2f}-{f['max']:.2f} s"]
        rows.append([tool.name, *wall, mb(f["peakRss"]), ratio, *cpu])
    print(table(rows, ["tool", "wall median", "min-max", "peak RSS", "vs limit", "own CPU", "machine CPU"]))


def go_list_popeye() -> str:
    try:
        proc = subprocess.run(
            ["go", "list", "-m", "github.com/derailed/popeye@latest"],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            cwd=tempfile.gettempdir(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    text = (proc.stderr or proc.stdout).strip().splitlines()
    said = text[-1].strip() if text else "(no output)"
    return f"exit {proc.returncode}: {said}" if proc.returncode else f"answered: {said}"


def version_check(runs: int) -> dict[str, Any]:
    kv = Tool(VERSION, [kpd(), "--version"])
    click = Tool(CLICK, [sys.executable, "-c", "import click"])
    run_tools([kv, click], runs, 1)
    a, b = kv.summary(None), click.summary(None)
    return {VERSION: a, CLICK: b, "ratio": round(a["median"] / b["median"], 3)}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(by_size: dict[int, dict[str, dict[str, Any]]], version: dict[str, Any]) -> list[dict[str, Any]]:
    sizes = sorted(by_size)
    big, small = sizes[-1], sizes[0]
    at = "" if big == 30000 else f" (at {big:,} pods, not 30k)"
    f = by_size[big]
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, bound: float, text: str) -> None:
        out.append(
            {"target": name, "value": value, "bound": bound, "pass": value is not None and value <= bound, "text": text}
        )

    r = f[JSON_OUT].get("ratioToLimit")
    add(f"check -o json <= 1.3x the limit{at}", r, 1.3, f"{r}x" if r else "no figure")
    rss = f[JSON_OUT].get("peakRss")
    add(f"check -o json peak RSS <= 150 MB{at}", rss / 1e6 if rss else None, 150, mb(rss) if rss else "no figure")
    if len(sizes) > 1 and "median" in by_size[small][JSON_OUT] and "median" in f[JSON_OUT]:
        growth = f[JSON_OUT]["median"] / by_size[small][JSON_OUT]["median"]
        bound = 11.0 if (small, big) == (3000, 30000) else round(1.1 * big / small, 2)
        add(f"growth {small:,} -> {big:,} pods <= {bound}x time", growth, bound, f"{growth:.2f}x")
    ratio = version["ratio"]
    add("kplanediag --version <= 1.3x python -c 'import click'", ratio, 1.3, f"{ratio:.2f}x")
    wire, raw = f[JSON_WIRE].get("median"), f[JSON_BYTES].get("median")
    r2 = wire / raw if wire and raw else None
    add(
        f"JSON fallback (KPLANEDIAG_WIRE=json) <= 1.5x JSON bytes only{at}",
        r2,
        1.5,
        f"{r2:.2f}x" if r2 else "no figure",
    )
    return out


def count(tool: Tool) -> dict[str, Any]:
    """What the limit read (its JSON line): items and pages per list."""
    try:
        doc: dict[str, Any] = json.loads(tool.last_stdout)
    except ValueError:
        return {}
    return {
        "requests": doc["requests"],
        "bytes": doc["bytes"],
        "items": {x["path"]: x["items"] for x in doc["lists"]},
    }


def page_sweep(kubeconfig: Path, size: int, runs: int, warmup: int) -> dict[str, Any]:
    """The limit at several page sizes (0: one page per list), against pages of 2,000."""
    print(f"\n== page-size sweep of the limit at {size:,} pods", flush=True)
    sweep = {p: Tool(f"protobuf pages of {p or 'one page'}", limit_cmd(kubeconfig, "protobuf", p)) for p in SWEEP}
    run_tools(list(sweep.values()), runs, warmup)
    base = sweep[2000].summary(None).get("median")
    figures = {str(p): t.summary(base) | {"read": count(t)} for p, t in sweep.items()}
    rows = [
        [
            t.name,
            str(f["read"].get("requests", "")),
            f"{f['median']:.2f} s",
            f"{f['min']:.2f}-{f['max']:.2f} s",
            mb(f["peakRss"]),
            f"{f['ratioToLimit']:.2f}x",
        ]
        for t, f in ((t, figures[str(p)]) for p, t in sweep.items())
        if "median" in f
    ]
    print(table(rows, ["limit", "requests", "wall median", "min-max", "peak RSS", "vs 2000"]))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.splitlines()[0])
    env_sizes = os.environ.get("BENCH_SIZES")
    parser.add_argument(
        "--sizes",
        default=env_sizes or ",".join(map(str, DEFAULT_SIZES)),
        help="pod counts, comma-separated, multiples of 10 (default $BENCH_SIZES or 3000,10000,30000)",
    )
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (median; default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--version-runs", type=int, default=7)
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE, help=f"limit page size (default {PAGE_SIZE})")
    parser.add_argument("--settle", type=float, default=15, help="seconds to let controllers quiet down")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false", help="skip the page-size sweep")
    parser.add_argument("--no-serve", dest="serve", action="store_false", help="skip serve's series and memory")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept cluster instead of creating one")
    parser.add_argument("--name", default=scale.BENCH, help=f"kwokctl cluster name (default {scale.BENCH})")
    parser.add_argument("--out", type=Path, help="result file (default bench/results/live-<sizes>.json)")
    parser.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="also measure a peer tool (never built here), KUBECONFIG set and {kubeconfig} filled in; repeatable",
    )
    args = parser.parse_args(argv)
    try:
        peers = [parse_peer(p) for p in args.peer]
    except PeerError as exc:
        parser.error(str(exc))
    sizes = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    out = args.out or RESULTS / f"live-{'_'.join(map(str, sizes))}.json"

    started = time.monotonic()
    doc: dict[str, Any] = {
        "benchmark": "live",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kplanediag": __version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "nodes": args.nodes,
        "sizes": sizes,
        "runs": args.runs,
        "pageSize": args.page_size,
        "workers": WORKERS,
        "cluster": {},
        "bySize": {},
    }
    print(
        f"== live benchmark: {args.nodes:,} nodes, pods {', '.join(f'{s:,}' for s in sizes)}; "
        f"{args.runs} runs per tool (median)",
        flush=True,
    )
    said = go_list_popeye()
    doc["popeyeK8sgpt"] = {"goList": said, "reference": REFERENCE}
    doc["peers"] = {name: " ".join(argv_) for name, argv_ in peers}

    cluster = scale.ScaleCluster(labctl.cache_root() / args.name.removeprefix("kplanediag-"), args.name)
    by_size: dict[int, dict[str, dict[str, Any]]] = {}
    try:
        t0 = time.monotonic()
        kubeconfig = scale.ensure(cluster, args.nodes, args.reuse)
        doc["cluster"]["nodesSeconds"] = round(time.monotonic() - t0, 1)
        doc["cluster"]["reused"] = args.reuse
        kubectl = cluster.bin / "kubectl"
        for size in sizes:
            took = scale.scale_pods(cluster, size)
            doc["cluster"][f"pods{size}Seconds"] = round(took, 1)
            time.sleep(args.settle)
            print(f"\n== {size:,} pods on {args.nodes:,} nodes (created in {took:.0f} s)", flush=True)
            tools = tools_for(kubeconfig, kubectl, args.page_size)
            for name, argv_ in peers:
                cmd, env = peer_command(argv_, kubeconfig)
                tools.append(Tool(PREFIX + name, cmd, OK, env))
            run_tools(tools, args.runs, args.warmup)
            limit = tools[4].summary(None).get("median")
            figures = {t.name: t.summary(limit) for t in tools}
            by_size[size] = figures
            doc["bySize"][str(size)] = {"createdSeconds": round(took, 1), "read": count(tools[4]), "tools": figures}
            print_size(size, tools, figures)
            read = doc["bySize"][str(size)]["read"]
            if read:
                kinds = ", ".join(f"{label(path)} {n:,}" for path, n in read["items"].items() if n)
                print(f"(the limit read {read['requests']} pages, {mb(read['bytes'])} of protobuf: {kinds})")
            if args.sweep and size == sizes[-1]:
                doc["sweep"] = page_sweep(kubeconfig, size, args.runs, args.warmup)
            if args.serve and size == sizes[-1]:
                try:
                    doc["serve"] = measure_serve(kubeconfig)
                    report_serve(doc["serve"], size)
                except RuntimeError as exc:
                    print(f"bench: serve: {exc}", file=sys.stderr)
                    doc["serve"] = {"error": str(exc)}
            RESULTS.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(doc, indent=1) + "\n")  # after every size: a partial run keeps its figures
    except labctl.LabError as exc:
        print(f"bench: the scale cluster failed: {exc}", file=sys.stderr)
        doc["error"] = str(exc)
    finally:
        if args.keep:
            print(
                f"\n(cluster kept: {cluster.kubeconfig}; re-run with --reuse, delete with python -m lab.scale delete)"
            )
        else:
            scale.delete(cluster)

    print(f"\n== startup: kplanediag --version against python -c 'import click' ({args.version_runs} runs)", flush=True)
    version = version_check(args.version_runs)
    doc["version"] = version
    print(
        f"kplanediag --version {version[VERSION]['median'] * 1000:.0f} ms, "
        f"{CLICK} {version[CLICK]['median'] * 1000:.0f} ms: {version['ratio']:.2f}x"
    )
    if peers:
        print(f"\npeers measured in this run, beside kplanediag: {', '.join(n for n, _ in peers)}")
    else:
        print(
            f"\nPopeye and k8sgpt: not run here (give --peer NAME=COMMAND): the Go module proxy refuses their "
            f"modules (go list -m github.com/derailed/popeye@latest: {said})."
        )
        print(f"  reference, from an earlier measurement, not this run: {REFERENCE}")

    if by_size:
        doc["targets"] = targets(by_size, version)
        print("\n== targets")
        for t in doc["targets"]:
            print(f"{verdict(t['pass'])}  {t['target']}: {t['text']}")
    doc["wallSeconds"] = round(time.monotonic() - started, 1)
    print(f"\nbench wall time {doc['wallSeconds'] / 60:.1f} min; figures in {os.path.relpath(out, ROOT)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    return 1 if "error" in doc else 0


if __name__ == "__main__":
    sys.exit(main())
