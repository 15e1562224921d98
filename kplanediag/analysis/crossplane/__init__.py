"""Failures where the planes meet, and the warnings before a control-plane outage: admission
webhooks and aggregated APIs (configured in the control plane, served by pods), etcd's storage
quota, certificate expiry, and a slow or saturated API server."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.crossplane.apiservices import APIServiceState, apiservice_states, assess_apiservices
from kplanediag.analysis.crossplane.certificates import Expiry, certificate_findings, serving_expiry
from kplanediag.analysis.crossplane.saturation import Saturation, assess_saturation
from kplanediag.analysis.crossplane.storage import Storage, storage_findings, storage_states
from kplanediag.analysis.crossplane.webhooks import WebhookState, assess_webhooks, webhook_states
from kplanediag.analysis.crossplane.writes import WritesStalled
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.model import Component, Finding


def etcd_checks_fail(idx: ClusterIndex) -> bool:
    probes = (idx.snapshot.livez, idx.snapshot.readyz)
    return any(c.name.startswith("etcd") for p in probes if p is not None for c in p.failed_checks)


@dataclass(frozen=True)
class CrossPlane:
    components: tuple[Component, ...]
    findings: tuple[Finding, ...]
    webhooks: tuple[WebhookState, ...]
    apiservices: tuple[APIServiceState, ...]
    storage: tuple[Storage, ...]
    stalled: WritesStalled | None
    expiry: Expiry | None
    saturation: Saturation
    observations: tuple[str, ...]  # one line each, for the report's cluster section


def assess_cross_plane(
    idx: ClusterIndex,
    dist: Distribution,
    nodes: dict[str, NodeState],
    etcd_quota: int | None = None,
    stalled: WritesStalled | None = None,
) -> CrossPlane:
    hooks = webhook_states(idx, nodes)
    apis = apiservice_states(idx, nodes)
    hook_components, hook_findings = assess_webhooks(hooks)
    api_components, api_findings = assess_apiservices(apis)
    storage = storage_states(idx, dist.profile, etcd_quota)
    expiry = serving_expiry(idx, dist.profile)
    saturation, saturation_findings = assess_saturation(idx)
    observations = [s.describe() for s in storage]
    if expiry is not None:
        observations.append(expiry.describe())
    if idx.snapshot.metrics is not None and not saturation.queued:
        observations.append("API Priority and Fairness: no request waiting in queue")
    policies = len(idx.snapshot.admission_policies)
    if policies:
        observations.append(f"{policies} ValidatingAdmissionPolicy object(s): evaluated in the API server, no pods")
    return CrossPlane(
        components=(*hook_components, *api_components),
        findings=(
            *hook_findings,
            *api_findings,
            *storage_findings(storage, stalled, etcd_checks_fail(idx)),
            *certificate_findings(idx, dist.profile, expiry),
            *saturation_findings,
        ),
        webhooks=tuple(hooks),
        apiservices=tuple(apis),
        storage=tuple(storage),
        stalled=stalled,
        expiry=expiry,
        saturation=saturation,
        observations=tuple(observations),
    )
