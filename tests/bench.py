"""Benchmark: analysis and rendering on a synthetic large cluster built from the lab's real objects.

    make bench            (or: python -m tests.bench --nodes 2000 --pods-per-node 30)

Prints the figures; no threshold is asserted. Peak RSS includes building the synthetic cluster.
The target: a 5,000-node, 150,000-pod cluster analysed well within the 10 s an SRE waits.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time
from typing import Any

from kplanediag.analysis.report import analyze
from kplanediag.render.as_json import render_json
from kplanediag.render.table import render_table
from kplanediag.snapshot import snapshot_from_dict, snapshot_to_dict
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--failed-every", type=int, default=500, help="every Nth node has a stale heartbeat")
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = synthesize(args.nodes, args.pods_per_node, args.failed_every)
    text = json.dumps(data)
    build = time.perf_counter() - t0
    print(
        f"cluster: {args.nodes} nodes, {len(data['resources']['pods'])} pods, "
        f"{len(data['resources']['services'])} Services; snapshot {len(text) / 1e6:.0f} MB (built in {build:.1f}s)"
    )
    del data

    t0 = time.perf_counter()
    snap = snapshot_from_dict(json.loads(text))
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = analyze(snap)
    t_analyze = time.perf_counter() - t0
    t0 = time.perf_counter()
    table, js = render_table(report), render_json(report)
    t_render = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # includes building the synthetic cluster
    assert snapshot_to_dict(snap)["resources"]
    print(f"parse JSON      {t_parse:6.2f} s")
    counts = f"{len(report.findings)} findings, {len(report.blast_radius)} blast entries"
    print(f"analyze         {t_analyze:6.2f} s   ({counts})")
    print(f"render          {t_render:6.2f} s   (table {len(table) / 1e3:.0f} kB, JSON {len(js) / 1e6:.1f} MB)")
    print(f"total           {t_parse + t_analyze + t_render:6.2f} s   peak RSS {peak / 2**20:.0f} MiB")
    print(report.summary)


if __name__ == "__main__":
    main()
