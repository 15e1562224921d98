"""Terminal manners: colour only for a terminal (never in pipes, never with NO_COLOR or
--no-color), and a progress line on stderr only when it is a terminal and the check is slow."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import time

from kplanediag.cli.progress import progress
from tests.unit.factories import DATA

SILENCED = str(DATA / "lab-worker-silenced.json")
ESC = "\x1b["


def run_in_a_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """kplanediag with its stdout on a pseudo-terminal, as a person at a shell runs it."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kplanediag", *args], stdout=follower, stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(30)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_colour_on_a_terminal_only() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert ESC + "31;1mCRITICAL" in run_in_a_terminal("check", "--from", SILENCED, env=env)
    assert ESC not in run_in_a_terminal("check", "--from", SILENCED, env={"NO_COLOR": "1"})
    assert ESC not in run_in_a_terminal("check", "--from", SILENCED, "--no-color")
    piped = subprocess.run(
        [sys.executable, "-m", "kplanediag", "check", "--from", SILENCED], capture_output=True, text=True, check=False
    )
    assert "CRITICAL" in piped.stdout and ESC not in piped.stdout
    forced = subprocess.run(
        [sys.executable, "-m", "kplanediag", "check", "--from", SILENCED, "--color", "always", "-o", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ESC not in forced.stdout  # documents are never coloured


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_after_the_delay_on_a_terminal_and_is_erased() -> None:
    tty = Terminal()
    with progress("checking https://example", tty, delay=0.05):
        time.sleep(0.4)
    text = tty.getvalue()
    assert "kplanediag: checking https://example" in text and text.endswith("\r\x1b[K")


def test_no_progress_for_a_quick_check_or_in_a_pipe() -> None:
    tty = Terminal()
    with progress("checking", tty, delay=5):
        pass
    assert tty.getvalue() == ""
    pipe = io.StringIO()
    with progress("checking", pipe, delay=0):
        time.sleep(0.2)
    assert pipe.getvalue() == ""
