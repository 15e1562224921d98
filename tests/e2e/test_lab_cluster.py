"""The lab cluster is a real Kubernetes control plane, its fault helpers really break it, and it
comes back: checked through the official Python client."""

from __future__ import annotations

import time
from datetime import datetime

from kubernetes import client

from lab import labctl
from tests.e2e.conftest import Cluster


def test_real_api_server_answers(cluster: Cluster) -> None:
    version = client.VersionApi(cluster.api).get_code(_request_timeout=5)
    assert version.git_version.startswith("v1.")
    readyz = cluster.api.rest_client.request(
        "GET", cluster.api.configuration.host + "/readyz?verbose", headers=cluster.api.default_headers | auth(cluster)
    )
    body = readyz.read().decode()
    assert readyz.status == 200
    assert "[+]etcd ok" in body and "readyz check passed" in body
    nodes = client.CoreV1Api(cluster.api).list_node(_request_timeout=5).items
    assert len(nodes) >= 1


def auth(cluster: Cluster) -> dict[str, str]:
    token = cluster.api.configuration.auth_settings().get("BearerToken")
    return {"authorization": token["value"]} if token else {}


def renew_time(cluster: Cluster, name: str) -> datetime:
    lease = client.CoordinationV1Api(cluster.api).read_namespaced_lease(name, "kube-system", _request_timeout=5)
    assert lease.spec is not None and isinstance(lease.spec.renew_time, datetime)
    return lease.spec.renew_time


def test_stopping_the_scheduler_freezes_its_lease_and_restore_brings_it_back(cluster: Cluster, lab: labctl.Lab) -> None:
    before = renew_time(cluster, "kube-scheduler")
    labctl.stop_component(lab, "kube-scheduler")
    frozen = renew_time(cluster, "kube-scheduler")
    time.sleep(5)  # the scheduler renews every 2 s while it runs
    assert renew_time(cluster, "kube-scheduler") == frozen
    assert frozen >= before

    labctl.restore_all(lab)
    assert renew_time(cluster, "kube-scheduler") > frozen
    ready = [
        n
        for n in client.CoreV1Api(cluster.api).list_node().items
        if n.status and any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    ]
    assert len(ready) == 3
