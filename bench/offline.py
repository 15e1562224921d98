"""Benchmark: `--from` analysis of a synthetic large cluster built from the lab's real objects.

    make bench            (or: python -m bench.offline --nodes 2000 --pods-per-node 30)

The cluster (default 5,000 nodes, 150,000 pods, 15,000 Deployments, Services and PDBs, every 500th
node silent) is written once as a kplanediag snapshot (version 2, what `snapshot save` writes) and
once with whole objects (version 1, the size of the raw API lists). Each is then measured in a
process of its own, so wall time and peak RSS are those of that process alone, side by side with
decoding the same file with msgspec alone (untyped, into Python objects):

- `kplanediag check -o json --from FILE` (import, decode, analysis, render);
- the same steps in-process, timed one by one (where the time goes);
- `msgspec.json.decode(FILE)`, the reference.

Targets (issue 14): check ≤ 2x the msgspec decode of the same file; peak RSS ≤ 1 GB. Prints the
figures (``--json FILE`` saves them); nothing is asserted.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import SPAWNER, measure
from kplanediag.snapshot import load_bytes, save_snapshot
from tests.unit.factories import raw

Raw = dict[str, Any]


def synthesize(nodes: int, pods_per_node: int, failed_every: int) -> Raw:
    """Clone worker nodes, their Leases and application pods (one Deployment per 10 pods, a Service
    and PDB for each), keeping the lab's control plane and add-ons."""
    data = raw("lab-healthy")
    res = data["resources"]
    worker = next(n for n in res["nodes"] if n["metadata"]["name"] == "kplanediag-worker")
    lease = next(x for x in res["leases"] if x["metadata"]["name"] == "kplanediag-worker")
    app_pod = next(p for p in res["pods"] if p["metadata"]["name"].startswith("web-"))
    proxy_pod = next(p for p in res["pods"] if p["metadata"]["name"].startswith("kube-proxy-"))
    deploy = next(d for d in res["deployments"] if d["metadata"]["name"] == "web")
    rs = next(r for r in res["replicasets"] if r["metadata"]["name"].startswith("web-"))
    svc = next(s for s in res["services"] if s["metadata"]["name"] == "web")
    pdb = next(p for p in res["poddisruptionbudgets"] if p["metadata"]["name"] == "web")
    stale = "2020-01-01T00:00:00.000000Z"
    for i in range(nodes):
        name = f"bench-node-{i:05d}"
        node = copy.deepcopy(worker)
        node["metadata"]["name"] = name
        res["nodes"].append(node)
        node_lease = copy.deepcopy(lease)
        node_lease["metadata"]["name"] = name
        if failed_every and i % failed_every == 0:
            node_lease["spec"]["renewTime"] = stale
            # as the node lifecycle controller leaves a silent node (a stale Lease on a node still Ready,
            # with the controller-manager leading, is a skewed kubelet clock: analysis/dataplane/heartbeat.py)
            for cond in node["status"]["conditions"]:
                if cond["type"] == "Ready":
                    cond.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting.")
        res["leases"].append(node_lease)
        proxy = copy.deepcopy(proxy_pod)
        proxy["metadata"]["name"] = f"kube-proxy-{i:05d}"
        proxy["spec"]["nodeName"] = name
        res["pods"].append(proxy)
        for j in range(pods_per_node):
            n = i * pods_per_node + j
            app = f"app-{n // 10:06d}"
            pod = copy.deepcopy(app_pod)
            pod["metadata"].update(name=f"{app}-{n % 10}", namespace=f"ns-{n // 1000:03d}", labels={"app": app})
            pod["metadata"]["ownerReferences"][0]["name"] = f"{app}-rs"
            pod["spec"]["nodeName"] = name
            res["pods"].append(pod)
            if n % 10 == 0:
                ns = f"ns-{n // 1000:03d}"
                for kind, template, obj_name in (
                    ("d", deploy, app),
                    ("r", rs, f"{app}-rs"),
                    ("s", svc, app),
                    ("p", pdb, app),
                ):
                    obj = copy.deepcopy(template)
                    obj["metadata"].update(name=obj_name, namespace=ns)
                    if kind == "r":
                        obj["metadata"]["ownerReferences"][0]["name"] = app
                    if kind == "s":
                        obj["spec"]["selector"] = {"app": app}
                    if kind == "p":
                        obj["spec"]["selector"] = {"matchLabels": {"app": app}}
                    key = {"d": "deployments", "r": "replicasets", "s": "services", "p": "poddisruptionbudgets"}[kind]
                    res[key].append(obj)
    return data


STEPS = """
import resource, sys, time
t0 = time.perf_counter()
from kplanediag.analysis.report import analyze
from kplanediag.render.as_json import render_json
from kplanediag.snapshot import load_snapshot
from pathlib import Path
t1 = time.perf_counter()
snap = load_snapshot(Path(sys.argv[1]))
t2 = time.perf_counter()
report = analyze(snap)
t3 = time.perf_counter()
text = render_json(report)
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, len(report.findings), len(report.blast_radius))
"""
MSGSPEC_ALONE = "import msgspec, sys; msgspec.json.decode(open(sys.argv[1], 'rb').read())"


def run_measured(cmd: list[str], runs: int) -> dict[str, Any]:
    """Median wall time and largest peak RSS of ``runs`` runs of ``cmd`` (bench/measure.py)."""
    samples = [measure(cmd) for _ in range(runs)]
    failed = [s for s in samples if s.code not in (0, 1, 2)]
    if failed:
        raise RuntimeError(f"{' '.join(cmd)} exited {failed[0].code}: {failed[0].tail}")
    walls = [s.wall for s in samples]
    return {
        "median": statistics.median(walls),
        "min": min(walls),
        "max": max(walls),
        "peakRss": max(s.rss for s in samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--failed-every", type=int, default=500, help="every Nth node has a stale heartbeat")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kplanediag-bench-") as tmp:
        v1, v2 = Path(tmp) / "v1.json", Path(tmp) / "v2.json"
        t0 = time.perf_counter()
        data = synthesize(args.nodes, args.pods_per_node, args.failed_every)
        pods, services = len(data["resources"]["pods"]), len(data["resources"]["services"])
        v1.write_text(json.dumps(data, separators=(",", ":")))
        del data
        save_snapshot(load_bytes(v1.read_bytes()), v2)
        build = time.perf_counter() - t0
        print(
            f"cluster: {args.nodes} nodes, {pods} pods, {services} Services (built in {build:.0f}s); "
            f"snapshot v2 {v2.stat().st_size / 1e6:.0f} MB, whole objects (v1) {v1.stat().st_size / 1e6:.0f} MB"
        )
        py = sys.executable
        figures: dict[str, Any] = {}
        for label, path in (("v2", v2), ("v1", v1)):
            alone = run_measured([py, "-c", MSGSPEC_ALONE, str(path)], args.runs)
            check = run_measured([py, "-m", "kplanediag", "check", "-o", "json", "--from", str(path)], args.runs)
            steps = subprocess.run([py, "-c", STEPS, str(path)], capture_output=True, text=True, check=True)
            imp, dec, ana, ren, findings, blast = steps.stdout.split()
            ratio = check["median"] / alone["median"]
            ranked = None
            if label == "v2":  # what-if --all nodes: every node lost alone, beside the check (issue 25)
                ranked = run_measured(
                    [py, "-m", "kplanediag", "what-if", "--all", "nodes", "-o", "json", "--from", str(path)], args.runs
                )
            figures[label] = {
                "fileBytes": path.stat().st_size,
                "msgspecAlone": alone,
                "check": check,
                "whatIfAllNodes": ranked,
                "ratio": ratio,
                "steps": {"import": float(imp), "decode": float(dec), "analyze": float(ana), "renderJson": float(ren)},
            }
            print(f"\nsnapshot {label} ({path.stat().st_size / 1e6:.0f} MB), medians of {args.runs}, RSS by {SPAWNER}:")
            for name, got in (("msgspec.json.decode alone", alone), ("kplanediag check -o json", check)):
                extra = f"   {ratio:.2f}x msgspec alone" if got is check else ""
                print(f"  {name:28s}  {got['median']:6.2f} s   peak RSS {got['peakRss'] / 2**20:5.0f} MiB{extra}")
            print(
                f"    import {float(imp):.2f} s, decode {float(dec):.2f} s, analyze {float(ana):.2f} s, "
                f"render {float(ren):.2f} s ({findings} findings, {blast} blast entries)"
            )
            if ranked is not None:
                vs = ranked["median"] / check["median"]
                print(
                    f"  {'what-if --all nodes -o json':28s}  {ranked['median']:6.2f} s   peak RSS "
                    f"{ranked['peakRss'] / 2**20:5.0f} MiB   {vs:.2f}x check"
                )
        target = figures["v2"]
        whatif = target["whatIfAllNodes"]
        ok_whatif = whatif["median"] <= 2.0 * target["check"]["median"]
        ok_whatif_rss = whatif["peakRss"] <= 1.1 * target["check"]["peakRss"]
        print(
            f"target what-if --all nodes ≤ 2x check (v2): {whatif['median'] / target['check']['median']:.2f}x  "
            f"{'PASS' if ok_whatif else 'FAIL'}; peak RSS ≤ a check's (+10%): "
            f"{whatif['peakRss'] / target['check']['peakRss']:.2f}x  {'PASS' if ok_whatif_rss else 'FAIL'}"
        )
        ok_time = target["ratio"] <= 2.0
        ok_rss = target["check"]["peakRss"] <= 2**30
        print(f"\ntarget check ≤ 2x msgspec alone (v2): {target['ratio']:.2f}x  {'PASS' if ok_time else 'FAIL'}")
        print(
            f"target peak RSS ≤ 1 GB (v2): {target['check']['peakRss'] / 2**20:.0f} MiB  {'PASS' if ok_rss else 'FAIL'}"
        )
    if args.json:
        doc = {
            "benchmark": "offline",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "nodes": args.nodes,
            "pods": pods,
            "services": services,
            "runs": args.runs,
            "snapshots": figures,
            "targets": {
                "ratioAtMost2": ok_time,
                "peakRssAtMost1GB": ok_rss,
                "whatIfAllNodesAtMost2xCheck": ok_whatif,
                "whatIfAllNodesRssAtMostCheck": ok_whatif_rss,
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
