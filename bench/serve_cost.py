"""Benchmark: what ``serve`` costs the API server per interval on watches, against a re-list (one check).

    python -m bench.serve_cost --nodes 100 --pods 3000 --intervals 8     # its own kwok cluster
    python -m bench.serve_cost --reuse-bench --pods 30000                  # bench/live.py's kept cluster
    python -m bench.serve_cost --reuse-bench --pods 30000 --intervals 120  # an hour: is memory flat?

Every byte between kplanediag and the API server goes through a counting TCP relay on 127.0.0.1
(TLS included, as it is on the wire). The re-list: ``kplanediag check -o json``, three times. Then
``serve`` through the relay while one pod is deleted each second (its ReplicaSet makes another: one
created and one deleted a second, through the real controllers) and the nodes' Leases renew: the
bytes and requests (serve's own counters) of each interval after the first list, and its memory.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from bench.serve import VENV_BIN, fetch, free_port, mib, sample_lines, status_kib, value
from lab import labctl, scale
from lab.scale.pods import pod_name, workload_name

TARGET = 0.05  # issue 26: steady-state bytes per interval at most 5% of a re-list's
RSS_BOUND = 250e6  # issue 26: serve's steady RSS at 30,000 pods, bytes
FLAT_BOUND = 1.10  # flat: the last quarter's median RSS at most 10% over the second's (the first warms up)


class Relay:
    """A TCP relay from 127.0.0.1:port to ``upstream``, counting the bytes each way."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.down = self.up = self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            server = socket.create_connection(self.upstream)
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pipe, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, "down"), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, way: str) -> None:
        try:
            while chunk := source.recv(1 << 16):
                sink.sendall(chunk)
                with self._lock:
                    setattr(self, way, getattr(self, way) + len(chunk))
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def total(self) -> int:
        with self._lock:
            return self.down + self.up


def through(kubeconfig: Path, relay_port: int, out: Path) -> tuple[str, int]:
    """A copy of ``kubeconfig`` whose server is the relay; returns the real server's (host, port)."""
    doc = yaml.safe_load(kubeconfig.read_text())
    server = doc["clusters"][0]["cluster"]["server"]
    host, port = server.split("://", 1)[1].rsplit(":", 1)
    for cluster in doc["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{relay_port}"
    out.write_text(yaml.safe_dump(doc))
    return host.strip("[]"), int(port)


def relist(kubeconfig: Path, relay: Relay, runs: int = 3) -> list[int]:
    """Bytes each ``check -o json`` exchanged with the API server."""
    sizes = []
    for _ in range(runs):
        before = relay.total()
        cmd = [str(VENV_BIN / "kplanediag"), "check", "-o", "json", "--kubeconfig", str(kubeconfig)]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=False)
        sizes.append(relay.total() - before)
    return sizes


def churn(cluster: scale.ScaleCluster, stop: threading.Event, pods: int, per_second: float = 1.0) -> list[int]:
    """Delete one pod of namespace bench per second (its ReplicaSet replaces it) until ``stop``; the count.
    The names are listed; where listing 30,000 pods through kubectl takes too long on a loaded
    machine, they are the names bench/fill.py gave (a replaced one is gone: its delete is not counted)."""
    done = [0]

    def names_of() -> list[str]:
        try:
            names = scale.column(cluster, "pods", "-n", scale.NAMESPACE, jsonpath="{.items[*].metadata.name}")
        except (labctl.LabError, subprocess.TimeoutExpired):
            per = scale.PER_DEPLOYMENT
            serials = range(min(pods // per, scale.PER_NAMESPACE))  # the workloads in namespace bench
            names = [pod_name(workload_name(s), r) for s in serials for r in range(per)]
        random.shuffle(names)
        return names

    def run() -> None:
        names: list[str] = []
        while not stop.is_set():
            names = names or names_of()
            began = time.monotonic()
            proc = labctl.kubectl(
                cluster, "-n", scale.NAMESPACE, "delete", "pod", names.pop(), "--wait=false", check=False
            )
            done[0] += proc.returncode == 0
            stop.wait(max(0.0, 1 / per_second - (time.monotonic() - began)))

    threading.Thread(target=run, daemon=True).start()
    return done


def totals(lines: list[str], prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def serve_run(
    kubeconfig: Path, relay: Relay, cluster: scale.ScaleCluster, pods: int, intervals: int, interval: float
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(VENV_BIN / "kplanediag"), "serve", "--kubeconfig", str(kubeconfig), "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen([*cmd, "--interval", f"{interval:g}s"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    start_bytes, stop, rows = relay.total(), threading.Event(), []
    deleted: list[int] = [0]
    try:
        last = 0.0
        end = time.monotonic() + 900 + intervals * interval * 2
        while time.monotonic() < end and proc.poll() is None:
            code, body, _ = fetch(base + "/metrics")
            lines = sample_lines(body) if code == 200 else []
            checks = value(lines, "kplanediag_checks_total") or 0
            if checks > last:
                last = checks
                requests = totals(lines, "kplanediag_api_requests_total") + totals(lines, "kplanediag_watch_requests")
                rows.append({"check": int(checks), "bytes": relay.total() - start_bytes, "requests": requests,
                             "rss": status_kib(proc.pid, "VmRSS") * 1024, "at": time.monotonic()})  # fmt: skip
                if checks == 1:
                    deleted = churn(cluster, stop, pods)
                if checks >= intervals + 2:
                    break
            time.sleep(0.2)
        peak = status_kib(proc.pid, "VmHWM") * 1024
    finally:
        stop.set()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    if len(rows) < 3:
        said = (proc.stderr.read() if proc.stderr else b"")[-2000:]
        raise RuntimeError(f"serve completed {len(rows)} checks: {said!r}")
    steady = [(b["bytes"] - a["bytes"], b["requests"] - a["requests"]) for a, b in itertools.pairwise(rows[1:])]
    return {"first": rows[0]["bytes"], "rows": rows, "steady": steady, "peak": peak, "deleted": deleted[0]}


def report(relisted: list[int], run: dict[str, Any], interval: float) -> dict[str, Any]:
    relist_bytes = statistics.median(relisted)
    per = statistics.median(b for b, _ in run["steady"])
    requests = statistics.median(r for _, r in run["steady"])
    ratio = per / relist_bytes
    rss = [r["rss"] for r in run["rows"][1:]]
    runs = ", ".join(f"{b / 1e6:.2f}" for b in relisted)
    print(f"re-list (check -o json): {relist_bytes / 1e6:.2f} MB a check (runs: {runs})")
    first = run["first"]
    print(f"serve's first check (lists, then watches): {first / 1e6:.2f} MB = {first / relist_bytes:.2f}x a re-list")
    print(f"serve, steady state: {per / 1e3:.0f} kB and {requests:.0f} requests an interval of {interval:g}s "
          f"({len(run['steady'])} intervals, {run['deleted']} pods deleted and replaced meanwhile)")  # fmt: skip
    print(f"  = {ratio:.1%} of a re-list's bytes (target <= {TARGET:.0%}: {'PASS' if ratio <= TARGET else 'FAIL'})")
    print(f"memory: RSS {mib(min(rss))} to {mib(max(rss))} over the churn (after check 1); peak {mib(run['peak'])}")
    drift = flatness(run["rows"][1:])
    if drift:
        print(drift.pop("text"))
    return {"relistBytes": relisted, "firstBytes": run["first"], "steady": run["steady"], "ratio": ratio,
            "rss": rss, "peak": run["peak"], "deleted": run["deleted"], "interval": interval, **drift}  # fmt: skip


def flatness(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether serve's RSS is flat once warm: the last quarter's median against the second quarter's
    (the first is its warm-up: caches filled, the allocator's arenas grown), within ``FLAT_BOUND``,
    and the highest under ``RSS_BOUND``; the growth over the whole run said beside. Empty under 8 rows."""
    if len(rows) < 8:
        return {}
    q = len(rows) // 4
    first, second, last = (statistics.median(r["rss"] for r in part) for part in (rows[:q], rows[q : 2 * q], rows[-q:]))
    minutes = (rows[-1]["at"] - rows[0]["at"]) / 60
    top = max(r["rss"] for r in rows)
    flat, under = last / second <= FLAT_BOUND, top <= RSS_BOUND
    text = (
        f"  over {minutes:.0f} min: RSS median {mib(first)}, {mib(second)}, ..., {mib(last)} by quarter; "
        f"once warm (2nd quarter to 4th) {last / second:.2f}x (flat <= {FLAT_BOUND:.2f}x: "
        f"{'PASS' if flat else 'FAIL'}); highest {mib(top)} "
        f"(<= {RSS_BOUND / 1e6:.0f} MB: {'PASS' if under else 'FAIL'})"
    )
    return {"minutes": round(minutes, 1), "rssFirstQuarter": first, "rssSecondQuarter": second,
            "rssLastQuarter": last, "flat": flat, "underBound": under, "text": text}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--intervals", type=int, default=8, help="steady-state intervals measured")
    parser.add_argument("--interval", type=float, default=30, help="serve's --interval (seconds)")
    parser.add_argument("--reuse-bench", action="store_true", help="bench/live.py's kept cluster, as it is")
    parser.add_argument("--keep", action="store_true", help="leave this bench's own cluster running")
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    args = parser.parse_args(argv)
    own = not args.reuse_bench
    cluster = (
        scale.ScaleCluster(labctl.cache_root() / "servecost", "kplanediag-servecost")
        if own
        else scale.default_cluster()
    )
    try:
        if own:
            scale.ensure(cluster, args.nodes, reuse=scale.exists(cluster))
            scale.scale_pods(cluster, args.pods)
        reader = scale.reader_kubeconfig(cluster)
        relayed = cluster.root / "kubeconfig-relayed"
        relay = Relay(("127.0.0.1", 0))
        relay.upstream = through(reader, relay.port, relayed)
        print(
            f"cluster {cluster.name}: {args.nodes:,} nodes, {args.pods:,} pods; relay on 127.0.0.1:{relay.port}",
            flush=True,
        )
        relisted = relist(relayed, relay)
        figures = report(
            relisted, serve_run(relayed, relay, cluster, args.pods, args.intervals, args.interval), args.interval
        )
    except (labctl.LabError, RuntimeError) as exc:
        print(f"bench.serve_cost: {exc}", file=sys.stderr)
        return 1
    finally:
        if own and not args.keep:
            scale.delete(cluster)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"benchmark": "serve-cost", "pods": args.pods, **figures}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
