"""kube-apiserver and etcd: /livez and /readyz (etcd checks included), their instances (static pods,
identity Leases), API servers down among several, and etcd quorum."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from kplanediag.analysis.controlplane.instances import Base, Redundancy, judge, offline, redundancy
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Status
from kplanediag.snapshot import Probe
from kplanediag.snapshot.kinds import Pod

SINGLE_POD_CODES = {"kube-apiserver": "KPD-103", "etcd": "KPD-111"}


@dataclass(frozen=True)
class ApiAndEtcd:
    components: list[Component]
    findings: list[Finding]
    failing: bool  # the API server or etcd fails: later failures are likely consequences
    redundancy: list[Redundancy]


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


def _api_base(idx: ClusterIndex, dist: Distribution, probes: list[Probe], findings: list[Finding]) -> Base:
    snap = idx.snapshot
    version = snap.version.git_version if snap.version else None
    evidence = [f"/version answered {version}"] if snap.version else []
    evidence += [f"{p.endpoint} HTTP {p.status}" for p in probes]
    identity = [
        lease
        for (ns, _), lease in idx.leases.items()
        if ns == "kube-system" and lease.labels.get("apiserver.kubernetes.io/identity") == "kube-apiserver"
    ]
    if identity:
        hosts = sorted({lease.labels.get("kubernetes.io/hostname", lease.name) for lease in identity})
        evidence.append(f"{len(identity)} API server identity Lease(s): {', '.join(hosts)}")
    for es in idx.slices_by_service.get(("default", "kubernetes"), []):
        addrs = [a for ep in es.endpoints for a in ep.addresses]
        if addrs:
            evidence.append(f"kubernetes Service endpoints {', '.join(addrs)}")
    if not snap.reachable:
        error = snap.livez.error if snap.livez else ""
        findings.append(
            finding("KPD-100", snap.server or "API server", f"API server {snap.server or ''} is unreachable: {error}")
        )
        return Base(Status.DOWN, "unreachable", tuple(evidence), version)
    if not probes:
        hidden = dist.profile.hidden("kube-apiserver")
        detail = f"health endpoints not observed; {hidden}" if hidden else "health endpoints not observed"
        return Base(Status.UNKNOWN, detail, tuple(evidence), version, lift_on_ready=offline(idx))
    live_fail, _ = _probe_checks([p for p in probes if p.endpoint.startswith("/livez")], etcd=False)
    ready_fail, _ = _probe_checks([p for p in probes if p.endpoint.startswith("/readyz")], etcd=False)
    bad_probe = [p.endpoint for p in probes if not p.ok and not p.failed_checks]
    if live_fail:
        findings.append(finding("KPD-101", "/livez", f"API server livez failing: {', '.join(live_fail)}"))
        return Base(Status.DOWN, "livez failing", tuple(evidence), version)
    if ready_fail or bad_probe:
        what = ", ".join(ready_fail) or f"{', '.join(bad_probe)} not OK"
        findings.append(finding("KPD-102", "/readyz", f"API server readyz failing: {what}"))
        return Base(Status.DEGRADED, "readyz failing", tuple(evidence), version)
    return Base(Status.HEALTHY, "", tuple(evidence), version)


def _serving(idx: ClusterIndex) -> Callable[[str], bool | None] | None:
    """Whether the API server on a node serves: the default/kubernetes Service's endpoints are the
    live API servers (their lease-based reconciler drops a stopped one within seconds). None: unknown."""
    slices = idx.slices_by_service.get(("default", "kubernetes"))
    if not idx.has("endpointslices") or not slices:
        return None
    live = {a for es in slices for ep in es.endpoints for a in ep.addresses}
    if not live:
        return None

    def serving(node: str) -> bool | None:
        found = idx.nodes.get(node)
        ips = {a.address for a in found.status.addresses if a.type == "InternalIP"} if found else set()
        return bool(ips & live) if ips else None

    return serving


def _single_pod_findings(name: str, instances: list[Component], pods: list[Pod], findings: list[Finding]) -> None:
    for comp, pod in zip(instances, sorted(pods, key=lambda p: p.spec.node_name), strict=False):
        if comp.status is not Status.HEALTHY and comp.detail.startswith(("pod ", "node ")):
            findings.append(
                finding(
                    SINGLE_POD_CODES.get(name, "KPD-123"),
                    pod.key,
                    f"{name} pod {pod.key} on {comp.node} is {comp.detail}",
                    component=name,
                )
            )


def _etcd_base(
    idx: ClusterIndex, dist: Distribution, probes: list[Probe], findings: list[Finding]
) -> tuple[Base, list[str]]:
    """etcd as the API server's etcd checks show it, and the names of those failing (KPD-110)."""
    etcd_fail, etcd_seen = _probe_checks(probes, etcd=True)
    etcd_evidence = tuple(
        f"{p.endpoint} etcd checks" for p in probes if any(c.name.startswith("etcd") for c in p.checks)
    )
    if etcd_fail:
        findings.append(
            finding(
                "KPD-110",
                "etcd",
                f"etcd checks failing: {', '.join(etcd_fail)}: writes fail, "
                "reads are served from the API server's watch cache and may be stale",
            )
        )
        return Base(Status.DOWN, "checks failing", etcd_evidence), etcd_fail
    if etcd_seen:
        return Base(Status.HEALTHY, "", etcd_evidence), etcd_fail
    hidden = dist.profile.hidden("etcd")
    detail = f"no etcd check observed; {hidden}" if hidden else "no etcd check observed"
    return Base(Status.UNKNOWN, detail, etcd_evidence, lift_on_ready=offline(idx)), etcd_fail


def _api_server_findings(
    api: list[Component], api_red: Redundancy, pods: list[Pod], reachable: bool, findings: list[Finding]
) -> None:
    """Among several API servers, each one down or not observed (KPD-104); else the single one's pod."""
    if api_red.total <= 1:
        _single_pod_findings("kube-apiserver", api, pods, findings)
        return
    for comp in api:
        if comp.node in api_red.down_nodes:
            seen = f"{api_red.healthy} of {api_red.total} API servers seen healthy"
            if comp.status is Status.DOWN:
                what = f"is down: {seen}; clients pointed straight at it fail (load balancers drop it by its /readyz)"
            else:  # not observed: whether it serves is not known, and the API answered through another
                answered = "; the API answered this check, through at least one" if reachable else ""
                what = f"is {comp.detail}: {seen}{answered}; whether it serves is not known"
            findings.append(finding("KPD-104", comp.node or "kube-apiserver", f"kube-apiserver on {comp.node} {what}"))


def _etcd_member_findings(
    etcd: list[Component], etcd_red: Redundancy, pods: list[Pod], etcd_fail: list[str], findings: list[Finding]
) -> None:
    """Among several etcd members, quorum lost (KPD-113) or members down (KPD-112); else the single one's pod."""
    if not (etcd_red.total > 1 and etcd_red.down_nodes):
        _single_pod_findings("etcd", etcd, pods, findings)
        return
    members = f"{etcd_red.healthy} of {etcd_red.total} etcd members seen running (quorum {etcd_red.quorum})"
    down = ", ".join(etcd_red.down_nodes)
    if etcd_red.quorum_lost:
        findings.append(
            finding("KPD-113", "etcd", f"etcd quorum lost: {members}; not running on {down}: every write fails")
        )
        return
    spare = etcd_red.healthy - (etcd_red.quorum or 0)
    works = "writes work" if not etcd_fail else "writes fail all the same (etcd checks failing)"
    findings.append(
        finding(
            "KPD-112",
            "etcd",
            f"etcd member(s) down or not observable on {down}: {members}: {works}; "
            f"{spare + 1} more failure(s) stop all writes",
        )
    )


def assess_api_and_etcd(
    idx: ClusterIndex,
    dist: Distribution,
    pods: dict[str, list[Pod]],
    nodes: dict[str, NodeState],
    refusing_writes: bool = False,
) -> ApiAndEtcd:
    snap = idx.snapshot
    findings: list[Finding] = []
    # a probe answered 4xx (forbidden, throttled) says nothing about health: it is a gap, not a failure
    probes = [p for p in (snap.livez, snap.readyz) if p is not None and p.status is not None and p.answered]
    api_base = _api_base(idx, dist, probes, findings)
    etcd_base, etcd_fail = _etcd_base(idx, dist, probes, findings)
    if etcd_fail and api_base.status is Status.HEALTHY:
        api_base = Base(Status.DEGRADED, "etcd unavailable", api_base.evidence, api_base.version)

    api_pods = pods.get("kube-apiserver", [])
    api = judge(
        "kube-apiserver", api_base, api_pods, nodes, serving=_serving(idx), cluster_wide=True, answered=snap.reachable
    )
    etcd = judge("etcd", etcd_base, pods.get("etcd", []), nodes, cluster_wide=True)
    if refusing_writes:  # its checks pass, and it refuses every write
        etcd = [
            replace(c, status=Status.DEGRADED, detail="refusing writes (KPD-422)") if c.status is Status.HEALTHY else c
            for c in etcd
        ]
    api_red, etcd_red = redundancy("kube-apiserver", api), redundancy("etcd", etcd, with_quorum=True)
    _api_server_findings(api, api_red, api_pods, snap.reachable, findings)
    _etcd_member_findings(etcd, etcd_red, pods.get("etcd", []), etcd_fail, findings)
    failing = (
        api_base.status is Status.DOWN
        or etcd_base.status is Status.DOWN
        or etcd_red.quorum_lost
        or any(f.code == "KPD-102" for f in findings)
    )
    return ApiAndEtcd([*api, *etcd], findings, failing, [api_red, etcd_red])
