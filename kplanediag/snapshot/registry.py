"""The kinds kplanediag lists, one entry each: its Struct, where the API serves it, how it is read,
the RBAC it needs and its --redact category. collect, snapshot, render and the tests derive from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from kplanediag.snapshot.api_kinds import (
    APIService,
    CertificateSigningRequest,
    Event,
    MutatingWebhookConfiguration,
    ValidatingAdmissionPolicy,
    ValidatingWebhookConfiguration,
)
from kplanediag.snapshot.kinds import (
    DaemonSet,
    Deployment,
    EndpointSlice,
    Lease,
    Node,
    Pod,
    PodDisruptionBudget,
    ReplicaSet,
    Resource,
    Service,
    StatefulSet,
)

Wire = Literal["protobuf", "json"]


@dataclass(frozen=True)
class Read:
    """One list request of a kind: in one namespace (None: cluster-wide), with extra query parameters."""

    namespace: str | None = None
    query: tuple[tuple[str, str], ...] = ()


CLUSTER_WIDE = (Read(),)


@dataclass(frozen=True)
class KindSpec:
    """A kind read by ``list``: the RBAC it needs is ``list`` on (``group``, ``resource``), cluster-wide
    if any read is, else in each read's namespace (a Role there)."""

    kind: type[Resource]
    resource: str  # the API's plural, and the Resources field that holds the list
    group: str  # "" for the core API
    version: str
    category: str  # --redact's token prefix for the names of its objects ("pod-3f2a1c")
    wire: Wire = "protobuf"  # json: the API's own low-volume kinds (collect/lists.py says why)
    optional: bool = False  # 404 (the API is not served) reads as an empty list
    reads: tuple[Read, ...] = CLUSTER_WIDE
    page_size: int | None = None  # None: collect's PAGE_SIZE
    max_pages: int | None = None  # a bounded read: at most this many pages per request
    heartbeats: bool = False  # renewed on a clock (Leases): a silent watch of it is not read for long

    @property
    def name(self) -> str:
        return self.kind.__name__

    @property
    def watched(self) -> bool:
        """Kept by a watch between checks (serve, collect/watch; RBAC: ``watch`` in deploy/serve/rbac.yaml):
        every kind but the bounded reads, which each check reads afresh."""
        return self.max_pages is None

    def path(self, namespace: str | None = None) -> str:
        """The list's URL path, cluster-wide or in ``namespace``."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{root}/namespaces/{namespace}/{self.resource}" if namespace else f"{root}/{self.resource}"

    @property
    def namespaces(self) -> tuple[str, ...] | None:
        """Where RBAC must grant the list: None cluster-wide, else these namespaces only."""
        if any(r.namespace is None for r in self.reads):
            return None
        return tuple(r.namespace for r in self.reads if r.namespace is not None)


EVENT_PAGE, EVENT_PAGES = 500, 2  # per events request: the timeline needs the recent ones, not a million
LEASE_NAMESPACES = ("kube-system", "kube-node-lease")  # leader election and API servers; node heartbeats

# In the order the lists are requested, and the saved files' order (snapshot.Resources' fields).
KIND_SPECS: tuple[KindSpec, ...] = (
    KindSpec(Node, "nodes", "", "v1", "node"),
    KindSpec(Pod, "pods", "", "v1", "pod"),
    KindSpec(
        Lease, "leases", "coordination.k8s.io", "v1", "lease", reads=tuple(map(Read, LEASE_NAMESPACES)), heartbeats=True
    ),
    KindSpec(DaemonSet, "daemonsets", "apps", "v1", "ds"),
    KindSpec(Deployment, "deployments", "apps", "v1", "deploy"),
    KindSpec(StatefulSet, "statefulsets", "apps", "v1", "sts"),
    KindSpec(ReplicaSet, "replicasets", "apps", "v1", "rs"),
    KindSpec(Service, "services", "", "v1", "svc"),
    KindSpec(EndpointSlice, "endpointslices", "discovery.k8s.io", "v1", "eps"),
    KindSpec(PodDisruptionBudget, "poddisruptionbudgets", "policy", "v1", "pdb"),
    KindSpec(
        ValidatingWebhookConfiguration,
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "v1",
        "webhook",
        wire="json",
    ),
    KindSpec(
        MutatingWebhookConfiguration,
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "v1",
        "webhook",
        wire="json",
    ),
    KindSpec(  # served from v1.30: optional before
        ValidatingAdmissionPolicy,
        "validatingadmissionpolicies",
        "admissionregistration.k8s.io",
        "v1",
        "policy",
        wire="json",
        optional=True,
    ),
    KindSpec(APIService, "apiservices", "apiregistration.k8s.io", "v1", "apiservice", wire="json"),
    KindSpec(
        CertificateSigningRequest,
        "certificatesigningrequests",
        "certificates.k8s.io",
        "v1",
        "csr",
        wire="json",
        optional=True,
    ),
    # for the timeline, bounded: Warnings everywhere, and every event of the namespaces where node and
    # control-plane events are recorded
    KindSpec(
        Event,
        "events",
        "events.k8s.io",
        "v1",
        "event",
        wire="json",
        reads=(Read(query=(("fieldSelector", "type=Warning"),)), Read("default"), Read("kube-system")),
        page_size=EVENT_PAGE,
        max_pages=EVENT_PAGES,
    ),
)

SPEC_OF_KIND: Mapping[type[Resource], KindSpec] = {spec.kind: spec for spec in KIND_SPECS}
KIND_OF_RESOURCE: Mapping[str, type[Resource]] = {spec.resource: spec.kind for spec in KIND_SPECS}
"""Resource name (the Resources field) -> its kind."""
RESOURCE_OF_KIND: Mapping[str, str] = {spec.name: spec.resource for spec in KIND_SPECS}
"""List item kind -> resource name (the Resources field)."""
