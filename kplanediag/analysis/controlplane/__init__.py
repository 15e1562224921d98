"""Control plane: find its components (static pods, role labels, Leases, health checks), decide
whether it is self-hosted or managed, and judge each component's health."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis import objects as o
from kplanediag.analysis.controlplane.leases import lease_state
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Plane, Status
from kplanediag.snapshot import Probe
from kplanediag.snapshot.kinds import Node, Pod

COMPONENTS = ("kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "cloud-controller-manager")
LEADER_ELECTED = ("kube-scheduler", "kube-controller-manager", "cloud-controller-manager")
ROLE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
MANAGED_HINTS = {
    "eks.amazonaws.com/nodegroup": "EKS",
    "eks.amazonaws.com/compute-type": "EKS",
    "cloud.google.com/gke-nodepool": "GKE",
    "kubernetes.azure.com/cluster": "AKS",
    "kubernetes.azure.com/agentpool": "AKS",
}
POD_CODES = {"kube-apiserver": "KPD-103", "etcd": "KPD-111"}  # others: KPD-123


@dataclass(frozen=True)
class ControlPlane:
    mode: str
    mode_evidence: tuple[str, ...]
    components: tuple[Component, ...]
    findings: tuple[Finding, ...]
    api_failing: bool  # the API server or etcd fails: later failures are likely consequences


def static_pods(idx: ClusterIndex) -> dict[str, list[Pod]]:
    pods: dict[str, list[Pod]] = {}
    for pod in idx.pods_by_namespace.get("kube-system", []):
        lab = pod.labels
        if lab.get("tier") == "control-plane" and lab.get("component") in COMPONENTS:
            pods.setdefault(lab["component"], []).append(pod)
    return pods


def is_control_plane_node(node: Node) -> bool:
    lab = node.labels
    return any(k in lab for k in ROLE_LABELS) or lab.get("kubernetes.io/role") == "master"


def control_plane_mode(idx: ClusterIndex, pods: dict[str, list[Pod]]) -> tuple[str, tuple[str, ...]]:
    evidence = [f"{len(v)} {k} pod(s) with tier=control-plane" for k, v in sorted(pods.items())]
    cp_nodes = sorted(n for n, node in idx.nodes.items() if is_control_plane_node(node))
    if cp_nodes:
        evidence.append(f"control-plane role on node(s) {', '.join(cp_nodes)}")
    if evidence:
        return "self-hosted", tuple(evidence)
    hints = sorted(
        {f"node label {k} ({v})" for node in idx.nodes.values() for k, v in MANAGED_HINTS.items() if k in node.labels}
    )
    if hints and idx.has("pods"):
        return "managed", ("no control-plane pods or nodes", *hints)
    return "unknown", ("no control-plane pods, nodes or managed-cluster labels",)


def _probe_checks(probes: list[Probe], etcd: bool) -> tuple[list[str], bool]:
    """Failing check names (etcd ones or the others) over the probes, and whether any check was seen."""
    failing: list[str] = []
    seen = False
    for probe in probes:
        for check in probe.checks:
            if check.name.startswith("etcd") == etcd:
                seen = True
                if not check.ok and check.name not in failing:
                    failing.append(check.name + (f" ({check.message})" if check.message else ""))
    return failing, seen


def _instances(
    name: str,
    status: Status,
    pods: list[Pod],
    evidence: list[str],
    version: str | None,
    detail: str,
    findings: list[Finding],
) -> list[Component]:
    """One component per static pod (a not-ready pod lowers its instance), or one without a node."""
    if not pods:
        return [Component(name, Plane.CONTROL, status, None, version, tuple(evidence), detail)]
    out = []
    for pod in sorted(pods, key=lambda p: p.spec.node_name):
        node, state = pod.spec.node_name, o.pod_state(pod)
        inst_status, inst_detail = status, detail
        if state != "Ready":
            findings.append(
                finding(
                    POD_CODES.get(name, "KPD-123"),
                    pod.key,
                    f"{name} pod {pod.key} on {node} is {state}",
                    component=name,
                )
            )
            if status is Status.HEALTHY:
                inst_status, inst_detail = Status.DEGRADED, f"pod {state}"
        out.append(
            Component(
                name,
                Plane.CONTROL,
                inst_status,
                node or None,
                version or o.image_tag(pod),
                (*evidence, f"static pod {pod.key} ({state})"),
                inst_detail,
            )
        )
    return out


def assess_api_and_etcd(idx: ClusterIndex, pods: dict[str, list[Pod]]) -> tuple[list[Component], list[Finding], bool]:
    snap = idx.snapshot
    findings: list[Finding] = []
    version = snap.version.git_version if snap.version else None
    # a probe answered 4xx (forbidden, throttled) says nothing about health: it is a gap, not a failure
    probes = [p for p in (snap.livez, snap.readyz) if p is not None and p.status is not None and p.answered]
    evidence = []
    if snap.version:
        evidence.append(f"/version answered {version}")
    evidence += [f"{p.endpoint} HTTP {p.status}" for p in probes]
    identity = [
        lease
        for (ns, _), lease in idx.leases.items()
        if ns == "kube-system" and lease.labels.get("apiserver.kubernetes.io/identity") == "kube-apiserver"
    ]
    if identity:
        evidence.append(f"{len(identity)} API server identity Lease(s)")
    for es in idx.slices_by_service.get(("default", "kubernetes"), []):
        addrs = [a for ep in es.endpoints for a in ep.addresses]
        if addrs:
            evidence.append(f"kubernetes Service endpoints {', '.join(addrs)}")

    if not snap.reachable:
        findings.append(
            finding(
                "KPD-100",
                snap.server or "API server",
                f"API server {snap.server or ''} is unreachable: {snap.livez.error if snap.livez else ''}".strip(),
            )
        )
        api_status, api_detail = Status.DOWN, "unreachable"
    elif not probes:
        api_status, api_detail = Status.UNKNOWN, "health endpoints not observed"
    else:
        live_fail, _ = _probe_checks([p for p in probes if p.endpoint.startswith("/livez")], etcd=False)
        ready_fail, _ = _probe_checks([p for p in probes if p.endpoint.startswith("/readyz")], etcd=False)
        bad_probe = [p.endpoint for p in probes if not p.ok and not p.failed_checks]
        api_status, api_detail = Status.HEALTHY, ""
        if live_fail:
            findings.append(finding("KPD-101", "/livez", f"API server livez failing: {', '.join(live_fail)}"))
            api_status, api_detail = Status.DOWN, "livez failing"
        elif ready_fail or bad_probe:
            what = ", ".join(ready_fail) or f"{', '.join(bad_probe)} not OK"
            findings.append(finding("KPD-102", "/readyz", f"API server readyz failing: {what}"))
            api_status, api_detail = Status.DEGRADED, "readyz failing"

    etcd_fail, etcd_seen = _probe_checks(probes, etcd=True)
    etcd_evidence = [f"{p.endpoint} etcd checks" for p in probes if any(c.name.startswith("etcd") for c in p.checks)]
    if etcd_fail:
        findings.append(
            finding(
                "KPD-110",
                "etcd",
                f"etcd checks failing: {', '.join(etcd_fail)}: writes fail, "
                "reads are served from the API server's watch cache and may be stale",
            )
        )
        etcd_status, etcd_detail = Status.DOWN, "etcd checks failing"
        if api_status is Status.HEALTHY:
            api_status, api_detail = Status.DEGRADED, "etcd unavailable"
    elif etcd_seen:
        etcd_status, etcd_detail = Status.HEALTHY, ""
    else:
        etcd_status, etcd_detail = Status.UNKNOWN, "no etcd check observed"

    components = _instances(
        "kube-apiserver", api_status, pods.get("kube-apiserver", []), evidence, version, api_detail, findings
    )
    components += _instances("etcd", etcd_status, pods.get("etcd", []), etcd_evidence, None, etcd_detail, findings)
    api_failing = (
        api_status is Status.DOWN or etcd_status is Status.DOWN or bool([f for f in findings if f.code == "KPD-102"])
    )
    return components, findings, api_failing


def assess_leader(
    idx: ClusterIndex, name: str, pods: list[Pod], mode: str, api_failing: bool
) -> tuple[list[Component], list[Finding]]:
    findings: list[Finding] = []
    lease = idx.lease("kube-system", name)
    consequence = " (the API server or etcd is failing: likely a consequence)" if api_failing else ""
    evidence: list[str] = []
    if not idx.leases_seen("kube-system"):
        status, detail = Status.UNKNOWN, "leases not observed"
    elif lease is not None:
        state = lease_state(lease, idx.now)
        evidence.append(f"leader Lease kube-system/{name}: {state.describe()}")
        if state.released:
            findings.append(
                finding(
                    "KPD-121",
                    f"kube-system/{name}",
                    f"{name} has no leader: Lease released ({state.describe()}){consequence}",
                    component=name,
                )
            )
            status, detail = Status.DOWN, "no leader"
        elif not state.fresh:
            findings.append(
                finding(
                    "KPD-120",
                    f"kube-system/{name}",
                    f"{name} leader is not renewing: {state.describe()}{consequence}",
                    component=name,
                )
            )
            status, detail = Status.DOWN, "leader Lease stale"
        else:
            status, detail = Status.HEALTHY, ""
    elif mode == "self-hosted" and (name != "cloud-controller-manager" or pods):
        findings.append(
            finding(
                "KPD-122",
                f"kube-system/{name}",
                f"no leader Lease kube-system/{name} on a self-hosted control plane{consequence}",
                component=name,
            )
        )
        status, detail = Status.DOWN, "no leader Lease"
    elif name == "cloud-controller-manager" and not pods:
        return [], []  # no sign of a cloud-controller-manager: this cluster does not run one
    else:
        status, detail = Status.UNKNOWN, f"hidden ({mode} control plane)"
    return _instances(name, status, pods, evidence, None, detail, findings), findings


def assess_control_plane(idx: ClusterIndex) -> ControlPlane:
    pods = static_pods(idx)
    mode, mode_evidence = control_plane_mode(idx, pods)
    components, findings, api_failing = assess_api_and_etcd(idx, pods)
    for name in LEADER_ELECTED:
        comps, found = assess_leader(idx, name, pods.get(name, []), mode, api_failing)
        components += comps
        findings += found
    if mode != "self-hosted" and idx.snapshot.reachable:
        hidden = sorted({c.name for c in components if c.status is Status.UNKNOWN})
        if hidden:
            findings.append(
                finding(
                    "KPD-130",
                    "control plane",
                    f"{mode} control plane: {', '.join(hidden)} not visible; reported unknown, not down",
                )
            )
    return ControlPlane(mode, mode_evidence, tuple(components), tuple(findings), api_failing)
