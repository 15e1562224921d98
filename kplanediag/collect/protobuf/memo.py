"""The Memo: sub-objects that repeat between list items (label sets, owner references, tolerations,
containers, conditions, pod specs and statuses, low-cardinality strings), keyed by their raw bytes
or field values and shared instead of rebuilt; and ``text``, a string as the JSON would carry it."""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from kplanediag.collect.protobuf import k8s_pb2 as pb
from kplanediag.snapshot import kinds as k

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Entries = tuple[bytes, ...]  # the raw elements of a repeated bytes field
ContainersKey = tuple[tuple[str, str, Entries], ...]  # name, image, requests' QuantityEntry bytes
ConditionsKey = tuple[tuple[str, str, str, str, int | None], ...]
_EMPTY: dict[str, str] = {}
_NO_REQUESTS = k.ResourceRequirements()


def _one_byte_at_a_time(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return "\ufffd", error.start + 1


codecs.register_error("kplanediag-go", _one_byte_at_a_time)


def text(value: str | bytes) -> str:
    """A proto2 string field's value as JSON has it. upb hands invalid UTF-8 over as bytes; the
    API server's JSON encoder replaces each invalid byte with U+FFFD, and so does this."""
    return value if isinstance(value, str) else value.decode("utf-8", "kplanediag-go")


class Memo:
    """Equal immutable values seen before, shared (they are frozen; the maps are typed read-only
    Mappings). Bounded: ``trim``, called before each page, forgets everything once it holds more
    than ``limit`` entries. Safe to share between threads: it only does single dict operations."""

    __slots__ = (
        "affinities",
        "conditions",
        "containers",
        "labels",
        "limit",
        "owners",
        "quantities",
        "specs",
        "statuses",
        "strings",
        "tolerations",
    )

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self.strings: dict[str | bytes, str] = {}
        self.labels: dict[Entries, dict[str, str]] = {}
        self.quantities: dict[Entries, dict[str, str]] = {}
        self.affinities: dict[bytes, k.Affinity] = {}
        self.owners: dict[Entries, tuple[k.OwnerReference, ...]] = {}
        self.tolerations: dict[Entries, tuple[k.Toleration, ...]] = {}
        self.containers: dict[ContainersKey, tuple[k.Container, ...]] = {}
        self.conditions: dict[ConditionsKey, tuple[k.Condition, ...]] = {}
        self.specs: dict[tuple[Any, ...], k.PodSpec] = {}
        self.statuses: dict[tuple[Any, ...], k.PodStatus] = {}

    def _tables(self) -> tuple[dict[Any, Any], ...]:
        return tuple(getattr(self, name) for name in self.__slots__ if name != "limit")

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables())

    def trim(self) -> None:
        if len(self) > self.limit:
            for table in self._tables():
                table.clear()

    def text(self, value: str | bytes) -> str:
        """``text(value)``, interned: one str object for every equal value."""
        found = self.strings.get(value)
        if found is None:
            found = self.strings[value] = text(value)
        return found

    def labels_of(self, entries: Iterable[bytes]) -> dict[str, str]:
        """A map<string, string> (labels, selectors) from its raw entries, as a dict shared with
        every map of the same entries."""
        key = tuple(entries)
        if not key:
            return _EMPTY
        found = self.labels.get(key)
        if found is None:
            found = {}
            for entry in map(pb.StringEntry.FromString, key):
                found[self.text(entry.key)] = self.text(entry.value)  # the last of equal keys wins, as in protobuf
            self.labels[key] = found
        return found

    def quantities_of(self, entries: Iterable[bytes]) -> dict[str, str]:
        """A map<string, Quantity> (requests, allocatable) as JSON has it: each quantity's string."""
        key = tuple(entries)
        if not key:
            return _EMPTY
        found = self.quantities.get(key)
        if found is None:
            found = {}
            for entry in map(pb.QuantityEntry.FromString, key):
                found[self.text(entry.key)] = self.text(entry.value.string)
            self.quantities[key] = found
        return found

    def affinity_of(self, raw: bytes) -> k.Affinity:
        found = self.affinities.get(raw)
        if found is None:
            found = self.affinities[raw] = _affinity(pb.Affinity.FromString(raw), self)
        return found

    def owners_of(self, entries: Iterable[bytes]) -> tuple[k.OwnerReference, ...]:
        key = tuple(entries)
        if not key:
            return ()
        found = self.owners.get(key)
        if found is None:
            found = self.owners[key] = tuple(
                k.OwnerReference(kind=self.text(r.kind), name=text(r.name), controller=r.controller)
                for r in map(pb.OwnerReference.FromString, key)
            )
        return found

    def tolerations_of(self, key: Entries) -> tuple[k.Toleration, ...]:
        if not key:
            return ()
        found = self.tolerations.get(key)
        if found is None:
            found = self.tolerations[key] = tuple(
                k.Toleration(
                    key=self.text(t.key),
                    operator=self.text(t.operator),
                    effect=self.text(t.effect),
                    toleration_seconds=t.tolerationSeconds if t.HasField("tolerationSeconds") else None,
                )
                for t in map(pb.Toleration.FromString, key)
            )
        return found

    def containers_of(self, key: ContainersKey) -> tuple[k.Container, ...]:
        found = self.containers.get(key)
        if found is None:
            found = self.containers[key] = tuple(
                k.Container(
                    name=self.text(name),
                    image=self.text(image),
                    resources=k.ResourceRequirements(requests=self.quantities_of(requests))
                    if requests
                    else _NO_REQUESTS,
                )
                for name, image, requests in key
            )
        return found

    def conditions_of(self, key: ConditionsKey) -> tuple[k.Condition, ...]:
        if not key:
            return ()
        found = self.conditions.get(key)
        if found is None:
            found = self.conditions[key] = tuple(
                k.Condition(
                    type=self.text(t),
                    status=self.text(s),
                    reason=self.text(r),
                    message=text(m),
                    last_transition_time=None if when is None else _EPOCH + timedelta(seconds=when),
                )
                for t, s, r, m, when in key
            )
        return found


def _requirements(items: Iterable[pb.NodeSelectorRequirement], memo: Memo) -> tuple[k.NodeSelectorRequirement, ...]:
    return tuple(
        k.NodeSelectorRequirement(
            key=memo.text(r.key), operator=memo.text(r.operator), values=tuple(map(text, r.values))
        )
        for r in items
    )


def _affinity(m: pb.Affinity, memo: Memo) -> k.Affinity:
    """The required node affinity and pod anti-affinity, as JSON decodes them (the rest is not read)."""
    node = None
    if m.HasField("nodeAffinity"):
        required = m.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        node = k.NodeAffinity(
            required_during_scheduling_ignored_during_execution=k.NodeSelector(
                node_selector_terms=tuple(
                    k.NodeSelectorTerm(
                        match_expressions=_requirements(t.matchExpressions, memo),
                        match_fields=_requirements(t.matchFields, memo),
                    )
                    for t in required.nodeSelectorTerms
                )
            )
            if m.nodeAffinity.HasField("requiredDuringSchedulingIgnoredDuringExecution")
            else None
        )
    anti = None
    if m.HasField("podAntiAffinity"):
        anti = k.PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=tuple(
                k.PodAffinityTerm(
                    label_selector=selector(t.labelSelector, memo) if t.HasField("labelSelector") else None,
                    namespaces=tuple(map(memo.text, t.namespaces)),
                    topology_key=memo.text(t.topologyKey),
                )
                for t in m.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution
            )
        )
    return k.Affinity(node_affinity=node, pod_anti_affinity=anti)


def selector(m: pb.LabelSelector, memo: Memo) -> k.LabelSelector:
    return k.LabelSelector(
        match_labels=memo.labels_of(m.matchLabels),
        match_expressions=tuple(
            k.LabelSelectorRequirement(
                key=memo.text(e.key), operator=memo.text(e.operator), values=tuple(map(text, e.values))
            )
            for e in m.matchExpressions
        ),
    )
