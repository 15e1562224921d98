"""A watch response read as events: protobuf frames (a 4-byte length, then a WatchEvent) or JSON lines,
each decoded into its type, its typed object and the resourceVersion it brings."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from kplanediag.collect.errors import ListFailed
from kplanediag.collect.lists import PROTOBUF, _field, _varint
from kplanediag.snapshot.decode import ItemDecoder, describe_item
from kplanediag.snapshot.kinds import Resource

CHANGES = ("ADDED", "MODIFIED", "DELETED")
GONE = 410  # the Status code of a resourceVersion too old to watch from: list again
INITIAL_END = b"k8s.io/initial-events-end"  # the annotation of the bookmark that ends a streaming list


@dataclass(frozen=True)
class Event:
    """One watch event. ``obj`` is None for BOOKMARK and ERROR, and for an object that could not be read
    (``bad`` says why, ``who`` names it where its metadata could be read)."""

    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
    version: str  # the resourceVersion it brings ("" when none could be read)
    obj: Resource | None = None
    code: int = 0  # ERROR: the Status code
    message: str = ""  # ERROR: the Status message
    who: str = ""
    bad: str = ""
    initial_end: bool = False  # BOOKMARK: the last of a streaming list's initial events (k8s.io/initial-events-end)


class Frames:
    """Splits a watch body, fed in chunks, into whole frames; a frame over ``limit`` bytes is refused."""

    def __init__(self, content_type: str, limit: int) -> None:
        self.protobuf = content_type.split(";", 1)[0].strip() == PROTOBUF
        self._limit = limit
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        return self._protobuf() if self.protobuf else self._lines()

    def _protobuf(self) -> list[bytes]:
        out, buf, pos = [], self._buf, 0
        while len(buf) - pos >= 4:
            size = int.from_bytes(buf[pos : pos + 4], "big")
            self._check(size)
            if len(buf) - pos - 4 < size:
                break
            out.append(bytes(buf[pos + 4 : pos + 4 + size]))
            pos += 4 + size
        del buf[:pos]
        return out

    def _lines(self) -> list[bytes]:
        end = self._buf.rfind(b"\n")
        if end < 0:
            self._check(len(self._buf))
            return []
        lines = [bytes(line) for line in self._buf[:end].split(b"\n") if line.strip()]
        del self._buf[: end + 1]
        return lines

    def _check(self, size: int) -> None:
        if size > self._limit:
            raise ListFailed(f"malformed watch: a {size:,}-byte event (the input limit is {self._limit:,} bytes)")


class _Meta(msgspec.Struct):
    resourceVersion: str = ""  # the API's name


class _Object(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)
    code: int = 0
    message: str = ""


class _JsonEvent(msgspec.Struct):
    type: str
    object: msgspec.Raw


_JSON_EVENT = msgspec.json.Decoder(_JsonEvent)
_JSON_OBJECT = msgspec.json.Decoder(_Object)


class EventDecoder:
    """The events of one kind's watch, protobuf or JSON by the response's Content-Type."""

    def __init__(self, kind: type[Resource]) -> None:
        self.kind = kind
        self._json = ItemDecoder(kind)

    def decode(self, frame: bytes, protobuf: bool) -> Event:
        try:
            return self._protobuf(frame) if protobuf else self._from_json(frame)
        except (msgspec.DecodeError, ValueError, RecursionError, UnicodeDecodeError) as exc:
            raise ListFailed(f"malformed watch event: {exc}") from exc

    def _from_json(self, frame: bytes) -> Event:
        event = _JSON_EVENT.decode(frame)
        head = _JSON_OBJECT.decode(event.object)
        version = head.metadata.resourceVersion
        if event.type not in CHANGES:
            end = event.type == "BOOKMARK" and INITIAL_END in frame
            return Event(event.type, version, code=head.code, message=head.message, initial_end=end)
        from kplanediag.snapshot.decode import BadItems  # noqa: PLC0415

        out: list[Resource] = []
        bad = BadItems(self.kind.__name__)
        self._json.decode_into([event.object], out, bad)
        if out:
            return Event(event.type, version, out[0])
        return Event(event.type, version, who=describe_item(event.object), bad=bad.named[0] if bad.named else "")

    def _protobuf(self, frame: bytes) -> Event:
        from kplanediag.collect.protobuf import ProtobufError, decode_object  # noqa: PLC0415
        from kplanediag.collect.protobuf import describe_item as named  # noqa: PLC0415

        view = memoryview(frame)
        kind = _field(view, 1)
        wrapped = _field(view, 2)
        raw = bytes(_field(wrapped, 1) or b"") if wrapped is not None else b""
        if kind is None or raw[:4] != b"k8s\x00":
            raise ValueError("not a protobuf watch event")
        event_type = bytes(kind).decode()
        inner = _field(memoryview(raw)[4:], 2)  # runtime.Unknown: raw = 2
        if event_type == "ERROR":
            code, message = _status(bytes(inner or b""))
            return Event(event_type, "", code=code, message=message)
        meta = _field(inner, 1) if inner is not None else None  # metadata = 1
        stamp = _field(meta, 6) if meta is not None else None  # ObjectMeta: resourceVersion = 6
        version = bytes(stamp).decode() if stamp is not None else ""
        if event_type not in CHANGES:  # a bookmark holds its version and, at most, this annotation
            return Event(event_type, version, initial_end=event_type == "BOOKMARK" and INITIAL_END in frame)
        try:
            return Event(event_type, version, decode_object(self.kind, raw))
        except ProtobufError as exc:
            return Event(event_type, version, who=named(bytes(inner or b"")), bad=str(exc))


def _status(body: bytes) -> tuple[int, str]:
    """(code, message) of a protobuf metav1.Status (message = 3, code = 6)."""
    code, message, pos = 0, "", 0
    view = memoryview(body)
    while pos < len(view):
        key, pos = _varint(view, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(view, pos)
            code = value if number == 6 else code
        elif wire == 2:
            size, pos = _varint(view, pos)
            if number == 3:
                message = bytes(view[pos : pos + size]).decode(errors="replace")
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unexpected wire type {wire} in a Status")
    return code, message
