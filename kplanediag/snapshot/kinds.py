"""The Kubernetes objects kplanediag reads, as typed msgspec Structs holding only the fields used."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from kplanediag.snapshot.meta import (
    Base,
    Condition,
    IntOrString,
    LabelSelector,
    LabelSelectorRequirement,
    ObjectMeta,
    OwnerReference,
    Resource,
    Time,
    empty_map,
)
from kplanediag.snapshot.pod_scheduling import (
    Affinity,
    LocalVolumeSource,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinityTerm,
    PodAntiAffinity,
    ResourceRequirements,
    Volume,
)

# One Struct per kind, shaped like the API's JSON (``rename="camel"``: ``node_name`` is ``nodeName``), so the
# JSON decoder fills them straight from the wire and skips every other field in C; the protobuf decoder
# (collect/protobuf) fills the same Structs. Everything is frozen: analysis only reads, and decoders may share
# equal sub-objects (tolerations, conditions, label sets) between pods. Adding a field here is the one place a
# new read starts; the protobuf declaration follows it.
# Re-exported: the kinds' parts that live in meta.py and pod_scheduling.py, read as kinds.X everywhere.
__all__ = [
    "Affinity",
    "Base",
    "Condition",
    "IntOrString",
    "LabelSelector",
    "LabelSelectorRequirement",
    "LocalVolumeSource",
    "NodeAffinity",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "ObjectMeta",
    "OwnerReference",
    "PodAffinityTerm",
    "PodAntiAffinity",
    "Resource",
    "ResourceRequirements",
    "Time",
    "Volume",
    "empty_map",
]

# --- nodes and leases -----------------------------------------------------------------------------


class Taint(Base, frozen=True):
    key: str = ""
    effect: str = ""


class NodeSpec(Base, frozen=True):
    provider_id: str = msgspec.field(default="", name="providerID")
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()


class NodeSystemInfo(Base, frozen=True):
    kubelet_version: str = ""
    container_runtime_version: str = ""
    os_image: str = ""


class NodeAddress(Base, frozen=True):
    type: str = ""
    address: str = ""


class NodeStatus(Base, frozen=True):
    allocatable: Mapping[str, str] = msgspec.field(default_factory=empty_map)  # quantities: cpu, memory, pods
    conditions: tuple[Condition, ...] = ()
    addresses: tuple[NodeAddress, ...] = ()
    node_info: NodeSystemInfo = msgspec.field(default_factory=NodeSystemInfo)


class Node(Resource, frozen=True):
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)


class LeaseSpec(Base, frozen=True):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: Time | None = None
    renew_time: Time | None = None
    lease_transitions: int | None = None


class Lease(Resource, frozen=True):
    spec: LeaseSpec = msgspec.field(default_factory=LeaseSpec)


# --- pods -----------------------------------------------------------------------------------------


class Container(Base, frozen=True):
    name: str = ""
    image: str = ""
    resources: ResourceRequirements = msgspec.field(default_factory=ResourceRequirements)


class Toleration(Base, frozen=True):
    key: str = ""
    operator: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


class PodSpec(Base, frozen=True):
    node_name: str = ""
    containers: tuple[Container, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    dns_policy: str = "ClusterFirst"
    host_network: bool = False
    scheduler_name: str = ""
    node_selector: Mapping[str, str] = msgspec.field(default_factory=empty_map)
    affinity: Affinity | None = None
    volumes: tuple[Volume, ...] = ()


class ContainerStateWaiting(Base, frozen=True):
    reason: str = ""


class ContainerState(Base, frozen=True):
    waiting: ContainerStateWaiting | None = None


class ContainerStatus(Base, frozen=True):
    name: str = ""
    ready: bool = False
    restart_count: int = 0
    state: ContainerState = msgspec.field(default_factory=ContainerState)


class PodStatus(Base, frozen=True):
    phase: str = ""
    conditions: tuple[Condition, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()


class Pod(Resource, frozen=True):
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


# --- workloads ------------------------------------------------------------------------------------


class WorkloadSpec(Base, frozen=True):
    """The spec fields Deployments, StatefulSets and ReplicaSets share; ``replicas`` None means 1."""

    replicas: int | None = None
    selector: LabelSelector | None = None


class WorkloadStatus(Base, frozen=True):
    replicas: int = 0
    ready_replicas: int = 0
    observed_generation: int = 0


class Deployment(Resource, frozen=True):
    spec: WorkloadSpec = msgspec.field(default_factory=WorkloadSpec)
    status: WorkloadStatus = msgspec.field(default_factory=WorkloadStatus)


class StatefulSet(Resource, frozen=True):
    spec: WorkloadSpec = msgspec.field(default_factory=WorkloadSpec)
    status: WorkloadStatus = msgspec.field(default_factory=WorkloadStatus)


class ReplicaSet(Resource, frozen=True):
    spec: WorkloadSpec = msgspec.field(default_factory=WorkloadSpec)
    status: WorkloadStatus = msgspec.field(default_factory=WorkloadStatus)


class DaemonSetSpec(Base, frozen=True):
    selector: LabelSelector | None = None


class DaemonSetStatus(Base, frozen=True):
    desired_number_scheduled: int = 0
    current_number_scheduled: int = 0
    number_ready: int = 0
    observed_generation: int = 0


class DaemonSet(Resource, frozen=True):
    spec: DaemonSetSpec = msgspec.field(default_factory=DaemonSetSpec)
    status: DaemonSetStatus = msgspec.field(default_factory=DaemonSetStatus)


class PodDisruptionBudgetSpec(Base, frozen=True):
    selector: LabelSelector | None = None
    min_available: IntOrString | None = None
    max_unavailable: IntOrString | None = None


class PodDisruptionBudgetStatus(Base, frozen=True):
    desired_healthy: int | None = None
    expected_pods: int | None = None
    current_healthy: int | None = None


class PodDisruptionBudget(Resource, frozen=True):
    spec: PodDisruptionBudgetSpec = msgspec.field(default_factory=PodDisruptionBudgetSpec)
    status: PodDisruptionBudgetStatus | None = None


# --- services -------------------------------------------------------------------------------------


class ServiceSpec(Base, frozen=True):
    selector: Mapping[str, str] = msgspec.field(default_factory=empty_map)
    type: str = "ClusterIP"
    external_name: str = ""  # type ExternalName: a DNS name outside the cluster, no endpoints


class Service(Resource, frozen=True):
    spec: ServiceSpec = msgspec.field(default_factory=ServiceSpec)


class ObjectReference(Base, frozen=True):
    kind: str = ""
    namespace: str = ""
    name: str = ""


class EndpointConditions(Base, frozen=True):
    """``ready`` None means unknown, which the API says consumers interpret as ready."""

    ready: bool | None = None


class Endpoint(Base, frozen=True):
    addresses: tuple[str, ...] = ()
    conditions: EndpointConditions = msgspec.field(default_factory=EndpointConditions)
    node_name: str = ""
    target_ref: ObjectReference | None = None


class EndpointSlice(Resource, frozen=True):
    endpoints: tuple[Endpoint, ...] = ()
