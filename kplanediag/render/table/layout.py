"""Laying text out for the terminal: table columns fitted to the width, wrapped lines, cut cells."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tabulate import tabulate

from kplanediag.render.escape import terminal

WIDTH = 100  # the width every table's column widths are given for, and the default
MIN_WIDTH, MAX_WIDTH = 60, 200
_width: ContextVar[int] = ContextVar("width", default=WIDTH)
_DIGEST = re.compile(r"((?:sha256:)?(?<![0-9a-f])[0-9a-f]{12})[0-9a-f]{52}(?![0-9a-f])")


@contextmanager
def columns(width: int) -> Iterator[None]:
    """Lay tables out for ``width`` columns (kept within MIN_WIDTH..MAX_WIDTH) inside the block."""
    token = _width.set(max(MIN_WIDTH, min(MAX_WIDTH, width)))
    try:
        yield
    finally:
        _width.reset(token)


def short_digest(text: str) -> str:
    """``image@sha256:<64 hex>`` -> ``image@sha256:<12 hex>`` (a bare 64-hex digest likewise), as
    docker and crictl show them."""
    return _DIGEST.sub(r"\1", text)


CUT_AT = 4000
"""A cell or wrapped line longer than this (in characters) is cut, saying so: laying out text is
not linear in its length (a 1 MiB message took 22 s); -o json has the whole text."""


def cut(text: str) -> str:
    """``text`` made safe for a terminal (escape.terminal), cut at CUT_AT characters, saying so."""
    if len(text) > CUT_AT:
        text = f"{text[:CUT_AT]} ... [cut: {len(text) - CUT_AT} more characters; -o json has them all]"
    return terminal(text.replace("\r\n", "\n").replace("\t", " "))  # a lone CR stays visible: \x0d


def table(rows: list[list[str]], headers: list[str], widths: list[int]) -> str:
    """``widths`` are for WIDTH columns; on a narrower terminal the widest column gives a column at a
    time (none below 10), on a wider one the widest (the free text) takes the difference."""
    width = _width.get()
    safe = [[cut(x) for x in row] for row in rows]
    scaled = list(widths)
    if width > WIDTH:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        scaled[widest] += width - WIDTH
    # a column keeps room for its longest word (a component's name is not split) and 10 at least
    floor = [
        min(w, max([10, len(h), *(len(word) for row in safe for word in row[i].split())]))
        for i, (w, h) in enumerate(zip(widths, headers, strict=True))
    ]
    for _ in range(WIDTH - width):
        shrinkable = [i for i in range(len(scaled)) if scaled[i] > floor[i]]
        if not shrinkable:
            break
        scaled[max(shrinkable, key=lambda i: scaled[i])] -= 1
    return tabulate(safe, headers=headers, tablefmt="simple", maxcolwidths=scaled, disable_numparse=True)


def wrap(prefix: str, text: str) -> list[str]:
    text = cut(text)
    width = _width.get()
    # names are not split at their hyphens (kube-controller-manager)
    lines = textwrap.wrap(
        text, width, initial_indent=prefix, subsequent_indent=" " * len(prefix), break_on_hyphens=False
    )
    return lines or [prefix]


def heading(title: str) -> str:
    return f"\n== {title} " + "=" * max(0, _width.get() - len(title) - 4)
