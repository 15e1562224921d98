"""A bundle's files, whether a directory or a tar archive (plain, gzip, xz, bzip2), walked member by
member: the archive is streamed once and never unpacked to disk; only the members asked for are read."""

from __future__ import annotations

import lzma
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

MAX_MEMBER_BYTES = 2 * 2**30  # one file of a bundle larger than this is not read (a gap says so)
# magic numbers of the archives read: gzip, xz, bzip2, and tar's "ustar" at offset 257
_COMPRESSED = (b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh")

Read = Callable[[], bytes | None]
"""Reads the current member (None: too large, or unreadable); valid only until the walk moves on."""
_BROKEN = (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error)  # zlib/lzma: not OSError


class TreeError(OSError):
    """The archive is cut short or corrupt past its start."""


def is_archive(head: bytes) -> bool:
    """Whether a file's first bytes are those of a tar archive, compressed or not."""
    return head.startswith(_COMPRESSED) or head[257:262] == b"ustar"


def _clean(path: str) -> str:
    return "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))


def walk_directory(root: Path) -> Iterator[tuple[str, Read]]:
    """Every regular file under ``root``, by relative path, in sorted order; symlinks are not followed."""
    for here, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = Path(here, name)
            if full.is_symlink() or not full.is_file():
                continue

            def read(full: Path = full) -> bytes | None:
                try:
                    return None if full.stat().st_size > MAX_MEMBER_BYTES else full.read_bytes()
                except OSError:
                    return None

            yield _clean(str(full.relative_to(root))), read


def walk_archive(path: Path) -> Iterator[tuple[str, Read]]:
    """The regular files of a tar archive in archive order, streamed (``r|*``): one pass, a bounded
    buffer, any compression tarfile knows."""
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                if not member.isfile():
                    continue

                def read(member: tarfile.TarInfo = member) -> bytes | None:
                    if member.size > MAX_MEMBER_BYTES:
                        return None
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
