"""The bearer token of ``serve --token-file``: read at start, and again when the file changes (a
mounted Secret is updated in place), so that rotating it needs no restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

RECHECK_SECONDS = 1.0
"""How often, at most, a request looks at the file: a stat, and a read only when it changed."""


def read_token(path: Path) -> bytes:
    """The token in ``path``, stripped; OSError or ValueError (empty) for the caller to word."""
    token = path.read_bytes().strip()
    if not token:
        raise ValueError(f"{path} is empty")
    return token


class TokenFile:
    """The token a request must carry: the file's, as of at most RECHECK_SECONDS ago. A file that
    becomes unreadable or empty keeps the previous token (and says so once), never none."""

    def __init__(self, path: Path, log: Callable[[str], None], recheck: float = RECHECK_SECONDS) -> None:
        self.path = path
        self._log = log
        self._recheck = recheck
        self._lock = threading.Lock()
        self._key = self._stat()
        self._token = read_token(path)
        self._checked = time.monotonic()
        self._complained: object = None

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()  # follows the symlink a Secret volume swaps
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def current(self) -> bytes:
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self._recheck:
                return self._token
            self._checked = now
            key = self._stat()
            if key == self._key:
                return self._token
            try:
                token = read_token(self.path)
            except (OSError, ValueError) as exc:
                if self._complained != key:
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    self._log(f"--token-file {self.path}: {why}; the previous token stays in use")
                    self._complained = key
                return self._token
            self._key, self._complained = key, None
            if token != self._token:
                self._token = token
                self._log(f"--token-file {self.path} changed: the new token is in use")
            return self._token
