"""What one bundle format found, member by member: typed items per list (kind restored from the
list or the path, duplicates dropped by uid), the members that failed, the newest timestamp of the
objects and the metadata files; then the Snapshot, with a named gap for everything it lacks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from kplanediag.snapshot.api_kinds import Event
from kplanediag.snapshot.bundles.documents import Document, documents
from kplanediag.snapshot.bundles.events import EVENT_NAMESPACES, CoreEvent, is_core, kept, warnings_yaml
from kplanediag.snapshot.bundles.layout import ERRORS, LOCKS, MAX_META_BYTES, Layout, Route
from kplanediag.snapshot.bundles.locks import lock_lease
from kplanediag.snapshot.decode import BadItems, describe_item
from kplanediag.snapshot.errors import AT_ONLY, SnapshotError
from kplanediag.snapshot.kinds import Lease, Resource
from kplanediag.snapshot.model import (
    KIND_OF_RESOURCE,
    PROBES,
    RESOURCE_OF_KIND,
    RESOURCES,
    Gap,
    Resources,
    Snapshot,
    parse_time,
)

_STAMP = re.compile(rb'"(\w+)":\s*"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"')
# what the field of the newest timestamp says it was, for the report's "told by"
_FIELDS = {
    "lastHeartbeatTime": "a node heartbeat",
    "renewTime": "a Lease renewal",
    "time": "a managedFields write",
    "lastTimestamp": "an Event",
    "eventTime": "an Event",
    "lastObservedTime": "an Event series",
    "startedAt": "a container start",
    "finishedAt": "a container exit",
    "lastTransitionTime": "a condition transition",
    "creationTimestamp": "an object creation",
}
LOCKS_READ = ": only the leader locks of Endpoints, read as Leases"
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {r: msgspec.json.Decoder(k) for r, k in KIND_OF_RESOURCE.items()}
_CORE_EVENTS = msgspec.json.Decoder(CoreEvent)


class _IdMeta(msgspec.Struct):
    uid: Any = None
    name: Any = None
    namespace: Any = None


class _Ident(msgspec.Struct):
    kind: Any = None
    apiVersion: Any = None
    metadata: Any = None


_IDENT = msgspec.json.Decoder(_Ident)


def _key(raw: msgspec.Raw, meta: Any) -> tuple[str, ...]:
    if not isinstance(meta, dict):
        return ()
    uid = meta.get("uid")
    if isinstance(uid, str) and uid:
        return (uid,)
    name, ns = meta.get("name"), meta.get("namespace")
    return (str(ns), str(name)) if isinstance(name, str) else ()


def _resource_version(meta: Any) -> int:
    """The object's resourceVersion as a number (etcd's revision: higher is newer); -1 if none."""
    value = meta.get("resourceVersion") if isinstance(meta, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else -1


@dataclass
class Found:
    layout: Layout
    members: int = 0  # members holding a list, read or not
    read: int = 0  # of which decoded as JSON or YAML objects
    lists: dict[str, list[Resource]] = field(default_factory=dict)
    seen: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)  # -> (resourceVersion, index)
    bad: dict[str, BadItems] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    meta: dict[str, bytes] = field(default_factory=dict)
    newest: tuple[datetime, str] | None = None
    locks: list[Lease] = field(default_factory=list)  # leader locks of Endpoints, as Leases (locks.py)

    def add(self, path: str, route: Route, data: bytes | None, why: str | None = None) -> None:
        """One member, whose path gave ``route``; ``data`` None: not read, ``why`` says why."""
        if route.role:
            if data is not None and len(data) <= MAX_META_BYTES:
                self.meta[path] = data
            if route.role == ERRORS and route.resource and data and data.strip() not in (b"", b"[]", b"{}"):
                self.gaps.append(Gap(source=route.resource, reason=f"the bundle records errors collecting it ({path})"))
            return
        self.members += 1
        if data is None:
            why = f"{why}: left out" if why else f"{path} could not be read: left out"
            gap = Gap(source=route.resource or path, reason=why)
            if gap not in self.gaps:  # past the bundle's budget: one gap per list, not per file
                self.gaps.append(gap)
            return
        json = data.lstrip()[:1] in (b"{", b"[")
        if route.resource == "events" and route.namespace not in ("", *EVENT_NAMESPACES) and not json:
            data = warnings_yaml(data)
        try:
            docs = documents(data, path)
        except SnapshotError as exc:
            self.gaps.append(Gap(source=route.resource or path, reason=f"{exc}: left out"))
            return
        self.read += 1
        for doc in docs:
            self._document(doc, route)
        for chunk in [data] if json else [bytes(raw) for _, _, items in docs for raw in items]:
            self.stamp_all(chunk)

    def stamp_all(self, data: bytes) -> None:
        """Keep the newest ``"field": "<RFC 3339>"`` of ``data`` (JSON), and the field's name."""
        for m in _STAMP.finditer(data):
            when = parse_time(m.group(2).decode())
            if when is not None and (self.newest is None or when > self.newest[0]):
                self.newest = (when, m.group(1).decode())

    def add_document(self, doc: Document, route: Route) -> None:
        """A document read elsewhere (one List of a cluster-info dump stream)."""
        self.members += 1
        self.read += 1
        self._document(doc, route)

    def _document(self, doc: Document, route: Route) -> None:
        list_kind, list_api, items = doc
        list_item_kind = list_kind.removesuffix("List") if list_kind.endswith("List") else ""
        whole = route.resource or RESOURCE_OF_KIND.get(list_item_kind, "")
        if whole and whole != LOCKS:
            self.lists.setdefault(whole, [])  # read, even when empty
        for raw in items:
            try:
                ident = _IDENT.decode(raw)
            except msgspec.DecodeError as exc:
                self._bad(route.resource or "items", "an item that is not a JSON object", str(exc))
                continue
            kind = ident.kind if isinstance(ident.kind, str) and ident.kind else list_item_kind
            resource = RESOURCE_OF_KIND.get(kind, "") if kind else route.resource
            if kind == "Endpoints":
                resource = LOCKS
            elif not resource:
                continue  # a kind kplanediag does not read
            key, version = _key(raw, ident.metadata), _resource_version(ident.metadata)
            known = self.seen.get((resource, *key)) if key else None
            if known is not None and known[0] >= version:
                continue  # the same object again, no newer (sonobuoy repeats each namespace's objects)
            item = self._decode(raw, resource, ident, list_api, route)
            if item is None:
                continue
            into: list[Any] = self.locks if resource == LOCKS else self.lists.setdefault(resource, [])
            if known is not None:  # a newer copy of it: it takes the older one's place
                into[known[1]] = item
                self.seen[(resource, *key)] = (version, known[1])
                continue
            if key:
                self.seen[(resource, *key)] = (version, len(into))
            into.append(item)

    def _decode(self, raw: msgspec.Raw, resource: str, ident: _Ident, list_api: str, route: Route) -> Resource | None:
        """One item as its kind; None when it is left out (no leader lock, an Event not kept, bad)."""
        if resource == LOCKS:
            return lock_lease(raw, "Endpoints")
        api = ident.apiVersion if isinstance(ident.apiVersion, str) and ident.apiVersion else list_api
        try:
            if resource == "events" and is_core(api or route.api_version or "v1"):
                item: Resource = _CORE_EVENTS.decode(raw).to_event()
            else:
                item = _DECODERS[resource].decode(raw)
        except msgspec.DecodeError as exc:
            self._bad(resource, describe_item(raw), str(exc))
            return None
        return None if isinstance(item, Event) and not kept(item) else item

    def _bad(self, resource: str, who: str, error: str) -> None:
        self.bad.setdefault(resource, BadItems(resource)).add(who, error)

    def snapshot(self, where: str, cut: str | None = None, at: datetime | None = None) -> Snapshot:
        """``cut``: why the walk stopped early; what was not found is then not read, not absent."""
        name = self.layout.name
        told = self.layout.capture_time(self.meta)
        if told is None and self.newest is not None:
            field = _FIELDS.get(self.newest[1], self.newest[1])
            told = (
                self.newest[0],
                f"the newest timestamp in the objects ({field}): the {name} records no capture time",
            )
        if told is None and at is not None:
            told = (at, AT_ONLY)
        if told is None:
            raise SnapshotError(f"{where}: the {name} holds no timestamp to take as 'now': pass --at")
        version = self.layout.version(self.meta)
        gaps = [Gap(source=p, reason=f"not in the {name}") for p in PROBES if p != "version" or version is None]
        missing = [r for r in RESOURCES if r not in self.lists]
        failed = {g.source for g in self.gaps}
        absent = f"not in the {name}" if cut is None else f"not read: {cut}"
        gaps += [
            Gap(source=r, reason=absent + (LOCKS_READ if r == "leases" and self.locks else ""))
            for r in missing
            if r not in failed
        ]
        gaps += self.gaps
        gaps += [g for b in self.bad.values() if (g := b.gap())]
        lists = {r: tuple(items) for r, items in self.lists.items() if r in RESOURCES}
        if self.locks:  # a real Lease of the same name wins
            have = {lease.key for lease in lists.get("leases", ())}
            extra = tuple(lock for lock in self.locks if lock.key not in have)
            lists["leases"] = (*lists.get("leases", ()), *extra)
        return Snapshot(
            collected_at=told[0],
            collected_at_from=told[1],
            source=self.layout.source,
            version=version,
            resources=Resources(**lists),
            gaps=tuple(gaps),
        )
