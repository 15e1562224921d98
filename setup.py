"""Build hooks (the rest is in pyproject.toml): the commit a wheel or sdist is built from, written into
kplanediag/_build_info.py (gitignored) so an installed ``kplanediag --version`` can name it.

Built from a git work tree the commit is ``git describe --always --dirty --abbrev=12`` (tags
excluded: the bare hash, ``-dirty`` with changes to tracked files). A wheel built from the sdist,
where there is no git, keeps the file the sdist carries.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
INFO = Path("kplanediag") / "_build_info.py"


def described_commit() -> str | None:
    if not (ROOT / ".git").exists():
        return None
    try:
        proc = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12", "--exclude=*"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None


def write_info(base: Path) -> None:
    commit = described_commit()
    if commit is None:
        return
    target = base / INFO
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f'"""Written by setup.py at build time: the commit this copy was built from."""\n\nCOMMIT = {commit!r}\n'
    )


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):  # an editable install reads the git directory itself
            write_info(Path(self.build_lib))


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        write_info(Path(base_dir))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
