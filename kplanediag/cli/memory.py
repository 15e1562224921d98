"""The last known state on disk: each successful live check's snapshot, one file per cluster, read
when the API server is unreachable (or --baseline); off with --no-last-known."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kplanediag.snapshot import Snapshot

# One file per cluster (server URL and context) in the user's cache directory
# (``$XDG_CACHE_HOME/kplanediag/last-known``, mode 0600 in a 0700 directory), at most MAX_FILES files and
# MAX_BYTES each. Opt out with --no-last-known or KPLANEDIAG_NO_LAST_KNOWN=1.
MAX_FILES = 20  # clusters remembered; the oldest is dropped beyond
MAX_BYTES = 256 * 2**20  # a bigger snapshot is not kept (30,000 pods are about 30 MB)
ENV = "KPLANEDIAG_NO_LAST_KNOWN"


def enabled(flag_off: bool) -> bool:
    return not flag_off and os.environ.get(ENV, "") in ("", "0")


def directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kplanediag" / "last-known"


def path_for(server: str | None, context: str | None) -> Path:
    key = f"{server or '-'}|{context or ''}"
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", (context or server or "cluster"))[:40].strip("-")
    return directory() / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.json"


def remember(snapshot: Snapshot, context: str | None) -> Path | None:
    """Keep this live snapshot as the cluster's last known state; None when it is not kept."""
    from kplanediag.snapshot.writer import TooBig, write_snapshot  # noqa: PLC0415

    if not snapshot.reachable or snapshot.source != "live":
        return None
    target = path_for(snapshot.server, context)
    partial = target.with_suffix(".partial")
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            write_snapshot(snapshot, handle, MAX_BYTES)  # in pieces: never the whole file in memory
        partial.replace(target)  # a reader never sees half a file
        files = sorted(target.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[MAX_FILES:]:
            old.unlink(missing_ok=True)
    except TooBig:
        partial.unlink(missing_ok=True)  # too big to keep: the last one kept stays
        return None
    except OSError:
        return None  # a cache that cannot be written never fails a check
    return target


def recall(server: str | None, context: str | None) -> tuple[Snapshot, str] | None:
    from kplanediag.snapshot import SnapshotError, load_snapshot  # noqa: PLC0415

    path = path_for(server, context)
    if not path.exists():
        return None
    try:
        return load_snapshot(path), "last successful check"
    except SnapshotError:
        return None
