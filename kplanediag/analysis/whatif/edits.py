"""A hypothesis made real in a copy of the snapshot, as the cluster would show it, so the same
analysis judges a hypothetical failure by the same rules as a real one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import msgspec

from kplanediag.analysis.leases import lease_now
from kplanediag.snapshot import Snapshot
from kplanediag.snapshot.kinds import (
    Condition,
    ContainerState,
    ContainerStateWaiting,
    EndpointConditions,
    EndpointSlice,
    Lease,
    Node,
    Pod,
)

replace = msgspec.structs.replace
# A failed node's Ready condition Unknown and its heartbeat stale, a failed instance's pod not Ready (its
# endpoints with it), a failed leader's Lease stale, a cordoned node unschedulable.
SILENT = "Kubelet stopped posting node status (what-if: hypothetical)"
NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def _resources(snap: Snapshot, **changed: object) -> Snapshot:
    return replace(snap, resources=replace(snap.resources, **changed))


def _map(items: Iterable[object] | None, fn: Callable[[object], object]) -> tuple[object, ...] | None:
    return None if items is None else tuple(fn(x) for x in items)


def stale_by(lease: Lease, now: datetime) -> Lease:
    """Renewed three of its durations ago (40 s when it has none): stale by any judge."""
    seconds = 3 * (lease.spec.lease_duration_seconds or 40)
    return replace(lease, spec=replace(lease.spec, renew_time=now - timedelta(seconds=seconds)))


def fail_nodes(snap: Snapshot, names: set[str], now: datetime) -> Snapshot:
    """Their kubelets silent since ``now``: Ready (and the pressure conditions) Unknown, as the node
    lifecycle controller sets them, and their heartbeat Leases stale."""

    def node(n: object) -> object:
        assert isinstance(n, Node)
        if n.metadata.name not in names:
            return n
        conditions = tuple(
            replace(c, status="Unknown", reason="NodeStatusUnknown", message=SILENT, last_transition_time=now)
            if c.type in NODE_CONDITIONS
            else c
            for c in n.status.conditions
        )
        if not any(c.type == "Ready" for c in conditions):
            conditions += (Condition("Ready", "Unknown", "NodeStatusUnknown", SILENT, now),)
        return replace(n, status=replace(n.status, conditions=conditions))

    def lease(item: object) -> object:
        assert isinstance(item, Lease)
        if item.metadata.namespace == "kube-node-lease" and item.metadata.name in names:
            return stale_by(item, lease_now(snap, now, "kube-node-lease"))
        return item

    ips = {
        a.address for n in snap.nodes if n.metadata.name in names for a in n.status.addresses if a.type == "InternalIP"
    }

    def api_endpoints(es: object) -> object:
        """An API server on a failed node leaves default/kubernetes (its lease-based reconciler)."""
        assert isinstance(es, EndpointSlice)
        if es.metadata.namespace != "default" or es.labels.get("kubernetes.io/service-name") != "kubernetes":
            return es
        kept = tuple(e for e in es.endpoints if not set(e.addresses) & ips)
        return replace(es, endpoints=kept) if kept != es.endpoints else es

    return _resources(
        snap,
        nodes=_map(snap.resources.of(Node), node),
        leases=_map(snap.resources.of(Lease), lease),
        endpointslices=_map(snap.resources.of(EndpointSlice), api_endpoints),
    )


def cordon(snap: Snapshot, name: str) -> Snapshot:
    def node(n: object) -> object:
        assert isinstance(n, Node)
        return replace(n, spec=replace(n.spec, unschedulable=True)) if n.metadata.name == name else n

    return _resources(snap, nodes=_map(snap.resources.of(Node), node))


def fail_pods(snap: Snapshot, keys: set[str], reason: str = "CrashLoopBackOff") -> Snapshot:
    """Pods (by namespace/name) Running and not Ready, their containers waiting with ``reason``, and
    their endpoints in every EndpointSlice not ready: what a crash-looping process looks like."""
    if not keys:
        return snap

    def pod(p: object) -> object:
        assert isinstance(p, Pod)
        if p.key not in keys:
            return p
        conditions = tuple(
            replace(c, status="False", reason="ContainersNotReady", message="what-if: hypothetical")
            if c.type in ("Ready", "ContainersReady")
            else c
            for c in p.status.conditions
        )
        waiting = ContainerState(waiting=ContainerStateWaiting(reason))
        statuses = tuple(replace(cs, ready=False, state=waiting) for cs in p.status.container_statuses)
        return replace(p, status=replace(p.status, phase="Running", conditions=conditions, container_statuses=statuses))

    def endpoints(es: object) -> object:
        assert isinstance(es, EndpointSlice)
        listed = es.endpoints
        changed = tuple(
            replace(e, conditions=EndpointConditions(ready=False))
            if e.target_ref is not None and f"{e.target_ref.namespace}/{e.target_ref.name}" in keys
            else e
            for e in listed
        )
        return replace(es, endpoints=changed) if changed != listed else es

    return _resources(
        snap, pods=_map(snap.resources.of(Pod), pod), endpointslices=_map(snap.resources.of(EndpointSlice), endpoints)
    )


def stale_leases(snap: Snapshot, keys: set[tuple[str, str]], now: datetime) -> Snapshot:
    """Leases (namespace, name) no longer renewed: their holder is gone."""

    def lease(item: object) -> object:
        assert isinstance(item, Lease)
        if (item.metadata.namespace, item.metadata.name) not in keys:
            return item
        return stale_by(item, lease_now(snap, now, item.metadata.namespace))

    return _resources(snap, leases=_map(snap.resources.of(Lease), lease))
