"""The bench workload as API objects, made directly (bench/fill.py): per serial a Deployment, its
ReplicaSet and pods already bound to kwok nodes, a Service and a PDB, shaped as the controllers make them."""

from __future__ import annotations

import hashlib
from typing import Any

from lab.scale.base import namespace_for

# the alphabet of the controllers' generated suffixes (k8s.io/apimachinery rand.SafeEncodeString)
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
HASH_LABEL = "pod-template-hash"
IMAGE = "registry.k8s.io/pause:3.10"


def suffix(seed: str, length: int) -> str:
    """A stable suffix of ``length`` characters from ``seed``, in the controllers' alphabet."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:length])


def workload_name(serial: int) -> str:
    return f"app-{serial:06d}"


def template_hash(name: str) -> str:
    """The ReplicaSet's ``pod-template-hash``: the Deployment controller finds its ReplicaSet by the
    template with this label left out (EqualIgnoreHash), so any stable value is adopted."""
    return suffix(f"template/{name}", 10)


def node_for(pod_index: int, nodes: list[str]) -> str:
    """Pods spread round-robin by their index across the whole bench: a workload's replicas land on
    distinct nodes (while it has no more replicas than there are nodes), every node gets its share."""
    return nodes[pod_index % len(nodes)]


def _labels(name: str) -> dict[str, str]:
    return {"app": name, "tier": "web"}


def _pod_spec() -> dict[str, Any]:
    container = {
        "name": "app",
        "image": IMAGE,
        "ports": [{"containerPort": 8080, "name": "http"}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
    }
    return {"containers": [container]}


def _owner(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def serial_of(name: str) -> int:
    """The workload serial in a workload's or its objects' name (``app-000123``, ``app-000123-...``)."""
    return int(name.split("-")[1])


def _meta(name: str, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace_for(serial_of(name)), "labels": labels, **extra}


def deployment(name: str, replicas: int) -> dict[str, Any]:
    """Revision 1 already written, so the Deployment controller has nothing to annotate."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, {"app": name}, annotations={"deployment.kubernetes.io/revision": "1"}),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": _labels(name)}, "spec": _pod_spec()},
        },
    }


def max_replicas(replicas: int) -> int:
    """replicas plus the default maxSurge, 25% rounded up (the Deployment controller's annotation)."""
    return replicas + -(-replicas // 4)


def replicaset(name: str, deployment_uid: str, replicas: int) -> dict[str, Any]:
    """The Deployment's ReplicaSet, as its controller makes it: named by the template hash, owned by
    the Deployment, the revision annotations written."""
    hashed = template_hash(name)
    labels = {**_labels(name), HASH_LABEL: hashed}
    annotations = {
        "deployment.kubernetes.io/revision": "1",
        "deployment.kubernetes.io/desired-replicas": str(replicas),
        "deployment.kubernetes.io/max-replicas": str(max_replicas(replicas)),
    }
    meta = _meta(
        f"{name}-{hashed}",
        labels,
        annotations=annotations,
        ownerReferences=[_owner("Deployment", name, deployment_uid)],
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name, HASH_LABEL: hashed}},
            "template": {"metadata": {"labels": labels}, "spec": _pod_spec()},
        },
    }


def pod_name(name: str, replica: int) -> str:
    """The name bench/fill.py gives replica ``replica`` of workload ``name`` (its ReplicaSet's replacements differ)."""
    rs = f"{name}-{template_hash(name)}"
    return f"{rs}-{suffix(f'{rs}/{replica}', 5)}"


def pod(name: str, replicaset_uid: str, replica: int, node: str) -> dict[str, Any]:
    """Replica ``replica`` of workload ``name``: its ReplicaSet's labels and controller reference,
    already bound to ``node`` (the scheduler has nothing to do)."""
    rs = f"{name}-{template_hash(name)}"
    meta = _meta(
        pod_name(name, replica),
        {**_labels(name), HASH_LABEL: template_hash(name)},
        ownerReferences=[_owner("ReplicaSet", rs, replicaset_uid)],
    )
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {**_pod_spec(), "nodeName": node}}


def service(name: str) -> dict[str, Any]:
    """Headless: allocating a ClusterIP made each create take 3.5 s on the bench's control plane
    (1,022 s for 286 Services at 5,000 nodes, apiserver_request_duration_seconds), the pods' 0.1 s;
    its EndpointSlice is made all the same, and kplanediag judges a Service by its endpoints."""
    spec = {"clusterIP": "None", "selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, {"app": name}), "spec": spec}


def pdb(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name, {"app": name}),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": name}}},
    }


def paths(namespace: str) -> dict[str, str]:
    """Where each kind is created (POST), in one of the bench's namespaces."""
    ns = f"namespaces/{namespace}"
    return {
        "Deployment": f"/apis/apps/v1/{ns}/deployments",
        "ReplicaSet": f"/apis/apps/v1/{ns}/replicasets",
        "Pod": f"/api/v1/{ns}/pods",
        "Service": f"/api/v1/{ns}/services",
        "PodDisruptionBudget": f"/apis/policy/v1/{ns}/poddisruptionbudgets",
    }
