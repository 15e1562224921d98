"""The metadata and shared shapes of the kinds kplanediag reads: the Struct options every kind shares,
ObjectMeta, label selectors, conditions and ``Resource``, the base of every top-level kind."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

import msgspec

Time = Annotated[datetime, msgspec.Meta(tz=True)]
"""metav1.Time / MicroTime: RFC 3339 with a zone; a naive timestamp is invalid data."""
IntOrString = int | str


class Base(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False, rename="camel"):
    """Options every kind and sub-object shares (no reference cycles can form, so no GC tracking)."""


def empty_map() -> Mapping[str, str]:
    return {}


# --- metadata -------------------------------------------------------------------------------------


class OwnerReference(Base, frozen=True):
    kind: str = ""
    name: str = ""
    controller: bool = False


class ObjectMeta(Base, frozen=True):
    name: str = ""
    namespace: str = ""
    labels: Mapping[str, str] = msgspec.field(default_factory=empty_map)
    owner_references: tuple[OwnerReference, ...] = ()
    creation_timestamp: Time | None = None
    deletion_timestamp: Time | None = None
    generation: int = 0


class LabelSelectorRequirement(Base, frozen=True):
    key: str = ""
    operator: str = ""
    values: tuple[str, ...] = ()


class LabelSelector(Base, frozen=True):
    match_labels: Mapping[str, str] = msgspec.field(default_factory=empty_map)
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()


class Condition(Base, frozen=True):
    """A Node or Pod condition (the fields both share and kplanediag reads)."""

    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: Time | None = None


class Resource(Base, frozen=True, tag_field="kind", tag=True):
    """A top-level kind; ``kind`` is its tag (optional on decode: List items omit it)."""

    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def labels(self) -> Mapping[str, str]:
        return self.metadata.labels

    @property
    def key(self) -> str:
        """``namespace/name``, or ``name`` for cluster-scoped objects."""
        return f"{self.metadata.namespace}/{self.metadata.name}" if self.metadata.namespace else self.metadata.name

    @property
    def controller(self) -> OwnerReference | None:
        return next((r for r in self.metadata.owner_references if r.controller), None)
