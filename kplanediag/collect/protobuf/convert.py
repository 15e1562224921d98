"""Parsed protobuf messages (k8s_pb2) into the kinds.py Structs, by hand for the high-volume kinds
(the others: generic.py); each builds what msgspec's JSON decoder builds from the same object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar

from kplanediag.collect.protobuf import k8s_pb2 as pb
from kplanediag.collect.protobuf.memo import ConditionsKey, Memo, text
from kplanediag.collect.protobuf.memo import selector as _selector
from kplanediag.snapshot import kinds as k

# As JSON: the Struct default where the JSON omits a field (``HasField`` for Go pointer fields, whose
# absence the JSON shows; ``dnsPolicy`` "" is omitted by JSON, so "ClusterFirst"), Time in whole seconds
# and MicroTime in microseconds, the zero Time (an empty message) as None like JSON's null, invalid UTF-8
# replaced as the JSON encoder does. Sub-objects that repeat between items come from the Memo. The hot
# path reads several fields per C call (attrgetter) and keys the memo by field values, so a pod whose
# spec and status were seen before costs a lookup, not a build.
W = TypeVar("W", k.Deployment, k.ReplicaSet)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO_SECONDS = -62135596800  # Go's zero time.Time, 0001-01-01T00:00:00Z, which JSON writes as null
_NO_STATE = k.ContainerState()
_READY = {True: k.EndpointConditions(ready=True), False: k.EndpointConditions(ready=False)}
_UNKNOWN_READY = k.EndpointConditions()
_META = attrgetter("name", "namespace", "generation")
_CONDITION = attrgetter("type", "status", "reason", "message", "lastTransitionTime")
_CONTAINER = attrgetter("name", "image", "resources.requests")
_LOCAL = {
    (False, False): k.Volume(),
    (True, False): k.Volume(empty_dir=k.LocalVolumeSource()),
    (False, True): k.Volume(host_path=k.LocalVolumeSource()),
    (True, True): k.Volume(empty_dir=k.LocalVolumeSource(), host_path=k.LocalVolumeSource()),
}
_POD_SPEC = attrgetter("nodeName", "dnsPolicy", "hostNetwork", "schedulerName")
_SOURCE = attrgetter("volumeSource")
_CONTAINER_STATUS = attrgetter("name", "ready", "restartCount", "state")


def _time(t: pb.Time) -> datetime | None:
    """Whole seconds: the server never writes Time's nanos (and Go's own decoder drops them)."""
    if not t.HasField("seconds") or t.seconds == _ZERO_SECONDS:
        return None
    return _EPOCH + timedelta(seconds=t.seconds)


def _micro_time(t: pb.MicroTime) -> datetime | None:
    if not t.HasField("seconds") or (t.seconds == _ZERO_SECONDS and not t.nanos):
        return None
    return _EPOCH + timedelta(seconds=t.seconds, microseconds=t.nanos // 1000)


def _meta(m: pb.ObjectMeta, memo: Memo) -> k.ObjectMeta:
    name, namespace, generation = _META(m)
    return k.ObjectMeta(
        name=text(name),
        namespace=memo.text(namespace),
        labels=memo.labels_of(m.labels),
        owner_references=memo.owners_of(m.ownerReferences),
        creation_timestamp=_time(m.creationTimestamp) if m.HasField("creationTimestamp") else None,
        deletion_timestamp=_time(m.deletionTimestamp) if m.HasField("deletionTimestamp") else None,
        generation=generation,
    )


def _condition_key(conditions: Any) -> ConditionsKey:
    """(type, status, reason, message, lastTransitionTime seconds or None) per condition."""
    return tuple(
        (t, s, r, m, when.seconds if when.HasField("seconds") and when.seconds != _ZERO_SECONDS else None)
        for t, s, r, m, when in map(_CONDITION, conditions)
    )


def _int_or_string(m: pb.IntOrString) -> k.IntOrString:
    return text(m.strVal) if m.type == 1 else m.intVal


# --- kinds ----------------------------------------------------------------------------------------


def node(m: pb.Node, memo: Memo) -> k.Node:
    spec, status = m.spec, m.status
    info = status.nodeInfo
    return k.Node(
        metadata=_meta(m.metadata, memo),
        spec=k.NodeSpec(
            provider_id=text(spec.providerID),
            unschedulable=spec.unschedulable,
            taints=tuple(k.Taint(key=memo.text(t.key), effect=memo.text(t.effect)) for t in spec.taints),
        ),
        status=k.NodeStatus(
            allocatable=memo.quantities_of(status.allocatable),
            conditions=memo.conditions_of(_condition_key(status.conditions)),
            addresses=tuple(k.NodeAddress(type=memo.text(a.type), address=text(a.address)) for a in status.addresses),
            node_info=k.NodeSystemInfo(
                kubelet_version=memo.text(info.kubeletVersion),
                container_runtime_version=memo.text(info.containerRuntimeVersion),
                os_image=memo.text(info.osImage),
            ),
        ),
    )


def lease(m: pb.Lease, memo: Memo) -> k.Lease:
    spec = m.spec
    has = spec.HasField
    return k.Lease(
        metadata=_meta(m.metadata, memo),
        spec=k.LeaseSpec(
            holder_identity=text(spec.holderIdentity) if has("holderIdentity") else None,
            lease_duration_seconds=spec.leaseDurationSeconds if has("leaseDurationSeconds") else None,
            acquire_time=_micro_time(spec.acquireTime) if has("acquireTime") else None,
            renew_time=_micro_time(spec.renewTime) if has("renewTime") else None,
            lease_transitions=spec.leaseTransitions if has("leaseTransitions") else None,
        ),
    )


def _pod_spec(m: pb.PodSpec, memo: Memo) -> k.PodSpec:
    containers = tuple((name, image, tuple(requests)) for name, image, requests in map(_CONTAINER, m.containers))
    tolerations = tuple(m.tolerations)
    selector = tuple(m.nodeSelector)
    affinity = m.affinity if m.HasField("affinity") else None
    volumes = tuple((v.HasField("emptyDir"), v.HasField("hostPath")) for v in map(_SOURCE, m.volumes))
    node_name, dns_policy, host_network, scheduler_name = _POD_SPEC(m)
    key = (node_name, dns_policy, host_network, scheduler_name, containers, tolerations, selector, affinity, volumes)
    found = memo.specs.get(key)
    if found is None:
        found = memo.specs[key] = k.PodSpec(
            node_name=memo.text(node_name),
            dns_policy=memo.text(dns_policy or "ClusterFirst"),
            host_network=host_network,
            scheduler_name=memo.text(scheduler_name),
            containers=memo.containers_of(containers),
            tolerations=memo.tolerations_of(tolerations),
            node_selector=memo.labels_of(selector),
            affinity=None if affinity is None else memo.affinity_of(affinity),
            volumes=tuple(_LOCAL[v] for v in volumes),
        )
    return found


def _pod_status(m: pb.PodStatus, memo: Memo) -> k.PodStatus:
    statuses = tuple(
        (name, ready, restarts, state.waiting.reason if state.HasField("waiting") else None)
        for name, ready, restarts, state in map(_CONTAINER_STATUS, m.containerStatuses)
    )
    phase, conditions = m.phase, _condition_key(m.conditions)
    key = (phase, conditions, statuses)
    found = memo.statuses.get(key)
    if found is None:
        found = memo.statuses[key] = k.PodStatus(
            phase=memo.text(phase),
            conditions=memo.conditions_of(conditions),
            container_statuses=tuple(
                k.ContainerStatus(
                    name=memo.text(name),
                    ready=ready,
                    restart_count=restarts,
                    state=_NO_STATE
                    if waiting is None
                    else k.ContainerState(waiting=k.ContainerStateWaiting(reason=memo.text(waiting))),
                )
                for name, ready, restarts, waiting in statuses
            ),
        )
    return found


def pod(m: pb.Pod, memo: Memo) -> k.Pod:
    return k.Pod(metadata=_meta(m.metadata, memo), spec=_pod_spec(m.spec, memo), status=_pod_status(m.status, memo))


def _workload(cls: type[W], m: pb.Deployment | pb.ReplicaSet, memo: Memo) -> W:
    spec, status = m.spec, m.status
    return cls(
        metadata=_meta(m.metadata, memo),
        spec=k.WorkloadSpec(
            replicas=spec.replicas if spec.HasField("replicas") else None,
            selector=_selector(spec.selector, memo) if spec.HasField("selector") else None,
        ),
        status=k.WorkloadStatus(
            replicas=status.replicas, ready_replicas=status.readyReplicas, observed_generation=status.observedGeneration
        ),
    )


def deployment(m: pb.Deployment, memo: Memo) -> k.Deployment:
    return _workload(k.Deployment, m, memo)


def replica_set(m: pb.ReplicaSet, memo: Memo) -> k.ReplicaSet:
    return _workload(k.ReplicaSet, m, memo)


def pod_disruption_budget(m: pb.PodDisruptionBudget, memo: Memo) -> k.PodDisruptionBudget:
    spec, status = m.spec, m.status
    has = spec.HasField
    pdb_status = None
    if m.HasField("status"):
        present = status.HasField
        pdb_status = k.PodDisruptionBudgetStatus(
            desired_healthy=status.desiredHealthy if present("desiredHealthy") else None,
            expected_pods=status.expectedPods if present("expectedPods") else None,
            current_healthy=status.currentHealthy if present("currentHealthy") else None,
        )
    return k.PodDisruptionBudget(
        metadata=_meta(m.metadata, memo),
        spec=k.PodDisruptionBudgetSpec(
            selector=_selector(spec.selector, memo) if has("selector") else None,
            min_available=_int_or_string(spec.minAvailable) if has("minAvailable") else None,
            max_unavailable=_int_or_string(spec.maxUnavailable) if has("maxUnavailable") else None,
        ),
        status=pdb_status,
    )


def service(m: pb.Service, memo: Memo) -> k.Service:
    spec = m.spec
    return k.Service(
        metadata=_meta(m.metadata, memo),
        spec=k.ServiceSpec(
            selector=memo.labels_of(spec.selector),
            type=memo.text(spec.type) or "ClusterIP",  # JSON omits an empty type: the Struct default
            external_name=text(spec.externalName),
        ),
    )


def _endpoint(e: pb.Endpoint, memo: Memo) -> k.Endpoint:
    ref = e.targetRef
    return k.Endpoint(
        addresses=tuple(map(text, e.addresses)),
        conditions=_READY[e.conditions.ready] if e.conditions.HasField("ready") else _UNKNOWN_READY,
        node_name=memo.text(e.nodeName),
        target_ref=k.ObjectReference(kind=memo.text(ref.kind), namespace=memo.text(ref.namespace), name=text(ref.name))
        if e.HasField("targetRef")
        else None,
    )


def endpoint_slice(m: pb.EndpointSlice, memo: Memo) -> k.EndpointSlice:
    return k.EndpointSlice(metadata=_meta(m.metadata, memo), endpoints=tuple(_endpoint(e, memo) for e in m.endpoints))
