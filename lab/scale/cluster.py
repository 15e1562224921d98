"""Creating, reusing and deleting a scale cluster, and a reader identity of its own in it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from lab import labctl
from lab.labctl import kubectl, log, run, wait_for
from lab.scale.base import NAMESPACE, ScaleCluster, api_ready, exists, kwokctl, kwokctl_config, namespace_exists
from lab.scale.workload import scale_nodes


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
