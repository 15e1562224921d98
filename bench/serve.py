"""Benchmark: ``kplanediag serve`` on the live bench cluster: its series count and its memory.

    python -m bench.serve --reuse --pods 30000     # the kept 30,000-pod cluster of bench/live.py
    make bench                                     # bench/live.py runs it at its biggest size

``serve`` runs as its own process against lab/scale/'s kwok cluster (never the shared lab),
checking every ``--interval``, until ``--checks`` checks have completed. Meanwhile its resident
memory is sampled from /proc every 0.2 s (VmRSS; VmHWM, the kernel's own peak of that process, is
read at the end), and its CPU time from /proc/PID/stat. Then /metrics is scraped: series (sample
lines), per family, bytes and scrape time; /report.json's size; and the time SIGTERM takes to end
it. Nothing is asserted; the figures are printed, with the bound of docs/metrics.md beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from lab import labctl, scale

BOUND = 30_000  # docs/metrics.md: a 5,000-node cluster within a few tens of thousands of series
VENV_BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")
CHECKED = re.compile(r"kplanediag serve: check \d+: .*\(([0-9.]+)s\)$")  # cli/serve.py's line per good check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def fetch(url: str, timeout: float = 30) -> tuple[int, bytes, float]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (http://127.0.0.1, ours)
            return answer.status, answer.read(), time.perf_counter() - start
    except OSError:
        return 0, b"", time.perf_counter() - start


def sample_lines(body: bytes) -> list[str]:
    return [line for line in body.decode().splitlines() if line and not line.startswith("#")]


def value(lines: list[str], name: str) -> float | None:
    for line in lines:
        if line.split("{")[0].split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    return None


def measure_serve(kubeconfig: Path, checks: int = 3, interval: float = 30, timeout: float = 900) -> dict[str, Any]:
    """Run ``serve`` until ``checks`` checks completed; its figures (see the module docstring)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(VENV_BIN / "kplanediag"), "serve", "--kubeconfig", str(kubeconfig)]
    cmd += ["--listen", f"127.0.0.1:{port}", "--interval", f"{interval:g}s"]
    log: list[str] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reader = threading.Thread(target=lambda: log.extend(proc.stderr or ()), daemon=True)
    reader.start()
    rss: list[tuple[float, int]] = []
    started = time.monotonic()
    done = 0.0
    try:
        while time.monotonic() - started < timeout and proc.poll() is None:
            rss.append((time.monotonic() - started, status_kib(proc.pid, "VmRSS") * 1024))
            if len(rss) % 10 == 0:
                code, body, _ = fetch(base + "/metrics")
                done = (value(sample_lines(body), "kplanediag_checks_total") or 0) if code == 200 else 0
                if done >= checks:
                    break
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited {proc.returncode}: {''.join(log)[-2000:]}")
        if done < checks:
            raise RuntimeError(f"serve completed {done:g} of {checks} checks in {timeout:g}s")
        peak = status_kib(proc.pid, "VmHWM") * 1024
        idle = status_kib(proc.pid, "VmRSS") * 1024
        cpu = cpu_seconds(proc.pid)
        scrapes = [fetch(base + "/metrics") for _ in range(3)]
        code, body, _ = scrapes[-1]
        assert code == 200, f"/metrics answered {code}"
        report_code, report, report_seconds = fetch(base + "/report.json")
        lines = sample_lines(body)
        families = Counter(line.split("{")[0].split(" ")[0] for line in lines)
        nodes = sum(1 for line in lines if line.startswith("kplanediag_node_status{")) // 4
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        stop_seconds = time.monotonic() - stopping
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    durations = [float(m.group(1)) for m in map(CHECKED.search, log) if m]
    return {
        "checks": int(done),
        "interval": interval,
        "nodes": nodes,
        "series": len(lines),
        "families": dict(families.most_common()),
        "metricsBytes": len(body),
        "scrapeSeconds": sorted(s[2] for s in scrapes)[1],
        "reportBytes": len(report) if report_code == 200 else None,
        "reportSeconds": report_seconds,
        "checkSeconds": durations,
        "cpuSecondsPerCheck": cpu / max(done, 1),
        "rssPeak": peak,
        "rssMaxSampled": max(r for _, r in rss),
        "rssAfterChecks": idle,
        "rssSamples": len(rss),
        "sigtermSeconds": stop_seconds,
        "log": [line.rstrip() for line in log[-6:]],
    }


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def report(figures: dict[str, Any], pods: int | None = None) -> None:
    print(f"\n== kplanediag serve: {figures['checks']} checks every {figures['interval']:g}s", flush=True)
    where = f"{figures['nodes']:,} nodes" + (f", {pods:,} pods" if pods else "")
    verdict = "PASS" if figures["series"] < BOUND else "FAIL"
    print(f"series: {figures['series']:,} on {where} (bound {BOUND:,} at 5,000 nodes: {verdict})")
    for name, n in list(figures["families"].items())[:8]:
        print(f"  {n:7,d}  {name}")
    print(
        f"/metrics: {figures['metricsBytes'] / 1e6:.2f} MB in {figures['scrapeSeconds'] * 1000:.0f} ms; "
        f"/report.json {(figures['reportBytes'] or 0) / 1e6:.2f} MB in {figures['reportSeconds'] * 1000:.0f} ms"
    )
    checks = ", ".join(f"{s:.1f}s" for s in figures["checkSeconds"])
    print(f"checks: {checks}; {figures['cpuSecondsPerCheck']:.1f} CPU-seconds a check (process total / checks)")
    print(
        f"memory: peak RSS {mib(figures['rssPeak'])} (VmHWM), {mib(figures['rssAfterChecks'])} between checks; "
        f"deploy/serve's limit is 256 MiB"
    )
    print(f"SIGTERM to exit: {figures['sigtermSeconds'] * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=30000, help="pods to scale the cluster to (default 30000)")
    parser.add_argument("--checks", type=int, default=3)
    parser.add_argument("--interval", type=float, default=30, help="seconds between checks (serve's default 30)")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept bench cluster (--keep)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    args = parser.parse_args(argv)
    cluster = scale.default_cluster()
    try:
        kubeconfig = scale.ensure(cluster, args.nodes, args.reuse)
        took = scale.scale_pods(cluster, args.pods)
        print(f"cluster: {args.nodes:,} nodes, {args.pods:,} pods (pods ready in {took:.0f}s)", flush=True)
        figures = measure_serve(kubeconfig, args.checks, args.interval)
    except (labctl.LabError, RuntimeError) as exc:
        print(f"bench.serve: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            scale.delete(cluster)
    report(figures, args.pods)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"benchmark": "serve", "pods": args.pods, **figures}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
