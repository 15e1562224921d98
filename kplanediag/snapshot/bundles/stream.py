"""``kubectl cluster-info dump`` printed to stdout: pretty-printed Lists one after another (NodeList,
then per namespace EventList, ..., PodList), with each container's log between ``==== START logs
for ...`` and ``==== END logs for ...`` lines. Read line by line, one List in memory at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from kplanediag.snapshot.bundles import clusterinfo
from kplanediag.snapshot.bundles.collected import Found
from kplanediag.snapshot.bundles.documents import documents
from kplanediag.snapshot.bundles.layout import Route
from kplanediag.snapshot.errors import SnapshotError
from kplanediag.snapshot.model import Gap, Snapshot

_START, _END = b"==== START logs for", b"==== END logs for"


def pretty_documents(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes) of each top-level JSON document: from a ``{`` line to a ``}`` line,
    both at column 0 (how kubectl, jq and json.dumps(indent=...) print); log sections skipped."""
    lines: list[bytes] = []
    start = 0
    in_logs = False
    for number, line in enumerate(handle, 1):
        if in_logs:
            in_logs = not line.startswith(_END)
        elif lines:
            lines.append(line)
            if line.rstrip() == b"}":
                yield start, b"".join(lines)
                lines = []
        elif line.startswith(_START):
            in_logs = True
        elif line.rstrip() == b"{":
            lines, start = [line], number
    if lines:
        yield start, b"".join(lines)  # cut short: the decoder says so


def read_stream(path: Path, at: datetime | None = None) -> Snapshot | bytes:
    """The dump stream as a Snapshot; or, when the file is one JSON document (a pretty-printed List
    or snapshot), that document's bytes for the ordinary reader."""
    found = Found(clusterinfo.LAYOUT)
    first: bytes | None = None
    count = 0
    try:
        with path.open("rb") as handle:
            for line, doc in pretty_documents(handle):
                count += 1
                if count == 1:
                    first = doc
                    continue
                if count == 2 and first is not None:
                    _add(found, path, 1, first)
                    first = None
                _add(found, path, line, doc)
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if count <= 1:
        return first or b""
    return found.snapshot(str(path), at=at)


def _add(found: Found, path: Path, line: int, doc: bytes) -> None:
    where = f"{path}: the document at line {line}"
    try:
        (parsed,) = documents(doc, where)
    except (SnapshotError, ValueError) as exc:
        found.gaps.append(Gap(source="input", reason=f"{exc}: left out"))
        return
    found.add_document(parsed, Route())
    found.stamp_all(doc)
