"""A progress line on stderr while a live check runs, for people at a terminal: shown only when
stderr is a TTY and the check has taken over a second, erased when it ends; never in pipes or logs."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

DELAY = 1.0
FRAMES = "|/-\\"


@contextmanager
def progress(what: str, stream: TextIO | None = None, delay: float = DELAY) -> Iterator[None]:
    out = stream or sys.stderr
    if not out.isatty() or threading.current_thread() is not threading.main_thread():  # fleets: no spinners
        yield
        return
    stop = threading.Event()
    shown = threading.Event()

    def spin() -> None:
        if stop.wait(delay):
            return
        shown.set()
        frame = 0
        while not stop.is_set():
            out.write(f"\r{FRAMES[frame % len(FRAMES)]} kplanediag: {what}")
            out.flush()
            frame += 1
            stop.wait(0.1)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(1)
        if shown.is_set():
            out.write("\r\x1b[K")
            out.flush()
