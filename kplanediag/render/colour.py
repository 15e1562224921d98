"""Colour for people at a terminal: severities and statuses of the table output, added after the
table is laid out (escape codes take no column). The CLI decides when (a TTY, no NO_COLOR)."""

from __future__ import annotations

import re

RED, YELLOW, GREEN, RESET = "\x1b[31;1m", "\x1b[33;1m", "\x1b[32m", "\x1b[0m"
_WORDS = {"CRITICAL": RED, "DOWN": RED, "WARNING": YELLOW, "DEGRADED": YELLOW, "HEALTHY": GREEN}
_TOKEN = re.compile(r"\b(" + "|".join(_WORDS) + r")\b")


def colourise(text: str) -> str:
    return _TOKEN.sub(lambda m: f"{_WORDS[m.group(1)]}{m.group(1)}{RESET}", text)
