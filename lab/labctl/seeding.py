"""Bringing the lab up: seeding a new cluster, or restoring the one already there."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from lab.labctl.base import Lab, kubectl, log, wait_for, wait_for_quietly
from lab.labctl.cluster import api_ready, audited, build, configured, create, down, start_supervisor
from lab.labctl.faults import restore_all
from lab.labctl.identity import apply_rbac
from lab.labctl.settle import ready_nodes, wait_settled


def seed(lab: Lab) -> None:
    t0 = time.monotonic()
    seed_dir = lab.flavour.seed
    nodes = sum(1 for d in yaml.safe_load_all((seed_dir / "nodes.yaml").read_text()) if d and d["kind"] == "Node")
    kubectl(lab, "apply", "-f", str(seed_dir / "nodes.yaml"))
    wait_for(f"{nodes} Ready nodes", lambda: ready_nodes(lab) == nodes, 60)
    # Pods are refused until the controller-manager has created their namespace's "default"
    # ServiceAccount, moments after start: apply (idempotent) until every object is accepted.
    wait_for("the seed to be accepted", lambda: apply_ok(lab, seed_dir), 60, 1)
    publish_load_balancers(lab)
    apply_rbac(lab)
    wait_settled(lab)
    log(f"seeded and settled in {time.monotonic() - t0:.1f}s")


def publish_load_balancers(lab: Lab) -> None:
    """Give every LoadBalancer Service the node address as its ingress, as k3s's servicelb does
    (nothing else would: no cloud provider). The lab's nodes all answer on 127.0.0.1."""
    services = json.loads(kubectl(lab, "get", "services", "-A", "-o", "json").stdout)["items"]
    ingress = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}}})
    for svc in services:
        if svc["spec"].get("type") == "LoadBalancer" and not svc.get("status", {}).get("loadBalancer"):
            meta = svc["metadata"]
            args = ("patch", "service", meta["name"], "-n", meta["namespace"], "--subresource=status")
            kubectl(lab, *args, "--type=merge", "-p", ingress)


def apply_ok(lab: Lab, path: Path) -> bool:
    return kubectl(lab, "apply", "-f", str(path), check=False).returncode == 0


def up(lab: Lab) -> None:
    build(lab)
    if lab.cluster_dir.exists() and not audited(lab):
        log("existing lab cluster has no audit log or another audit policy (made before it had one); recreating it")
        down(lab)
    if lab.cluster_dir.exists() and not configured(lab):
        log("existing lab cluster was made from another lab/kwokctl.yaml.in; recreating it")
        down(lab)
    if lab.cluster_dir.exists():
        start_supervisor(lab)
        if wait_for_quietly(lambda: api_ready(lab), 30):
            log("lab cluster already exists; restoring it")
            restore_all(lab)
            apply_rbac(lab)
            log(f"kubeconfig: {lab.kubeconfig}")
            return
        log("existing lab cluster does not answer; recreating it")
        down(lab)
    create(lab)
    seed(lab)
    log(f"kubeconfig: {lab.kubeconfig}")
