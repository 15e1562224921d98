"""Throwaway kwokctl scale clusters (never the shared lab) for the live benchmark (bench/live.py) and
the API-cost e2e test; ``python -m lab.scale`` drives them, and every name below is importable from here."""

from lab.scale.base import (
    BENCH,
    CLIENT_BURST,
    CLIENT_QPS,
    NAMESPACE,
    PER_DEPLOYMENT,
    PER_NAMESPACE,
    RESOURCES,
    ScaleCluster,
    api_ready,
    bench_namespace,
    column,
    default_cluster,
    exists,
    kwokctl,
    kwokctl_config,
    namespace_exists,
    namespace_for,
)
from lab.scale.cli import main, status
from lab.scale.cluster import create, delete, ensure, reader_kubeconfig
from lab.scale.workload import deployments_for, ready_nodes, scale_nodes, scale_pods, workload_state

__all__ = [
    "BENCH",
    "CLIENT_BURST",
    "CLIENT_QPS",
    "NAMESPACE",
    "PER_DEPLOYMENT",
    "PER_NAMESPACE",
    "RESOURCES",
    "ScaleCluster",
    "api_ready",
    "bench_namespace",
    "column",
    "create",
    "default_cluster",
    "delete",
    "deployments_for",
    "ensure",
    "exists",
    "kwokctl",
    "kwokctl_config",
    "main",
    "namespace_exists",
    "namespace_for",
    "reader_kubeconfig",
    "ready_nodes",
    "scale_nodes",
    "scale_pods",
    "status",
    "workload_state",
]
