"""``kplanediag --version``: the version and the commit, read from a source checkout's git directory
(loose, packed and detached HEADs, a worktree's ``.git`` file) or baked into an installed copy."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from kplanediag import __version__, buildinfo
from kplanediag.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env)
    return proc.stdout.strip()


def test_the_source_tree_shows_its_git_commit() -> None:
    head = git(ROOT, "rev-parse", "HEAD")
    expected = f"kplanediag {__version__} (commit {head[:12]}, source checkout)"
    assert buildinfo.version_line() == expected
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == expected + "\n"


def test_head_is_read_loose_packed_detached_and_from_a_worktree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text("1")
    git(repo, "add", "f")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")
    gitdir = buildinfo.git_dir(repo)
    assert gitdir == repo / ".git"
    assert buildinfo.head_commit(gitdir) == first  # loose ref
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert buildinfo.head_commit(gitdir) == first  # packed-refs
    (repo / "f").write_text("2")
    git(repo, "commit", "-q", "-am", "two")
    second = git(repo, "rev-parse", "HEAD")
    assert buildinfo.head_commit(gitdir) == second  # a loose ref newer than the packed one
    git(repo, "checkout", "-q", "--detach", first)
    assert buildinfo.head_commit(gitdir) == first  # detached
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"), second)
    wt = buildinfo.git_dir(tmp_path / "wt")
    assert wt is not None and wt.is_dir() and (tmp_path / "wt" / ".git").is_file()
    assert buildinfo.head_commit(wt) == second  # refs/heads/side lives in the common dir
    assert buildinfo.git_dir(tmp_path) is None


def test_an_installed_copy_shows_the_commit_baked_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buildinfo, "PACKAGE", tmp_path / "site-packages" / "kplanediag")  # no .git beside it
    monkeypatch.delitem(sys.modules, "kplanediag._build_info", raising=False)
    baked = types.ModuleType("kplanediag._build_info")
    baked.COMMIT = "0123456789ab-dirty"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kplanediag._build_info", baked)
    assert buildinfo.version_line() == f"kplanediag {__version__} (commit 0123456789ab-dirty)"
    monkeypatch.setitem(sys.modules, "kplanediag._build_info", None)  # not built by setup.py: import fails
    assert buildinfo.commit_text() == "commit unknown"
