"""How much of any one input is read before it is decoded (``--max-input``, KPLANEDIAG_MAX_INPUT);
past a limit nothing is decoded: a list becomes a named gap, a file or a /version answer exit 3."""

from __future__ import annotations

import os
import re

# The limit holds for one API answer (as sent and as decoded), one file given to ``--from``, one member of a
# bundle; a whole bundle may hold BUNDLE_SHARE times that, one YAML document 1/YAML_SHARE of it (PyYAML builds
# several bytes of objects per byte of text). Each refusal names the limit and how to raise it.
DEFAULT = 1 << 30  # 1 GiB: a 150,000-pod JSON List with managedFields is about this
MINIMUM = 1 << 20
ENV = "KPLANEDIAG_MAX_INPUT"
BUNDLE_SHARE = 4
YAML_SHARE = 8
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30}
_SIZE = re.compile(r"\s*(\d+)\s*([kmg]i?)?b?\s*", re.IGNORECASE)


class LimitError(ValueError):
    """A size that cannot be a limit (not a size, or below MINIMUM)."""


def parse_size(text: str) -> int:
    """``512Mi``, ``1Gi``, ``2G``, ``1073741824`` (bytes); at least 1 MiB."""
    m = _SIZE.fullmatch(text)
    if m is None:
        raise LimitError(f"{text!r} is not a size (such as 512Mi, 2Gi or a number of bytes)")
    size = int(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    if size < MINIMUM:
        raise LimitError(f"{text!r} is less than 1Mi")
    return size


def human(size: int) -> str:
    for unit, factor in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size} bytes"


_configured: int | None = None


def set_max_input(size: int | None) -> None:
    """The limit for this process (the CLI's --max-input); None: the environment's or DEFAULT."""
    global _configured
    _configured = size


def max_input() -> int:
    if _configured is not None:
        return _configured
    try:
        return parse_size(os.environ[ENV])
    except (KeyError, LimitError):
        return DEFAULT


def too_large(what: str, limit: int) -> str:
    """The words of every limit's message: what, the limit, how to raise it (``limit`` is derived
    from the input limit: the suggestion doubles that)."""
    return (
        f"{what} is larger than its limit of {human(limit)}: not read (raise the input limit with "
        f"--max-input or {ENV}, e.g. --max-input {human(max_input() * 2)})"
    )
