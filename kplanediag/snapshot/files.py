"""Snapshots on disk: ``snapshot save`` writes snapshotVersion 2 (the typed fields only, JSON);
``--from`` reads it, version-1 snapshots (whole objects) and ``kubectl get ... -o json|yaml`` Lists."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import msgspec

from kplanediag.snapshot.credentials import public_url
from kplanediag.snapshot.decode import BadItems, ItemDecoder, ListPage
from kplanediag.snapshot.errors import AT_ONLY, NOT_AN_OBJECT, SnapshotError
from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.limits import max_input, too_large
from kplanediag.snapshot.model import (
    KIND_OF_RESOURCE,
    PROBES,
    RESOURCE_OF_KIND,
    RESOURCES,
    Gap,
    Probe,
    Resources,
    Snapshot,
    VersionInfo,
    parse_time,
)
from kplanediag.snapshot.server import Certificate, Record, RequestTime, ServerMetrics
from kplanediag.snapshot.writer import SNAPSHOT_KIND, write_snapshot

READS = (1, 2)  # snapshot versions this kplanediag reads (1: schemaVersion, whole objects)
SNIFF_BYTES = 64 * 1024
# Any RFC 3339 timestamp value in a List: its newest one is the List's "now".
_TIMESTAMP = re.compile(rb'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"')


# Files are decoded with msgspec: the envelope first with every item left undecoded, then item by item into
# the typed kinds, so one malformed object is a gap and not an unreadable file.
class _Head(msgspec.Struct):
    kind: object = None
    schemaVersion: object = None
    snapshotVersion: object = None


class _Body(Record, frozen=True):
    """A saved snapshot with its items still undecoded (versions 1 and 2 share this shape)."""

    collected_at: str
    source: str = "snapshot"
    collected_at_from: str = ""
    server: str | None = None
    reachable: bool = True
    version: VersionInfo | None = None
    livez: Probe | None = None
    readyz: Probe | None = None
    resources: dict[str, list[msgspec.Raw]] = msgspec.field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()
    serving_certificate: Certificate | None = None
    metrics: ServerMetrics | None = None
    requests: tuple[RequestTime, ...] = ()
    local_clock: str | None = None
    read_at: dict[str, datetime] = msgspec.field(default_factory=dict)


class _KindOnly(msgspec.Struct):
    kind: object = None


_KIND = msgspec.json.Decoder(_KindOnly)


def save_snapshot(snap: Snapshot, path: Path) -> None:
    with path.open("wb") as handle:
        write_snapshot(snap, handle)  # in pieces, the same bytes as encode_snapshot's and a newline


def _typed(items: Mapping[str, list[msgspec.Raw]]) -> tuple[Resources, list[Gap]]:
    """Decode each list's items into its kind; bad items become one gap per list."""
    lists: dict[str, tuple[Resource, ...]] = {}
    gaps: list[Gap] = []
    for resource, raws in items.items():
        kind = KIND_OF_RESOURCE.get(resource)
        if kind is None:
            continue  # a list this version does not read
        out: list[Resource] = []
        bad = BadItems(resource)
        ItemDecoder(kind).decode_into(raws, out, bad)
        lists[resource] = tuple(out)
        if gap := bad.gap():
            gaps.append(gap)
    return Resources(**lists), gaps


def _from_body(data: bytes) -> Snapshot:
    try:
        body = msgspec.json.decode(data, type=_Body)
    except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError is a DecodeError
        raise SnapshotError(f"malformed snapshot: {exc}") from exc
    collected_at = parse_time(body.collected_at)
    if collected_at is None:
        raise SnapshotError(f"malformed snapshot: collectedAt is not a timestamp: {body.collected_at!r}")
    resources, bad = _typed(body.resources)
    return Snapshot(
        collected_at=collected_at,
        source=body.source,
        collected_at_from=body.collected_at_from,
        server=public_url(body.server) if body.server else body.server,
        reachable=body.reachable,
        version=body.version,
        livez=body.livez,
        readyz=body.readyz,
        resources=resources,
        gaps=(*body.gaps, *bad),
        serving_certificate=body.serving_certificate,
        metrics=body.metrics,
        local_clock=parse_time(body.local_clock) if body.local_clock else None,
        requests=body.requests,
        read_at=body.read_at,
    )


def _newest_timestamp(data: bytes) -> datetime | None:
    newest: datetime | None = None
    for match in _TIMESTAMP.finditer(data):
        value = parse_time(match.group(1).decode())
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest


def _from_list(data: bytes, page: ListPage, at: datetime | None = None) -> Snapshot:
    """A ``kind: List`` from kubectl, or a typed list (NodeList) whose items carry no kind.

    Health endpoints are never in it: they become gaps, as do the kinds it does not hold."""
    if page.items is None:
        raise SnapshotError(f"kind: {page.kind} without an items array")
    item_kind = page.kind.removesuffix("List") if page.kind != "List" else ""
    by_resource: dict[str, list[msgspec.Raw]] = {}
    for raw in page.items:
        try:
            kind = _KIND.decode(raw).kind or item_kind
        except msgspec.DecodeError:
            kind = None
        resource = RESOURCE_OF_KIND.get(kind) if isinstance(kind, str) else None
        if resource:
            by_resource.setdefault(resource, []).append(raw)
    newest = _newest_timestamp(data)
    if newest is None and at is None:
        raise SnapshotError("the List holds no timestamp to take as 'now': pass --at")
    resources, bad = _typed(by_resource)
    gaps = [Gap(source=p, reason="not in a kubectl List") for p in PROBES]
    gaps += [Gap(source=r, reason="not in the input List") for r in RESOURCES if r not in by_resource]
    return Snapshot(
        collected_at=newest or at,  # type: ignore[arg-type]  # one of them is set (checked above)
        collected_at_from="the newest timestamp in the List" if newest else AT_ONLY,
        source="kubectl-list",
        resources=resources,
        gaps=(*gaps, *bad),
    )


def _yaml_to_json(data: bytes, where: str) -> bytes:
    """YAML (``kubectl get -o yaml``, one document or several) as JSON; several documents become one
    List. Aliases are refused: kubectl never writes them, and each level of them multiplies the
    size of the expanded document ("billion laughs")."""
    from kplanediag.snapshot.bundles.documents import yaml_as_one  # noqa: PLC0415

    return yaml_as_one(data, where)


def load_bytes(data: bytes, where: str = "input", at: datetime | None = None) -> Snapshot:
    """A saved snapshot or a kubectl List, from its bytes; every problem is a SnapshotError. ``at``
    (--at) stands for the capture time of an input that holds no timestamp."""
    if data.lstrip()[:1] not in (b"{", b"["):
        data = _yaml_to_json(data, where)
    try:
        head = msgspec.json.decode(data, type=_Head)
    except msgspec.ValidationError as exc:
        raise SnapshotError(f"{where}: {NOT_AN_OBJECT}") from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise SnapshotError(f"{where} is not JSON: {exc}") from exc
    kind = head.kind
    if kind == SNAPSHOT_KIND:
        version = head.snapshotVersion if head.snapshotVersion is not None else head.schemaVersion
        if version not in READS:
            raise SnapshotError(
                f"unsupported snapshot version {version!r} (this kplanediag reads versions "
                f"{', '.join(map(str, READS))}; a newer kplanediag wrote it?)"
            )
        return _from_body(data)
    if isinstance(kind, str) and kind.endswith("List"):
        try:
            page = msgspec.json.decode(data, type=ListPage)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise SnapshotError(f"{where}: kind: {kind} {exc}") from exc
        return _from_list(data, page, at)
    raise SnapshotError(f"{where}: kind {kind!r} is neither a kplanediag snapshot nor a kubectl List")


def _looks_binary(head: bytes) -> bool:
    """Neither JSON nor YAML: a NUL byte, or bytes that are not UTF-8 (a cut last character aside)."""
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 3
    return False


def load_snapshot(path: Path, at: datetime | None = None) -> Snapshot:
    """Read a saved snapshot, a kubectl List (JSON or YAML), or a bundle (a directory or archive:
    kplanediag/snapshot/bundles) from a path. Binary data that is no archive (a device such as
    /dev/urandom) is refused from its first bytes, not read to the size limit."""
    from kplanediag.snapshot import bundles  # noqa: PLC0415

    if path.is_dir():
        return bundles.read_bundle(path, at)
    limit = max_input()
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
            archive = bundles.is_archive(head)
            if not archive and os.fstat(handle.fileno()).st_size > limit:
                raise SnapshotError(too_large(str(path), limit))
            if not archive and _looks_binary(head):
                raise SnapshotError(
                    f"{path} is binary data, not a snapshot or a kubectl List (JSON or YAML) nor an archive "
                    f"(tar, tar.gz, tar.xz). kplanediag reads: {bundles.FORMATS}"
                )
            pretty = head[:1] == b"{" and head[1:2] in (b"\n", b"\r")
            data = b"" if archive or pretty else head + handle.read(limit + 1 - len(head))
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror}") from exc
    if archive:
        return bundles.read_bundle(path, at)
    if pretty:  # one pretty-printed document, or kubectl cluster-info dump's stream of them
        read = bundles.read_stream(path, at)
        if isinstance(read, Snapshot):
            return read
        data = read
    if len(data) > limit:
        raise SnapshotError(too_large(str(path), limit))
    try:
        return load_bytes(data, str(path), at)
    except SnapshotError as exc:  # a file of text that is none of them: say what would have been read
        if str(exc).endswith(NOT_AN_OBJECT):
            raise SnapshotError(f"{exc}. kplanediag reads: {bundles.FORMATS}") from exc
        raise
