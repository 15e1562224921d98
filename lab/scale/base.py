"""A scale cluster: its name and folder, the kwokctl configuration and templates it is made from,
reading it with kwokctl and kubectl."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from lab import labctl
from lab.labctl import kubectl, run

# A separate kwokctl cluster, never the shared lab cluster ``kplanediag-lab``: its own name (default
# ``kplanediag-bench``), its own workdir under the cache (``~/.cache/kplanediag/bench``), its own ports
# (kwokctl's binary runtime picks unused ones), every component on 127.0.0.1, the lab's pinned binaries.
# The control plane runs as in the lab (kept running by lab/supervise.py); only the controller-manager's
# and scheduler's client QPS are raised, so that tens of thousands of pods are created in minutes rather
# than the half hour their default 20 QPS would take. kwok manages every node (``manage-all-nodes``).
BENCH = "kplanediag-bench"
NAMESPACE = "bench"
# bench/fill.py's workloads, this many to a namespace (1,000 pods): the disruption controller lists a
# PDB's namespace's pods on every sync, so 3,000 PDBs among 30,000 pods of one namespace kept it busy on
# a core for most of an hour after each fill, and the machine never quiet enough to measure
PER_NAMESPACE = 100


def namespace_for(serial: int) -> str:
    """Workload ``serial``'s namespace: ``bench`` for the first PER_NAMESPACE, then ``bench-001``..."""
    return NAMESPACE if serial < PER_NAMESPACE else f"{NAMESPACE}-{serial // PER_NAMESPACE:03d}"


def bench_namespace(name: str) -> bool:
    return name == NAMESPACE or (name.startswith(f"{NAMESPACE}-") and name[len(NAMESPACE) + 1 :].isdigit())


PER_DEPLOYMENT = 10
CLIENT_QPS = "500"  # controller-manager and scheduler (default 20 and 50)
CLIENT_BURST = "1000"
# workers of the controllers that write after a bulk fill (bench/fill.py; default 5 each): with writes
# waiting ~1 s on a loaded machine, 5 workers updated 5 ReplicaSet statuses and made 2 EndpointSlices a
# second, 20 minutes for 3,000 workloads
SYNCS = tuple(
    (f"concurrent-{name}-syncs", "50") for name in ("replicaset", "deployment", "endpoint", "service-endpoint")
)
# and its leader Lease: renewals waited past the 10 s deadline while it listed 30,000 pods on that
# machine, so it exited and relisted everything, twice in five minutes; 120 s and 100 s
LEADER = (("leader-elect-lease-duration", "120s"), ("leader-elect-renew-deadline", "100s"))
# kwok's options: a KwokConfiguration given to kwokctl reaches kwok undefaulted, so every default is
# written out; only the pod and Lease workers are raised (default 4 each; kwok's client has no QPS
# limit): on a loaded 2-core machine each write waited ~1 s, so 16 workers made 13 pods Running and
# renewed 13 Leases a second, where 5,000 nodes need 100 (a 200 s Lease renewed every 50 s)
KWOK_OPTIONS = {
    "cidr": "10.0.0.0/24",
    "podPlayStageParallelism": 64,
    "nodePlayStageParallelism": 4,
    "nodeLeaseParallelism": 48,
    "podsOnNodeSyncParallelism": 32,
    "enablePodsOnNodeSyncListPager": True,
}

# kwokctl scale templates: per 10 pods (``per_deployment``) one Deployment, one Service and one PDB in
# namespace ``bench``; the real controller-manager and scheduler make and bind the pods, kwok runs them.
# (Go templates over the parameters; {{ Name }} is the serial name, so the
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
                "extraArgs": args(("kube-api-qps", CLIENT_QPS), ("kube-api-burst", CLIENT_BURST), *SYNCS, *LEADER),
            },
            {
                "name": "kube-scheduler",
                "extraArgs": args(("kube-api-qps", CLIENT_QPS), ("kube-api-burst", CLIENT_BURST)),
            },
            # kwok logs every Lease renewal at INFO: 100 lines a second at 1,000 nodes
            {"name": "kwok-controller", "extraArgs": args(("v", "WARN"))},
        ],
    }
    kwok = {"kind": "KwokConfiguration", "apiVersion": "config.kwok.x-k8s.io/v1alpha1", "options": KWOK_OPTIONS}
    return yaml.safe_dump_all([doc, kwok], sort_keys=False)  # kwokctl hands the second to kwok


def kwokctl(cluster: ScaleCluster, *args: str, timeout: float = 600) -> str:
    return run([str(cluster.bin / "kwokctl"), "--name", cluster.name, *args], cluster, timeout=timeout).stdout


def api_ready(cluster: ScaleCluster) -> bool:
    if not cluster.kubeconfig.exists():
        return False
    return kubectl(cluster, "get", "--raw", "/readyz", check=False, timeout=10).returncode == 0


def exists(cluster: ScaleCluster) -> bool:
    return cluster.cluster_dir.exists()


def namespace_exists(cluster: ScaleCluster) -> bool:
    return kubectl(cluster, "get", "namespace", NAMESPACE, check=False).returncode == 0


def column(cluster: ScaleCluster, *args: str, jsonpath: str, timeout: float = 120) -> list[str]:
    """One jsonpath value per line (lighter than -o json at tens of thousands of objects)."""
    out = kubectl(cluster, "get", *args, "-o", f"jsonpath={jsonpath}", timeout=timeout).stdout
    return out.split()
