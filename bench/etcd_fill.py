"""Filling a scale cluster to 150,000 pods in minutes (issue 26, item 4): the first workload made through
the API, as the controllers and kwok finish it, then cloned into etcd for every other one.

Why: through the API a 2-core machine's control plane wrote 107-240 objects a second, kwok made 45
pods Running a second and the controller-manager then wrote every status, EndpointSlice and
Endpoints object: hours for 150,000 pods. Here workload 0 (bench/fill.py) is read back as JSON once
it is Running, Ready and in its endpoints, and every other workload's objects are written straight
to etcd, in transactions of ``TXN_OPS`` puts, while the controller-manager is held: the same objects
with their names, template hash, uids, nodes and pod IPs changed, statuses included. kube-apiserver
reads JSON from etcd as well as protobuf (its storage decoder falls back to the universal
deserializer), and fills its watch cache from etcd's watch; what a client lists is what it would
list had the API made them. On its return the controller-manager finds every status already true.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lab.labctl import LabError, component_pid, kubectl, log, start_component, stop_component
from lab.scale import NAMESPACE, PER_NAMESPACE, ScaleCluster, namespace_for
from lab.scale import pods as objects

TEMPLATE = 0  # the serial of the workload made through the API
TXN_OPS = 128  # etcd's default --max-txn-ops
TXN_BYTES = 1 << 20  # under etcd's 1.5 MiB request limit
# what a workload is made of, how to find the template's objects, and where kube-apiserver keeps them
KINDS = (  # (resource, selector, etcd key prefix)
    ("deployments.apps", "app={name}", "/registry/deployments"),
    ("replicasets.apps", "app={name}", "/registry/replicasets"),
    ("pods", "app={name}", "/registry/pods"),
    ("services", "app={name}", "/registry/services/specs"),
    ("endpoints", "app={name}", "/registry/services/endpoints"),
    ("endpointslices.discovery.k8s.io", "kubernetes.io/service-name={name}", "/registry/endpointslices"),
    ("poddisruptionbudgets.policy", "app={name}", "/registry/poddisruptionbudgets"),
)
KCM = "kube-controller-manager"
RELEASED = '{"spec":{"holderIdentity":"","leaseDurationSeconds":1}}'
POD_NET = ipaddress.ip_network("10.64.0.0/10")  # outside kwok's own 10.0.0.0/24, room for 4M pods
POD_NET6 = ipaddress.ip_network("fd00:1::/64")


class EtcdFillError(LabError):
    pass


@contextmanager
def held_controller_manager(cluster: ScaleCluster) -> Iterator[None]:
    """The controller-manager stopped for the block and its leader Lease released, as client-go's
    release would (no holder, 1 s): SIGTERM here left it held, so its successor waited out 120 s."""
    stop_component(cluster, KCM, signal.SIGTERM)
    try:
        kubectl(cluster, "patch", "lease", "-n", "kube-system", KCM, "--type=merge", "-p", RELEASED)
        yield
    finally:
        start_component(cluster, KCM)


def etcd_url(cluster: ScaleCluster) -> str:
    """kube-apiserver's own ``--etcd-servers`` (kwokctl's etcd serves plain HTTP on 127.0.0.1)."""
    pid = component_pid(cluster, "kube-apiserver")
    if pid is None:
        raise EtcdFillError(f"{cluster.name}: kube-apiserver is not running")
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    url = next((a.split("=", 1)[1].split(",")[0] for a in args if a.startswith("--etcd-servers=")), "")
    if not url.startswith("http://127.0.0.1:"):
        raise EtcdFillError(f"{cluster.name}: etcd at {url or 'an unknown address'}, not plain HTTP on 127.0.0.1")
    return url


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def etcd_call(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call to etcd's gRPC gateway (JSON over HTTP)."""
    split = urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port, timeout=120)
    try:
        conn.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        answer: dict[str, Any] = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    if "error" in answer or "code" in answer:
        raise EtcdFillError(f"etcd {path}: {str(answer)[:300]}")
    return answer


def etcd_has(url: str, key: str) -> bool:
    return int(etcd_call(url, "/v3/kv/range", {"key": _b64(key), "count_only": True}).get("count", 0)) == 1


def template(cluster: ScaleCluster, per: int) -> list[tuple[str, dict[str, Any]]]:
    """Workload 0's objects as (etcd key prefix, object): statuses included, resourceVersions dropped;
    each checked to be where kube-apiserver keeps it."""
    name = objects.workload_name(TEMPLATE)
    url = etcd_url(cluster)
    out = []
    for resource, selector, prefix in KINDS:
        # with their managedFields: kubectl leaves them out, the API sends them (40% of a pod's bytes)
        query = ("-n", NAMESPACE, "-l", selector.format(name=name), "-o", "json", "--show-managed-fields")
        doc = json.loads(kubectl(cluster, "get", resource, *query).stdout)
        if not doc["items"]:
            raise EtcdFillError(f"workload {name} has no {resource}")
        for obj in doc["items"]:
            obj.setdefault("apiVersion", doc.get("apiVersion"))
            obj["metadata"].pop("resourceVersion", None)
            if not etcd_has(url, f"{prefix}/{NAMESPACE}/{obj['metadata']['name']}"):
                raise EtcdFillError(f"{resource} {obj['metadata']['name']} is not at {prefix}/{NAMESPACE}/ in etcd")
            out.append((prefix, obj))
    pods = [o for p, o in out if p == "/registry/pods"]
    if len(pods) != per:
        raise EtcdFillError(f"workload {name} has {len(pods)} pods, not {per}")
    return out


def pod_ips(index: int) -> tuple[str, str]:
    return str(POD_NET[index + 1]), str(POD_NET6[index + 1])


class Cloner:
    """Workload ``serial``'s objects from the template's JSON text: names, hash, uids and namespace
    replaced as text, then each pod's node and IPs (and their endpoints') set by pod."""

    def __init__(self, parts: list[tuple[str, dict[str, Any]]], per: int, nodes: list[str]) -> None:
        self.per, self.nodes = per, nodes
        self.name = objects.workload_name(TEMPLATE)
        # bench/fill.py's names, or its ReplicaSet's (serve's bench replaces pods): clone r is pod r of these
        self.pod_names = sorted(o["metadata"]["name"] for p, o in parts if p == "/registry/pods")
        if len(self.pod_names) != per or not all(n.startswith(f"{self.name}-") for n in self.pod_names):
            raise EtcdFillError(f"the template's pods are {self.pod_names}, not {per} pods of {self.name}")
        self.uids = [o["metadata"]["uid"] for _, o in parts]
        self.prefixes = [p for p, _ in parts]
        self.text = json.dumps([o for _, o in parts], separators=(",", ":"))

    def objects(self, serial: int) -> Iterator[tuple[str, bytes]]:
        """(etcd key, JSON value) of each object of workload ``serial``."""
        name = objects.workload_name(serial)
        text = self.text
        for r, old in enumerate(self.pod_names):
            text = text.replace(old, objects.pod_name(name, r))
        for uid in self.uids:
            text = text.replace(uid, str(uuid.uuid4()))
        text = text.replace(objects.template_hash(self.name), objects.template_hash(name)).replace(self.name, name)
        text = text.replace(f'"namespace":"{NAMESPACE}"', f'"namespace":"{namespace_for(serial)}"')
        placed = {objects.pod_name(name, r): self._place(serial * self.per + r) for r in range(self.per)}
        for prefix, obj in zip(self.prefixes, json.loads(text), strict=True):
            self._set_pods(obj, placed)
            key = f"{prefix}/{obj['metadata']['namespace']}/{obj['metadata']['name']}"
            yield key, json.dumps(obj, separators=(",", ":")).encode()

    def _place(self, index: int) -> tuple[str, str, str]:
        return (objects.node_for(index, self.nodes), *pod_ips(index))

    @staticmethod
    def _set_pods(obj: dict[str, Any], placed: dict[str, tuple[str, str, str]]) -> None:
        kind = obj["kind"]
        if kind == "Pod":
            node, v4, v6 = placed[obj["metadata"]["name"]]
            obj["spec"]["nodeName"] = node
            status = obj["status"]
            status["podIP"], status["podIPs"] = v4, [{"ip": v4}, {"ip": v6}][: len(status.get("podIPs") or [1])]
        elif kind == "EndpointSlice":
            for ep in obj.get("endpoints") or []:
                node, v4, v6 = placed[ep["targetRef"]["name"]]
                ep["nodeName"], ep["addresses"] = node, [v6 if obj["addressType"] == "IPv6" else v4]
        elif kind == "Endpoints":
            for subset in obj.get("subsets") or []:
                for address in (subset.get("addresses") or []) + (subset.get("notReadyAddresses") or []):
                    node, v4, _ = placed[address["targetRef"]["name"]]
                    address["nodeName"], address["ip"] = node, v4


def batches(items: Iterator[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    size = 0
    for key, value in items:
        if batch and (len(batch) == TXN_OPS or size + len(value) > TXN_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((key, value))
        size += len(key) + len(value)
    if batch:
        yield batch


def put_all(url: str, items: Iterator[tuple[str, bytes]], progress: Callable[[int], None]) -> int:
    """Every (key, value) in transactions; the number of transactions."""
    txns = written = 0
    for batch in batches(items):
        ops = [{"request_put": {"key": _b64(k), "value": _b64(v)}} for k, v in batch]
        etcd_call(url, "/v3/kv/txn", {"success": ops})
        txns += 1
        written += len(batch)
        progress(written)
    return txns


def clone(cluster: ScaleCluster, serials: range, per: int, nodes: list[str]) -> dict[str, float | int]:
    """Write workloads ``serials`` into etcd with the controller-manager held; the time and etcd
    transactions it took. Workload 0 must be complete (bench/fill.py through the API)."""
    url = etcd_url(cluster)
    cloner = Cloner(template(cluster, per), per, nodes)
    count = len(cloner.prefixes)
    total = len(serials) * count
    step = max(TXN_OPS, total // 10 // TXN_OPS * TXN_OPS)
    t0 = time.monotonic()

    def progress(written: int) -> None:
        if written % step < TXN_OPS:
            log(f"{cluster.name}: {written:,} of {total:,} objects written to etcd ({time.monotonic() - t0:.0f} s)")

    with held_controller_manager(cluster):
        txns = put_all(url, (kv for s in serials for kv in cloner.objects(s)), progress)
    seconds = time.monotonic() - t0
    log(f"{cluster.name}: {len(serials):,} workloads ({total:,} objects) written to etcd in {seconds:.1f} s")
    return {"etcdSeconds": round(seconds, 1), "etcdObjects": total, "etcdTransactions": txns}


def shrink_ranges(prefix: str, target: int) -> list[tuple[str, str]]:
    """The etcd key ranges of one kind's objects of workloads ``target`` on: the rest of its namespace
    (names from ``app-<target>``; "." sorts after "-"), then every later ``bench-NNN`` namespace (they
    sort before ``bench/``, ``bench.`` after all of them; NNN has three digits)."""
    ns, later = namespace_for(target), namespace_for((target // PER_NAMESPACE + 1) * PER_NAMESPACE)
    first = objects.workload_name(target)
    return [(f"{prefix}/{ns}/{first}", f"{prefix}/{ns}/app."), (f"{prefix}/{later}/", f"{prefix}/{NAMESPACE}.")]


def shrink(cluster: ScaleCluster, target: int) -> dict[str, float | int]:
    """Delete every workload from serial ``target`` on, straight from etcd (one range per kind: its
    names sorting after ``app-<target>`` in its namespace, then every later bench namespace's), with the
    controller-manager held. The namespaces stay, empty."""
    url = etcd_url(cluster)
    first = objects.workload_name(target)
    t0 = time.monotonic()
    deleted = 0
    with held_controller_manager(cluster):
        for _, _, prefix in KINDS:
            for start, end in shrink_ranges(prefix, target):
                answer = etcd_call(url, "/v3/kv/deleterange", {"key": _b64(start), "range_end": _b64(end)})
                deleted += int(answer.get("deleted", 0))
    seconds = time.monotonic() - t0
    log(f"{cluster.name}: {deleted:,} objects of workloads {first} on deleted from etcd in {seconds:.1f} s")
    return {"etcdSeconds": round(seconds, 1), "etcdDeleted": deleted}
