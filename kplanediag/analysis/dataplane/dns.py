"""Cluster DNS: CoreDNS or kube-dns where the distribution profile puts it (a kube-system Deployment,
OpenShift's openshift-dns/dns-default DaemonSet), its ready replicas and Service endpoints."""

from __future__ import annotations

from kplanediag.analysis import objects as o
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution, matches
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.profiles import KUBE_DNS, Expect, PodRule
from kplanediag.analysis.model import Component, Finding, Plane, Status

DNS_LABEL = ("k8s-app", "kube-dns")


def dns_ready_endpoints(idx: ClusterIndex, service: tuple[str, str], nodes: dict[str, NodeState]) -> int | None:
    slices = idx.slices_by_service.get(service)
    if not idx.has("endpointslices") or slices is None:
        return None
    seen = set()
    for es in slices:
        for ep in es.endpoints:
            node = ep.node_name
            if ep.conditions.ready is not False and not (node in nodes and nodes[node].failing):
                seen.add(ep.addresses)
    return len(seen)


def assess_dns(
    idx: ClusterIndex, dist: Distribution, nodes: dict[str, NodeState]
) -> tuple[list[Component], list[Finding]]:
    if not idx.has("pods"):
        return [], []
    rules = dist.profile.dns_pods or KUBE_DNS
    pods = [p for r in rules for p in idx.pods_by_namespace.get(r.namespace, []) if matches(r, p)]
    namespaces = {r.namespace for r in rules}
    deploys = [
        d
        for d in idx.snapshot.deployments
        if d.namespace == "kube-system" and (d.name == "coredns" or d.labels.get(DNS_LABEL[0]) == DNS_LABEL[1])
    ]
    daemonsets = [
        ds
        for ds in idx.snapshot.daemonsets
        if ds.namespace in namespaces and ds.name in {p.controller.name for p in pods if p.controller}
    ]
    if not pods and not deploys:
        return _not_found(dist, rules, nodes)
    desired = sum(1 if d.spec.replicas is None else d.spec.replicas for d in deploys)
    desired += sum(ds.status.desired_number_scheduled for ds in daemonsets)
    desired = desired or len(pods)
    ready = sum(
        1 for p in pods if o.pod_ready(p) and not (p.spec.node_name in nodes and nodes[p.spec.node_name].failing)
    )
    endpoints = dns_ready_endpoints(idx, dist.profile.dns_service, nodes)
    evidence = (
        [f"Deployment {d.key}" for d in deploys]
        + [f"DaemonSet {ds.key}" for ds in daemonsets]
        + [f"{ready}/{desired} replicas ready on healthy nodes"]
    )
    if endpoints is not None:
        evidence.append(f"Service {'/'.join(dist.profile.dns_service)}: {endpoints} ready endpoint(s)")
    version = o.image_tag(pods[0]) if pods else None
    status, detail, findings = _judge(ready, desired, endpoints)
    return [Component("coredns", Plane.DATA, status, None, version, tuple(evidence), detail)], findings


def _not_found(
    dist: Distribution, rules: tuple[PodRule, ...], nodes: dict[str, NodeState]
) -> tuple[list[Component], list[Finding]]:
    """No DNS pod nor Deployment: unknown where the profile makes DNS optional, else KPD-322."""
    if not nodes:
        return [], []  # no node for DNS pods to run on: nothing to say
    if dist.profile.dns is Expect.OPTIONAL:
        detail = f"no cluster DNS pods: not required on {dist.profile.title}"
        return [
            Component("coredns", Plane.DATA, Status.UNKNOWN, None, None, (f"looked for {rules[0].describe()}",), detail)
        ], []
    return [], [
        finding("KPD-322", rules[0].namespace, f"no CoreDNS ({rules[0].describe()}) found: cluster DNS is not verified")
    ]


def _judge(ready: int, desired: int, endpoints: int | None) -> tuple[Status, str, list[Finding]]:
    """Down with no ready replica or endpoint (KPD-320), degraded with fewer ready than desired (KPD-321)."""
    if ready == 0 or endpoints == 0:
        message = (
            f"CoreDNS is down ({ready}/{desired} ready, "
            f"{endpoints if endpoints is not None else 'unknown'} ready endpoints): "
            "name resolution fails for every workload"
        )
        detail = "no ready replica" if ready == 0 else "no ready endpoint"
        return Status.DOWN, detail, [finding("KPD-320", "kube-system/coredns", message)]
    if ready < desired:
        message = f"CoreDNS has {ready}/{desired} replicas ready"
        return Status.DEGRADED, f"{ready}/{desired} ready", [finding("KPD-321", "kube-system/coredns", message)]
    return Status.HEALTHY, "", []
