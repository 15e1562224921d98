"""Snapshot files written (files.py reads them): encode_snapshot in one buffer, write_snapshot in pieces,
the lists' items a chunk at a time (a 30,000-pod snapshot is never one buffer), the same bytes."""

from __future__ import annotations

from typing import BinaryIO

import msgspec

from kplanediag.snapshot.model import RESOURCES, Snapshot

SNAPSHOT_KIND = "KplanediagSnapshot"
SNAPSHOT_VERSION = 2
CHUNK_ITEMS = 500  # items encoded at once: a few hundred KB of pods
_ENCODER = msgspec.json.Encoder()


def encode_snapshot(snap: Snapshot) -> bytearray:
    """The snapshot file's JSON, encoded once into one buffer after its head: no copy of it is made
    to join them (a 30,000-pod snapshot is about 40 MB; joining bytes cost three times that)."""
    head = b'{"kind":"%s","snapshotVersion":%d' % (SNAPSHOT_KIND.encode(), SNAPSHOT_VERSION)
    buffer = bytearray(head)
    _ENCODER.encode_into(snap, buffer, len(head))  # '{...}' from offset len(head)
    if len(buffer) == len(head) + 2:  # '{}': nothing to join
        del buffer[len(head)]
    else:
        buffer[len(head)] = ord(",")
    return buffer


class TooBig(ValueError):
    """The snapshot's JSON is longer than the writer's limit: what was written is incomplete."""


class _Out:
    def __init__(self, handle: BinaryIO, limit: int | None) -> None:
        self.handle, self.limit, self.size = handle, limit, 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.size += len(data)
        if self.limit is not None and self.size > self.limit:
            raise TooBig(f"the snapshot is more than {self.limit:,} bytes")
        self.handle.write(data)


def write_snapshot(snap: Snapshot, handle: BinaryIO, limit: int | None = None) -> int:
    """The snapshot file (its JSON and a final newline) written to ``handle``; the JSON's length.
    Raises TooBig past ``limit`` bytes of JSON (the file is then incomplete: the caller drops it).

    The snapshot is encoded once with every list emptied (a few KB), then written around its
    ``"resources"`` object, whose lists are encoded CHUNK_ITEMS items at a time into one reused buffer.
    """
    out = _Out(handle, limit)
    present = [name for name in RESOURCES if getattr(snap.resources, name) is not None]
    hollow_resources = msgspec.structs.replace(snap.resources, **{name: () for name in present})
    empty = b"".join((b"{", b",".join(b'"%s":[]' % name.encode() for name in present), b"}"))
    marker = b'"resources":' + empty
    hollow = encode_snapshot(msgspec.structs.replace(snap, resources=hollow_resources))
    at = hollow.find(marker)
    if _ENCODER.encode(hollow_resources) != empty or at < 0 or hollow.find(marker, at + 1) >= 0:
        out.write(encode_snapshot(snap))  # not the layout expected: the whole file at once, as before
        handle.write(b"\n")
        return out.size
    out.write(memoryview(hollow)[: at + len(b'"resources":{')])
    buffer = bytearray()
    for i, name in enumerate(present):
        out.write(b'%s"%s":[' % (b"," if i else b"", name.encode()))
        items = getattr(snap.resources, name)
        for start in range(0, len(items), CHUNK_ITEMS):
            _ENCODER.encode_into(items[start : start + CHUNK_ITEMS], buffer)  # '[a,b,...]'
            if start:
                out.write(b",")
            out.write(memoryview(buffer)[1:-1])
        out.write(b"]")
    out.write(memoryview(hollow)[at + len(marker) - 1 :])  # the resources' '}' and what follows
    handle.write(b"\n")
    return out.size
