"""How each request says who it is (the ``Authorization`` header): a bearer token, a tokenFile re-read
each minute as client-go re-reads it, basic auth, or an exec plugin's token run again when it expires."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from kplanediag.collect.errors import CredentialError
from kplanediag.collect.exec_plugin import EXPIRY_MARGIN, ExecPlugin, expiry_of

TOKEN_FILE_PERIOD = 60.0  # seconds: client-go's cached file token source reads the file again after this


class Auth(Protocol):
    def header(self) -> str | None:
        """The Authorization header's value for the next request (None: send none)."""
        ...


@dataclass(frozen=True)
class NoAuth:
    def header(self) -> str | None:
        return None


@dataclass(frozen=True)
class Bearer:
    token: str = field(repr=False)

    def header(self) -> str | None:
        return f"Bearer {self.token}"


@dataclass(frozen=True)
class Basic:
    username: str
    password: str = field(repr=False)

    def header(self) -> str | None:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def read_token(path: str) -> str:
    """A token file's content without surrounding whitespace (client-go trims it); raises ValueError."""
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the token file {path}: {exc}") from exc
    if not token:
        raise ValueError(f"the token file {path} is empty")
    return token


class TokenFile:
    """``tokenFile`` (or a pod's service-account token): read now, and again when a minute old, as the
    kubelet rotates it; a later read that fails keeps the last token (or ``token``, the user's own)."""

    def __init__(self, path: str, fallback: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._token = read_token(path)
        except ValueError:
            if not fallback:
                raise
            self._token = fallback
        self._read_at = time.monotonic()

    def header(self) -> str | None:
        with self._lock:
            if time.monotonic() - self._read_at >= TOKEN_FILE_PERIOD:
                self._read_at = time.monotonic()
                with contextlib.suppress(ValueError):  # client-go keeps the token it has
                    self._token = read_token(self.path)
            return f"Bearer {self._token}"


class ExecToken:
    """An exec plugin's token, the plugin run again (within the deadline) once it has expired."""

    def __init__(self, plugin: ExecPlugin, token: str, expiry: float | None, deadline: float | None) -> None:
        self._plugin = plugin
        self._token = token
        self._expiry = expiry  # time.time(); None: never
        self._deadline = deadline  # time.monotonic() by which the run must end
        self._lock = threading.Lock()

    def header(self) -> str | None:
        with self._lock:
            if self._expiry is not None and self._expiry - EXPIRY_MARGIN <= time.time():
                left = None if self._deadline is None else max(0.1, self._deadline - time.monotonic())
                status = self._plugin.run(left)
                if not status.get("token"):
                    raise CredentialError("exec: the plugin's new answer holds no token")
                self._token, self._expiry = str(status["token"]), expiry_of(status)
            return f"Bearer {self._token}"
