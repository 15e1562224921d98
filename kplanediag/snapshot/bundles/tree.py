"""A bundle's files, whether a directory or a tar archive (plain, gzip, xz, bzip2), walked member by
member: the archive is streamed once and never unpacked to disk; only the members asked for are read."""

from __future__ import annotations

import lzma
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from kplanediag.snapshot.limits import BUNDLE_SHARE, max_input, too_large

# magic numbers of the archives read: gzip, xz, bzip2, and tar's "ustar" at offset 257
_COMPRESSED = (b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh")

Read = Callable[[], bytes | None]
"""Reads the current member (None: unreadable); valid only until the walk moves on. A member larger
than the input limit, or one that would take the bundle past BUNDLE_SHARE times it, raises TooLarge."""


class TooLarge(ValueError):
    """A member past a limit (limits.py): its message says which and how to raise it."""


_BROKEN = (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error)  # zlib/lzma: not OSError


class TreeError(OSError):
    """The archive is cut short or corrupt past its start."""


def is_archive(head: bytes) -> bool:
    """Whether a file's first bytes are those of a tar archive, compressed or not."""
    return head.startswith(_COMPRESSED) or head[257:262] == b"ustar"


def _clean(path: str) -> str:
    return "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))


class Budget:
    """The bytes a bundle's members may still take (BUNDLE_SHARE times the input limit in all)."""

    def __init__(self) -> None:
        self.limit = max_input()
        self.left = self.limit * BUNDLE_SHARE

    def take(self, name: str, size: int) -> None:
        if size > self.limit:
            raise TooLarge(too_large(f"the bundle's file {name}", self.limit))
        if size > self.left:
            raise TooLarge(too_large("the bundle's files kplanediag reads, in all,", self.limit * BUNDLE_SHARE))
        self.left -= size


def walk_directory(root: Path) -> Iterator[tuple[str, Read]]:
    """Every regular file under ``root``, by relative path, in sorted order; symlinks are not followed."""
    budget = Budget()
    for here, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = Path(here, name)
            if full.is_symlink() or not full.is_file():
                continue

            rel = _clean(str(full.relative_to(root)))

            def read(full: Path = full, name: str = rel) -> bytes | None:
                try:
                    budget.take(name, full.stat().st_size)
                    with full.open("rb") as handle:
                        data = handle.read(budget.limit + 1)  # the file may have grown meanwhile
                except OSError:
                    return None
                if len(data) > budget.limit:
                    raise TooLarge(too_large(f"the bundle's file {name}", budget.limit))
                return data

            yield rel, read


def walk_archive(path: Path) -> Iterator[tuple[str, Read]]:
    """The regular files of a tar archive in archive order, streamed (``r|*``): one pass, a bounded
    buffer, any compression tarfile knows."""
    budget = Budget()
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                if not member.isfile():
                    continue

                def read(member: tarfile.TarInfo = member) -> bytes | None:
                    budget.take(member.name, member.size)
                    try:
                        handle = archive.extractfile(member)
                        return handle.read() if handle is not None else None
                    except _BROKEN as exc:
                        raise TreeError(f"{member.name}: {exc or type(exc).__name__}") from exc

                yield _clean(member.name), read
    except TreeError:
        raise
    except _BROKEN as exc:
        raise TreeError(str(exc) or type(exc).__name__) from exc
