"""A bundle read in one pass: every member's path is routed by the first format that claims it
(most specific first), the members routed are decoded as they stream past, and the format that
claimed the most lists is the bundle's. Nothing is unpacked to disk; no raw member is kept."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec

from kplanediag.snapshot.bundles import clusterinfo, mustgather, sonobuoy, troubleshoot
from kplanediag.snapshot.bundles.collected import Found
from kplanediag.snapshot.bundles.layout import Layout
from kplanediag.snapshot.bundles.tree import TooLarge, TreeError, walk_archive, walk_directory
from kplanediag.snapshot.errors import SnapshotError
from kplanediag.snapshot.model import Gap, Snapshot

LAYOUTS: tuple[Layout, ...] = (troubleshoot.LAYOUT, sonobuoy.LAYOUT, mustgather.LAYOUT, clusterinfo.LAYOUT)
FORMATS = (
    "a kplanediag snapshot; a kubectl List (JSON or YAML, one or more documents); "
    "kubectl cluster-info dump (its output, or its --output-directory); an OpenShift must-gather "
    "(directory, .tar, .tar.gz, .tar.xz); a troubleshoot.sh support bundle (.tar.gz or directory); "
    "sonobuoy results (.tar.gz or directory)"
)


def read_bundle(path: Path, at: datetime | None = None) -> Snapshot:
    """A bundle directory or archive as a Snapshot; a SnapshotError naming the formats read when it
    is none of them."""
    found = {layout.name: Found(layout) for layout in LAYOUTS}
    walk = walk_directory(path) if path.is_dir() else walk_archive(path)
    seen = 0
    cut: str | None = None
    try:
        for member, read in walk:
            seen += 1
            parts = tuple(member.split("/"))
            for layout in LAYOUTS:
                route = layout.route(parts)
                if route is not None:
                    try:
                        found[layout.name].add(member, route, read())
                    except TooLarge as exc:  # a named gap; past the bundle's budget, every later one too
                        found[layout.name].add(member, route, None, str(exc))
                    break
    except TreeError as exc:
        if not seen:
            raise SnapshotError(f"{path}: not a readable archive ({exc}). kplanediag reads: {FORMATS}") from exc
        cut = f"the archive is cut short or corrupt after {seen} files ({exc})"
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from exc
    best = max(found.values(), key=lambda f: (f.read, f.members))
    if best.members and not best.read:
        why = best.gaps[0].reason if best.gaps else "no file of it is JSON or YAML"
        raise SnapshotError(
            f"{path} looks like a {best.layout.name}, but none of its files reads ({why}). kplanediag reads: {FORMATS}"
        )
    if not best.members:
        if cut is not None:
            raise SnapshotError(f"{path}: {cut}, before any file kplanediag reads. kplanediag reads: {FORMATS}")
        what = "a directory" if path.is_dir() else "an archive"
        raise SnapshotError(f"{path} is {what} of none of the formats kplanediag reads: {FORMATS}")
    snap = best.snapshot(str(path), cut, at)
    if cut is None:
        return snap
    return msgspec.structs.replace(snap, gaps=(*snap.gaps, Gap(source="bundle", reason=cut)))
