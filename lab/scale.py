"""Throwaway scale clusters for the live benchmark (bench/live.py) and the API-cost e2e test.

A separate kwokctl cluster, never the shared lab cluster ``kplanediag-lab``: its own name (default
``kplanediag-bench``), its own workdir under the cache (``~/.cache/kplanediag/bench``), its own
ports (kwokctl's binary runtime picks unused ones), every component on 127.0.0.1, the same pinned
binaries as the lab (``make lab-build``). The control plane runs as in the lab (real etcd,
kube-apiserver with its default in-flight limits, kube-controller-manager and kube-scheduler, kept
running by lab/supervise.py); only the controller-manager's and scheduler's client QPS are raised,
so that tens of thousands of pods are created in minutes rather than the half hour their default
20 QPS would take. kwok manages every node (``manage-all-nodes``): it posts their status and renews
their Leases in ``kube-node-lease`` (kubelet-default 40 s duration).

The workload is made by ``kwokctl scale`` from the templates below: nodes from kwokctl's default
node template; per 10 pods (``per_deployment``) one Deployment, one Service and one
PodDisruptionBudget in namespace ``bench``. The real controller-manager makes the ReplicaSets, pods
and EndpointSlices, the real scheduler binds the pods, kwok runs them and makes them Ready.

    python -m lab.scale create --nodes 1000          # prints the kubeconfig
    python -m lab.scale scale --pods 30000 [--nodes N]
    python -m lab.scale status | kubeconfig | delete [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from lab import labctl
from lab.labctl import LabError, kubectl, log, run, wait_for

BENCH = "kplanediag-bench"
NAMESPACE = "bench"
PER_DEPLOYMENT = 10
CLIENT_QPS = "500"  # controller-manager and scheduler (default 20 and 50)
CLIENT_BURST = "1000"

# kwokctl scale templates (Go templates over the parameters; {{ Name }} is the serial name, so the
# Deployment, Service and PDB with the same serial match each other).
RESOURCES = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlResource
metadata:
  name: deployment
parameters:
  replicas: @REPLICAS@
template: |-
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: {{ Name }}
    labels:
      app: {{ Name }}
  spec:
    replicas: {{ .replicas }}
    selector:
      matchLabels:
        app: {{ Name }}
    template:
      metadata:
        labels:
          app: {{ Name }}
          tier: web
      spec:
        containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          ports:
          - containerPort: 8080
            name: http
          resources:
            requests:
              cpu: 10m
              memory: 32Mi
---
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlResource
metadata:
  name: service
parameters: {}
template: |-
  apiVersion: v1
  kind: Service
  metadata:
    name: {{ Name }}
  spec:
    selector:
      app: {{ Name }}
    ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlResource
metadata:
  name: pdb
parameters: {}
template: |-
  apiVersion: policy/v1
  kind: PodDisruptionBudget
  metadata:
    name: {{ Name }}
  spec:
    maxUnavailable: 1
    selector:
      matchLabels:
        app: {{ Name }}
"""


@dataclass(frozen=True)
class ScaleCluster(labctl.Lab):
    """A throwaway kwokctl cluster: ``root`` holds its kwok workdir, kubeconfig and config files."""

    name: str = BENCH

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / self.name

    @property
    def bin(self) -> Path:
        return labctl.default_lab().bin  # the lab's pinned binaries

    @property
    def config(self) -> Path:
        return self.root / "kwokctl.yaml"

    @property
    def resources(self) -> Path:
        return self.root / "resources.yaml"

    @property
    def audit_log(self) -> Path:
        return self.cluster_dir / "logs" / "audit.log"


def default_cluster() -> ScaleCluster:
    return ScaleCluster(labctl.cache_root() / "bench", BENCH)


def kwokctl_config(cluster: ScaleCluster, audit_policy: Path | None) -> str:
    pki = cluster.cluster_dir / "pki"
    options: dict[str, object] = {"runtime": "binary", "bindAddress": "127.0.0.1"}
    if audit_policy is not None:
        options["kubeAuditPolicy"] = str(audit_policy)

    def args(*pairs: tuple[str, str]) -> list[dict[str, object]]:
        # appended (override: true would only replace an argument kwokctl already passes)
        return [{"key": k, "value": v} for k, v in pairs]

    doc = {
        "kind": "KwokctlConfiguration",
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "options": options,
        "componentsPatches": [
            {
                "name": "kube-apiserver",
                "extraArgs": args(
                    # as in the lab (lab/kwokctl.yaml.in): loopback, no endpoint reconciler, front-proxy CA
                    ("advertise-address", "127.0.0.1"),
                    ("endpoint-reconciler-type", "none"),
                    ("requestheader-client-ca-file", f"{pki}/ca.crt"),
                    ("requestheader-allowed-names", "kwok-admin"),
                    ("requestheader-username-headers", "X-Remote-User"),
                    ("requestheader-group-headers", "X-Remote-Group"),
                    ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
                    # room for one Service per 10 pods (the default range is a /24)
                    ("service-cluster-ip-range", "10.96.0.0/16"),
                ),
            },
            {
                "name": "kube-controller-manager",
                "extraArgs": args(("kube-api-qps", CLIENT_QPS), ("kube-api-burst", CLIENT_BURST)),
            },
            {
                "name": "kube-scheduler",
                "extraArgs": args(("kube-api-qps", CLIENT_QPS), ("kube-api-burst", CLIENT_BURST)),
            },
            # kwok logs every Lease renewal at INFO: 100 lines a second at 1,000 nodes
            {"name": "kwok-controller", "extraArgs": args(("v", "WARN"))},
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kwokctl(cluster: ScaleCluster, *args: str, timeout: float = 600) -> str:
    return run([str(cluster.bin / "kwokctl"), "--name", cluster.name, *args], cluster, timeout=timeout).stdout


def api_ready(cluster: ScaleCluster) -> bool:
    if not cluster.kubeconfig.exists():
        return False
    return kubectl(cluster, "get", "--raw", "/readyz", check=False, timeout=10).returncode == 0


def exists(cluster: ScaleCluster) -> bool:
    return cluster.cluster_dir.exists()


def create(cluster: ScaleCluster, nodes: int, audit_policy: Path | None = None) -> Path:
    """Create the cluster (deleting a previous one of the same name) with ``nodes`` Ready nodes;
    returns its kubeconfig."""
    if exists(cluster):
        delete(cluster)
    cluster.root.mkdir(parents=True, exist_ok=True)
    cluster.config.write_text(kwokctl_config(cluster, audit_policy))
    b = cluster.bin
    t0 = time.monotonic()
    kwokctl(
        cluster,
        "create",
        "cluster",
        "--config",
        str(cluster.config),
        *labctl.binary_args(b),
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--wait",
        "120s",
        timeout=300,
    )
    log(f"{cluster.name}: control plane ready in {time.monotonic() - t0:.1f}s")
    labctl.start_supervisor(cluster)
    # the namespace is accepted at once; its pods only once the controller-manager made its ServiceAccount
    wait_for(
        f"namespace {NAMESPACE}",
        lambda: (
            kubectl(cluster, "create", "namespace", NAMESPACE, check=False).returncode == 0 or namespace_exists(cluster)
        ),
        60,
        1,
    )
    wait_for(
        f"the default ServiceAccount in {NAMESPACE}",
        lambda: kubectl(cluster, "get", "sa", "default", "-n", NAMESPACE, check=False).returncode == 0,
        60,
        1,
    )
    scale_nodes(cluster, nodes)
    return cluster.kubeconfig


def ensure(cluster: ScaleCluster, nodes: int, reuse: bool, audit_policy: Path | None = None) -> Path:
    """With ``reuse``, keep a cluster that answers (its supervisor restarted, nodes scaled);
    otherwise create one."""
    if reuse and exists(cluster):
        labctl.start_supervisor(cluster)
        if labctl.wait_for_quietly(lambda: api_ready(cluster), 60):
            log(f"{cluster.name}: reusing the running cluster")
            scale_nodes(cluster, nodes)
            return cluster.kubeconfig
        log(f"{cluster.name}: the kept cluster does not answer; recreating it")
    return create(cluster, nodes, audit_policy)


def delete(cluster: ScaleCluster) -> None:
    pid = labctl.supervisor_pid(cluster)
    if pid:
        os.kill(pid, signal.SIGTERM)
        labctl.wait_for_quietly(lambda: labctl.supervisor_pid(cluster) is None, 10)
    if exists(cluster):
        run(
            [
                str(cluster.bin / "kwokctl"),
                "--name",
                cluster.name,
                "delete",
                "cluster",
                "--kubeconfig",
                str(cluster.kubeconfig),
            ],
            cluster,
            check=False,
            timeout=180,
        )
    for path in (cluster.kubeconfig, cluster.config, cluster.resources):
        path.unlink(missing_ok=True)
    log(f"{cluster.name}: deleted")


def namespace_exists(cluster: ScaleCluster) -> bool:
    return kubectl(cluster, "get", "namespace", NAMESPACE, check=False).returncode == 0


def column(cluster: ScaleCluster, *args: str, jsonpath: str, timeout: float = 120) -> list[str]:
    """One jsonpath value per line (lighter than -o json at tens of thousands of objects)."""
    out = kubectl(cluster, "get", *args, "-o", f"jsonpath={jsonpath}", timeout=timeout).stdout
    return out.split()


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
    kwokctl(cluster, "scale", "node", "--replicas", str(nodes))
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
    """(Deployments, ready pods by their Deployments, ready endpoints) in the bench namespace."""
    ready = column(
        cluster,
        "deployments",
        "-n",
        NAMESPACE,
        jsonpath='{range .items[*]}{.metadata.name}={.status.readyReplicas}{"\\n"}{end}',
        timeout=300,
    )
    endpoints = column(
        cluster,
        "endpointslices",
        "-n",
        NAMESPACE,
        jsonpath='{range .items[*]}{range .endpoints[*]}{.conditions.ready}{"\\n"}{end}{end}',
        timeout=300,
    )
    pods = sum(int(r.split("=", 1)[1] or 0) for r in ready)
    return len(ready), pods, sum(1 for e in endpoints if e == "true")


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


def reader_kubeconfig(cluster: ScaleCluster, namespace: str = "kplanediag", name: str = "kplanediag") -> Path:
    """A kubeconfig with an identity of its own (ServiceAccount ``namespace/name``, a token, a
    ClusterRole allowing only get, list and watch), so that an audit policy can single out its
    requests from those of the components, which all use kwokctl's admin certificate."""
    manifest = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {name}, namespace: {namespace}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}-read}}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: [get, list, watch]
- nonResourceURLs: ["*"]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {name}-read}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}-read}}
subjects:
- {{kind: ServiceAccount, name: {name}, namespace: {namespace}}}
"""
    kubectl(cluster, "apply", "-f", "-", input_=manifest)
    token = kubectl(cluster, "create", "token", name, "-n", namespace, "--duration", "2h").stdout.strip()
    return labctl.token_kubeconfig(cluster.kubeconfig, token, name, cluster.root / f"kubeconfig-{name}")


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


if __name__ == "__main__":
    sys.exit(main())
