"""List pages in the API server's protobuf encoding (``application/vnd.kubernetes.protobuf``) read
into the same typed Structs as the JSON path, with a fraction of its bytes on the wire and memory.

The envelope (runtime.Unknown) and the List are framed here without copying the page; each item is
parsed on its own (k8s.proto declares items as bytes) and converted (convert.py, generic.py), so a damaged item
is one counted gap. Declared fields and their numbers: k8s.proto; regenerate with ``make proto``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf.message import DecodeError, Message

from kplanediag.collect.protobuf import convert, generic
from kplanediag.collect.protobuf import k8s_pb2 as pb
from kplanediag.collect.protobuf.memo import Memo, text
from kplanediag.snapshot import kinds as k
from kplanediag.snapshot.decode import BadItems
from kplanediag.snapshot.registry import KIND_SPECS

__all__ = ["PROTOBUF", "Memo", "ProtobufError", "decode_list", "decode_object"]

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
R = TypeVar("R", bound=k.Resource)


def _snake(name: str) -> str:
    """``PodDisruptionBudget`` -> ``pod_disruption_budget``: a kind's converter in convert.py."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _converter(kind: type[k.Resource], message: type[Message]) -> Callable[[Any, Memo], Any]:
    """convert.py's function for the kind (the high-volume kinds, sharing through the Memo), else the
    one generic.py plans from the Struct and the message (tests check both against JSON on real lists)."""
    fast: Callable[[Any, Memo], Any] | None = getattr(convert, _snake(kind.__name__), None)
    if fast is not None:
        return fast
    plain = generic.converter(kind, message.DESCRIPTOR)
    return lambda m, _memo: plain(m)


# The registry's protobuf kinds: each its k8s.proto message (k8s_pb2) and its converter
# (tests/unit/test_registry.py names a kind without a message, or one generic.py cannot fill).
_KINDS: dict[type[k.Resource], tuple[type[Message], Callable[[Any, Memo], Any]]] = {
    spec.kind: (getattr(pb, spec.name), _converter(spec.kind, getattr(pb, spec.name)))
    for spec in KIND_SPECS
    if spec.wire == "protobuf" and hasattr(pb, spec.name)
}
_SHARED = Memo()  # the default: shared between calls and threads (single dict operations), bounded
_ITEM_ERRORS = (DecodeError, ValueError, OverflowError, TypeError)  # damaged bytes, dates out of range


class ProtobufError(ValueError):
    """The body is not a protobuf list of the expected kind at all (no single item is to blame)."""


def decode_list(kind: type[R], body: bytes, bad: BadItems, memo: Memo | None = None) -> tuple[list[R], str]:
    """One list page of ``kind`` in the Kubernetes protobuf encoding: its items and its continue token.

    Items that cannot be read go to ``bad``. Equal sub-objects are shared through ``memo``: pass one
    Memo to every page of a collection and drop it after (the default is one bounded Memo for the
    process, which keeps what it holds until it trims). Raises ProtobufError when the page as a whole is
    unreadable: no ``k8s\\0`` magic, a broken envelope or list, or a list of another kind.
    """
    item_type, converter = _KINDS[kind]
    if body[:4] != MAGIC:
        raise ProtobufError(f"not a Kubernetes protobuf body (it starts with {bytes(body[:4])!r})")
    try:  # runtime.Unknown: typeMeta = 1, raw = 2, contentEncoding = 3; the List: metadata = 1, items = 2
        envelope = _frames(body, 4, len(body))
        type_meta = pb.TypeMeta.FromString(_field(body, envelope, 1))
        encoding = _field(body, envelope, 3).decode()
        raw_start, raw_end = next(((a, b) for n, a, b in envelope if n == 2), (0, 0))
        page = _frames(body, raw_start, raw_end)
        list_meta = pb.ListMeta.FromString(_field(body, page, 1))
    except (DecodeError, UnicodeDecodeError) as exc:
        raise ProtobufError(f"unreadable protobuf list: {exc}") from exc
    if type_meta.kind != f"{kind.__name__}List":
        raise ProtobufError(f"expected a {kind.__name__}List, got {type_meta.kind or 'an object without a kind'}")
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    memo = _SHARED if memo is None else memo
    memo.trim()
    out: list[R] = []
    append, parse = out.append, item_type.FromString
    for number, start, end in page:
        if number != 2:  # items = 2
            continue
        raw = body[start:end]
        try:
            append(converter(parse(raw), memo))
        except _ITEM_ERRORS as exc:
            bad.add(describe_item(raw), str(exc) or type(exc).__name__)
    return out, getattr(list_meta, "continue")


def decode_object(kind: type[R], body: bytes, memo: Memo | None = None) -> R:
    """One object of ``kind`` in the Kubernetes protobuf encoding (a watch event's object): ProtobufError
    when it is not one, or cannot be read."""
    item_type, converter = _KINDS[kind]
    if body[:4] != MAGIC:
        raise ProtobufError(f"not a Kubernetes protobuf body (it starts with {bytes(body[:4])!r})")
    try:
        envelope = _frames(body, 4, len(body))
        type_meta = pb.TypeMeta.FromString(_field(body, envelope, 1))
    except DecodeError as exc:
        raise ProtobufError(f"unreadable protobuf envelope: {exc}") from exc
    if type_meta.kind != kind.__name__:
        raise ProtobufError(f"expected a {kind.__name__}, got {type_meta.kind or 'an object without a kind'}")
    if _field(body, envelope, 3):
        raise ProtobufError("unsupported content encoding")
    try:
        obj: R = converter(item_type.FromString(_field(body, envelope, 2)), _SHARED if memo is None else memo)
    except _ITEM_ERRORS as exc:
        raise ProtobufError(f"unreadable {kind.__name__}: {str(exc) or type(exc).__name__}") from exc
    return obj


def _frames(
    data: bytes, pos: int, end: int, found: list[tuple[int, int, int]] | None = None
) -> list[tuple[int, int, int]]:
    """(field number, start, end) of each length-delimited field of the message in data[pos:end],
    skipping the others, appended to ``found``; DecodeError when the bytes are not a well-formed
    message (``found`` then holds the fields before the damage)."""
    found = [] if found is None else found
    try:
        while pos < end:
            tag = data[pos]  # one byte for fields 1 to 15, the only ones these messages frame
            tag, pos = (tag, pos + 1) if tag < 0x80 else _varint(data, pos)
            wire = tag & 7
            if wire == 2:
                size = data[pos]
                size, pos = (size, pos + 1) if size < 0x80 else _varint(data, pos)
                if pos + size > end:
                    raise DecodeError(f"field {tag >> 3} runs past the end of its message")
                found.append((tag >> 3, pos, pos + size))
                pos += size
            elif wire == 0:
                _, pos = _varint(data, pos)
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            else:
                raise DecodeError(f"unsupported wire type {wire}")
    except IndexError:
        raise DecodeError("truncated message") from None
    if pos > end:
        raise DecodeError("truncated message")
    return found


def _field(data: bytes, frames: list[tuple[int, int, int]], number: int) -> bytes:
    """The last length-delimited field ``number`` (protobuf: the last one wins), b"" when absent."""
    for n, start, end in reversed(frames):
        if n == number:
            return data[start:end]
    return b""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = data[pos]
    if value < 0x80:
        return value, pos + 1
    value &= 0x7F
    shift = 7
    while True:
        pos += 1
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + 1
        shift += 7


def describe_item(raw: bytes) -> str:
    """``namespace/name`` of an item that could not be read, from its metadata where that is intact."""
    item: list[tuple[int, int, int]] = []
    fields: list[tuple[int, int, int]] = []
    with contextlib.suppress(DecodeError):  # the metadata comes first: damage after it still leaves the name
        _frames(raw, 0, len(raw), item)
    meta = _field(raw, item, 1)  # metadata = 1: name = 1, namespace = 3
    with contextlib.suppress(DecodeError):
        _frames(meta, 0, len(meta), fields)
    name, namespace = (text(_field(meta, fields, n)) for n in (1, 3))
    if not name:
        return "an item without a readable name"
    return f"{namespace}/{name}" if namespace else name
