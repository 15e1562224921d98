"""Leader locks kept as an Endpoints annotation (before Kubernetes 1.20), read from bundles as the
Lease they stand for (docs/input.md); a real Lease of the same name wins."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from kplanediag.snapshot.kinds import Lease, LeaseSpec, ObjectMeta, Time

ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
FROM_LABEL = "kplanediag.io/leader-lock"  # value: "Endpoints": this Lease is an Endpoints lock, read as one


class _Meta(msgspec.Struct):
    name: str = ""
    namespace: str = ""
    annotations: Mapping[str, str] = msgspec.field(default_factory=dict)


class _Holder(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class _Record(msgspec.Struct, rename="camel"):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: Time | None = None
    renew_time: Time | None = None
    leader_transitions: int | None = None


_HOLDER = msgspec.json.Decoder(_Holder)
_RECORD = msgspec.json.Decoder(_Record)


def lock_lease(raw: msgspec.Raw, kind: str) -> Lease | None:
    """The Lease an Endpoints object's leader annotation stands for; None without one (or when it
    is not a leader-election record)."""
    try:
        meta = _HOLDER.decode(raw).metadata
        text = meta.annotations.get(ANNOTATION)
        record = _RECORD.decode(text) if text else None
    except (msgspec.DecodeError, AttributeError):
        return None
    if record is None or not record.holder_identity:
        return None
    return Lease(
        metadata=ObjectMeta(name=meta.name, namespace=meta.namespace, labels={FROM_LABEL: kind}),
        spec=LeaseSpec(
            holder_identity=record.holder_identity,
            lease_duration_seconds=record.lease_duration_seconds,
            acquire_time=record.acquire_time,
            renew_time=record.renew_time,
            lease_transitions=record.leader_transitions,
        ),
    )
