"""What reading an input can fail with, and the words files and bundles share: in a module of its own,
so that the bundle readers and the file loader (which calls them) import neither each other."""

from __future__ import annotations


class SnapshotError(ValueError):
    """A file that cannot be read as a snapshot or a kubectl List."""


NOT_AN_OBJECT = "expected a JSON or YAML object (a snapshot or a kubectl List)"
AT_ONLY = "--at (the input holds no timestamp of its own)"  # the capture time told by --at alone
