"""Probes of a settled lab: nodes Ready, workloads ready, leader Leases fresh, components healthy."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from datetime import datetime

import yaml

from lab.labctl.base import ELECTED, Lab, LabError, kubectl, wait_for
from lab.labctl.cluster import component_pid


def ready_nodes(lab: Lab) -> int:
    nodes = json.loads(kubectl(lab, "get", "nodes", "-o", "json").stdout)["items"]
    return sum(
        1 for n in nodes for c in n["status"].get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"
    )


def settled(lab: Lab) -> bool:
    """Every seeded workload fully ready and both leader Leases held; in a flavour without leader
    election, both processes running and no such Lease (one would mean the flavour is not applied)."""
    data = json.loads(kubectl(lab, "get", "deploy,ds,sts,lease", "-A", "-o", "json").stdout)
    for obj in data["items"]:
        st, kind = obj.get("status", {}), obj["kind"]
        if kind in ("Deployment", "StatefulSet") and st.get("readyReplicas", 0) != obj["spec"].get("replicas", 1):
            return False
        desired = st.get("desiredNumberScheduled", 0)
        if kind == "DaemonSet" and (desired == 0 or st.get("numberReady") != desired):
            return False
    leases = [o for o in data["items"] if o["kind"] == "Lease" and o["metadata"]["namespace"] == "kube-system"]
    if not lab.flavour.leader_elect:
        elected = {o["metadata"]["name"] for o in leases} & set(ELECTED)
        return not elected and all(component_pid(lab, name) for name in ELECTED)
    fresh = {o["metadata"]["name"] for o in leases if lease_fresh(o["spec"])}
    return set(ELECTED) <= fresh


def lease_renewed_since(lab: Lab, name: str, since: float) -> bool:
    lease = json.loads(kubectl(lab, "get", "lease", "-n", "kube-system", name, "-o", "json").stdout)
    renew = lease["spec"].get("renewTime")
    return isinstance(renew, str) and datetime.fromisoformat(renew).timestamp() > since


def lease_fresh(spec: dict[str, object]) -> bool:
    """Held, and renewed within its leaseDurationSeconds (the lab runs on this machine's clock)."""
    renew, duration = spec.get("renewTime"), spec.get("leaseDurationSeconds")
    if not spec.get("holderIdentity") or not isinstance(renew, str) or not isinstance(duration, int):
        return False
    age = time.time() - datetime.fromisoformat(renew).timestamp()
    return age <= duration


def wait_settled(lab: Lab, timeout: float = 120) -> float:
    what = "leader Leases held" if lab.flavour.leader_elect else "scheduler and controller-manager running"
    return wait_for(
        f"the {lab.flavour.cluster} cluster to settle (workloads ready, {what})", lambda: settled(lab), timeout, 1
    )


def component_ready(lab: Lab, component: str) -> bool:
    """The scheduler's /readyz or the controller-manager's /healthz answers ok on its secure port
    (kwokctl lets anyone read them; the serving certificate is the process's own self-signed one)."""
    port = next(
        (
            arg.split("=", 1)[1]
            for doc in yaml.safe_load_all((lab.cluster_dir / "kwok.yaml").read_text())
            if isinstance(doc, dict) and doc.get("kind") == "KwokctlConfiguration"
            for comp in doc.get("components") or []
            if comp["name"] == component
            for arg in comp.get("args") or []
            if arg.startswith("--secure-port=")
        ),
        None,
    )
    if port is None:
        raise LabError(f"no --secure-port for {component} in {lab.cluster_dir / 'kwok.yaml'}")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # loopback, the component's throwaway self-signed certificate
    path = "/readyz" if component == "kube-scheduler" else "/healthz"
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context, timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
