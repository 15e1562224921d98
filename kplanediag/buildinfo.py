"""The commit kplanediag was built from, for ``--version``: baked into ``_build_info.py`` by the build
(setup.py), or read from the git directory of a source checkout without running git (kept fast)."""

from __future__ import annotations

import os
from pathlib import Path

from kplanediag import __version__

PACKAGE = Path(__file__).resolve().parent
ABBREV = 12  # as `git describe --abbrev=12`


def version_line() -> str:
    """``kplanediag 0.1.0 (commit 25cdbed71382)``; ``-dirty`` when built from a tree with changes."""
    return f"kplanediag {__version__} ({commit_text()})"


def commit_text() -> str:
    gitdir = git_dir(PACKAGE.parent)
    if gitdir is not None:  # run from a source checkout: its working tree may hold changes of its own
        head = head_commit(gitdir)
        return f"commit {head[:ABBREV]}, source checkout" if head else "commit unknown, source checkout"
    try:
        from kplanediag._build_info import COMMIT  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
    except ImportError:
        return "commit unknown"
    return f"commit {COMMIT}" if isinstance(COMMIT, str) and COMMIT else "commit unknown"


def git_dir(root: Path) -> Path | None:
    """The git directory of the work tree ``root`` (``.git`` or the ``gitdir:`` a worktree's names)."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        text = dot.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            path = Path(text.removeprefix("gitdir:").strip())
            return path if path.is_absolute() else root / path
    return None


def head_commit(gitdir: Path) -> str | None:
    """HEAD's full hash: detached, a loose ref, or a packed one (in the common dir of a worktree)."""
    try:
        head = (gitdir / "HEAD").read_text().strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head if _is_hash(head) else None
    ref = head.removeprefix("ref:").strip()
    common = _common_dir(gitdir)
    for base in dict.fromkeys((gitdir, common)):
        try:
            value = (base / ref).read_text().strip()
        except OSError:
            continue
        if _is_hash(value):
            return value
    try:
        packed = (common / "packed-refs").read_text()
    except OSError:
        return None
    for line in packed.splitlines():
        value, _, name = line.partition(" ")
        if name == ref and _is_hash(value):
            return value
    return None


def _common_dir(gitdir: Path) -> Path:
    try:
        text = (gitdir / "commondir").read_text().strip()
    except OSError:
        return gitdir
    return Path(os.path.normpath(gitdir / text))


def _is_hash(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)
