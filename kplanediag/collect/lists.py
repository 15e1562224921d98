"""The lists one check reads (one call per read of each kind of snapshot/registry.py), and how a page
of each is fetched, continued and decoded.

Wire format: protobuf is asked for first and JSON accepted in the same Accept header, as client-go
does; the server answers JSON for what it cannot encode as protobuf (custom resources, aggregated
APIs, some proxies). ``KPLANEDIAG_WIRE=json`` forces JSON (for benchmarks and as an escape hatch).

Paging (measured by ``make bench``'s page-size sweep on a 30,000-pod kwok cluster): pages of 500
cost about 75% more than one page, 2,000 about the same as one page while holding a tenth of its
memory, so PAGE_SIZE is 2,000: a 30,000-pod list is 15 requests of about 4 MB of protobuf each.

Which parameters keep the lists off etcd (so that they are answered, paginated, while etcd is
down; measured on the lab's v1.36.2 with etcd killed): on v1.34 and later, where the watch cache
keeps snapshots (feature ListFromCacheSnapshot, beta and on by default since v1.34), the first page
asks ``resourceVersion=1&resourceVersionMatch=NotOlderThan`` ("any state newer than revision 1"):
NotOlderThan is never delegated to etcd, the cache serves the page from its current state, and the
``continue`` pages (whose token carries that revision) from its snapshot. ``resourceVersion=0`` is
no good there: the cache ignores ``limit`` for it and sends the whole list in one response. An
empty resourceVersion (a consistent read) needs etcd: it hangs until the timeout while etcd is down.
Older servers, or one whose /version could not be read, get ``resourceVersion=0``: their watch
cache answers it (v1.13 and later, the whole list in one response: correct, only bigger).

The API's own kinds (webhook configurations, admission policies, APIServices, CSRs) are asked for
as JSON only: a cluster holds tens of them, so protobuf would save nothing measurable, and each kind
would need a hand-written converter. APIServices are served by the aggregator, which answers JSON
anyway. A list whose API the server does not serve (404: ValidatingAdmissionPolicy before 1.30) is
``optional``: it is read as empty, since a server without the API has none of those objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import msgspec

from kplanediag.collect.errors import ListFailed
from kplanediag.snapshot.decode import PAGE_DECODER, BadItems, ItemDecoder
from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.model import list_label
from kplanediag.snapshot.registry import KIND_SPECS

PAGE_SIZE = 2000
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON = "application/json"
WIRE_ENV = "KPLANEDIAG_WIRE"


@dataclass(frozen=True)
class ListCall:
    resource: str  # the Resources field it fills
    path: str
    kind: type[Resource]
    json_only: bool = False  # the API's own low-volume kinds (module docstring)
    optional: bool = False  # 404 (the API is not served) reads as an empty list
    query: tuple[tuple[str, str], ...] = ()  # extra query parameters (a fieldSelector)
    page_size: int | None = None  # None: PAGE_SIZE
    max_pages: int | None = None  # a bounded read: at most this many pages, the rest is not read
    watched: bool = False  # kept by a watch between checks (serve: collect/watch)
    heartbeats: bool = False  # its objects are renewed on a clock (Leases): see collect/watch/window.py

    @property
    def accept(self) -> str:
        return JSON if self.json_only else accept_header()

    @property
    def label(self) -> str:
        """How a gap names this call: the resource, with the namespace for namespaced calls."""
        parts = self.path.split("/")
        if "namespaces" in parts:
            return list_label(self.resource, parts[parts.index("namespaces") + 1])
        return f"{self.resource} (warnings)" if ("fieldSelector", "type=Warning") in self.query else self.resource


ADMISSION = "/apis/admissionregistration.k8s.io/v1"  # the webhooks' and policies' API (tests route it)
# One call per read of each kind of the registry (snapshot/registry.py), in its order.
LISTS = tuple(
    ListCall(
        spec.resource,
        spec.path(read.namespace),
        spec.kind,
        json_only=spec.wire == "json",
        optional=spec.optional,
        query=read.query,
        page_size=spec.page_size,
        max_pages=spec.max_pages,
        watched=spec.watched,
        heartbeats=spec.heartbeats,
    )
    for spec in KIND_SPECS
    for read in spec.reads
)


def accept_header() -> str:
    if os.environ.get(WIRE_ENV, "").lower() == "json":
        return JSON
    return f"{PROTOBUF}, {JSON}"


SNAPSHOT_CACHE = (1, 34)  # first version whose watch cache serves paginated lists (ListFromCacheSnapshot)


def page_fields(token: str, server: tuple[int, int] | None, call: ListCall | None = None) -> dict[str, str]:
    """Query parameters of a list page: the first one (no token) or a continuation (a continuation
    repeats the call's own selector, as the API requires)."""
    extra = dict(call.query) if call is not None else {}
    limit = str(call.page_size if call is not None and call.page_size else PAGE_SIZE)
    if token:
        return {"limit": limit, "continue": token, **extra}  # a token carries its own resourceVersion
    if server is not None and server >= SNAPSHOT_CACHE:
        return {"limit": limit, "resourceVersion": "1", "resourceVersionMatch": "NotOlderThan", **extra}
    return {"limit": limit, "resourceVersion": "0", **extra}


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


MAX_LEADING_FIELDS = 16  # Go's marshaller writes fields in number order: metadata (1) before any item


def _field(buf: memoryview, number: int) -> memoryview | None:
    """The first length-delimited field ``number`` of a protobuf message, without parsing the rest,
    looked for among its first MAX_LEADING_FIELDS fields: a page that puts a million items first is
    refused, never walked field by field in Python."""
    pos = 0
    seen = 0
    while pos < len(buf):
        seen += 1
        if seen > MAX_LEADING_FIELDS:
            raise ValueError(f"field {number} is not among the first {MAX_LEADING_FIELDS} fields")
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
            continue
        if wire == 1:
            pos += 8
            continue
        if wire == 5:
            pos += 4
            continue
        if wire != 2:
            raise ValueError(f"unexpected wire type {wire}")
        length, pos = _varint(buf, pos)
        if pos + length > len(buf):
            raise ValueError("truncated field")
        if key >> 3 == number:
            return buf[pos : pos + length]
        pos += length
    return None


def protobuf_continue(body: bytes) -> str:
    """The ``continue`` token of a protobuf list page, read from the first bytes of the envelope
    (runtime.Unknown raw=2 -> List metadata=1 -> ListMeta continue=3), so the next page can be
    requested before this one is decoded."""
    if body[:4] != b"k8s\x00":
        raise ListFailed("malformed response: not a Kubernetes protobuf envelope")
    try:
        raw = _field(memoryview(body)[4:], 2)
        meta = _field(raw, 1) if raw is not None else None
        token = _field(meta, 3) if meta is not None else None
        return bytes(token).decode() if token is not None else ""
    except (ValueError, UnicodeDecodeError) as exc:
        raise ListFailed(f"malformed response: {exc}") from exc


def protobuf_version(body: bytes) -> str:
    """The resourceVersion of a protobuf list page (runtime.Unknown raw=2 -> List metadata=1 ->
    ListMeta resourceVersion=2): where a watch of that list starts."""
    if body[:4] != b"k8s\x00":
        raise ListFailed("malformed response: not a Kubernetes protobuf envelope")
    try:
        raw = _field(memoryview(body)[4:], 2)
        meta = _field(raw, 1) if raw is not None else None
        version = _field(meta, 2) if meta is not None else None
        return bytes(version).decode() if version is not None else ""
    except (ValueError, UnicodeDecodeError) as exc:
        raise ListFailed(f"malformed response: {exc}") from exc


class _Head(msgspec.Struct):
    metadata: dict[str, object] | None = None


_HEAD = msgspec.json.Decoder(_Head)


def json_continue(body: bytes) -> str:
    try:
        meta = _HEAD.decode(body).metadata or {}
    except (msgspec.DecodeError, RecursionError) as exc:  # msgspec raises RecursionError for deep nesting
        raise ListFailed(f"malformed response: {exc}") from exc
    token = meta.get("continue")
    return token if isinstance(token, str) else ""


def list_version(body: bytes, content_type: str) -> str:
    if content_type == PROTOBUF:
        return protobuf_version(body)
    try:
        meta = _HEAD.decode(body).metadata or {}
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ListFailed(f"malformed response: {exc}") from exc
    version = meta.get("resourceVersion")
    return version if isinstance(version, str) else ""


def continue_token(body: bytes, content_type: str) -> str:
    return protobuf_continue(body) if content_type == PROTOBUF else json_continue(body)


class PageDecoder:
    """One collection's page decoding, protobuf or JSON by each page's Content-Type. Protobuf pages
    share one Memo (equal sub-objects built once, the strings interned) for the collection, freed
    with it; it is made on the first protobuf page, so a JSON-only run never loads protobuf."""

    def __init__(self) -> None:
        self._json: dict[type[Resource], ItemDecoder[Resource]] = {}
        self._memo: Any = None

    def decode(self, kind: type[Resource], body: bytes, content_type: str, out: list[Resource], bad: BadItems) -> None:
        if content_type == PROTOBUF:
            from kplanediag.collect.protobuf import Memo, ProtobufError, decode_list  # noqa: PLC0415 (lazy)

            if self._memo is None:
                self._memo = Memo()
            try:
                items, _ = decode_list(kind, body, bad, self._memo)
            except ProtobufError as exc:
                raise ListFailed(f"malformed response: {exc}") from exc
            out.extend(items)
            return
        decoder = self._json.get(kind)
        if decoder is None:
            decoder = self._json[kind] = ItemDecoder(kind)
        try:
            page = PAGE_DECODER.decode(body)
            if page.items is None:
                raise ListFailed("malformed response: a list without items")
            decoder.decode_into(page.items, out, bad)
        except (msgspec.DecodeError, RecursionError) as exc:  # msgspec raises RecursionError for deep nesting
            raise ListFailed(f"malformed response: {exc}") from exc
