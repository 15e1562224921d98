"""A kubeconfig entry's files and data as paths, ``*-data`` in anonymous in-memory files (Linux memfd:
no key is ever on disk, whatever ends the process), and the cluster's server URL checked."""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import threading
from typing import Any
from urllib.parse import urlsplit

from kplanediag.collect.errors import ConfigurationError
from kplanediag.snapshot.credentials import public_url, scrub

_LOCK = threading.Lock()
_MEMORY_FILES: dict[bytes, str] = {}  # content -> path: each kept open (or kept) for the process
_KEEP: list[Any] = []  # open temporary files (not Linux): deleted when closed, at exit


def _memfd_available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "memfd_create")


def memory_file(content: str | bytes) -> str:
    """A path that reads ``content``, backed by memory only on Linux (elsewhere a private temporary
    file, removed at exit, as the official client's were)."""
    data = content.encode() if isinstance(content, str) else bytes(content)
    with _LOCK:
        if data not in _MEMORY_FILES:
            if _memfd_available():
                fd = os.memfd_create("kplanediag", os.MFD_CLOEXEC)
                os.write(fd, data)
                _MEMORY_FILES[data] = f"/proc/{os.getpid()}/fd/{fd}"
            else:  # pragma: no cover (macOS)
                handle = tempfile.NamedTemporaryFile(prefix="kplanediag-", delete=True)  # noqa: SIM115
                handle.write(data)
                handle.flush()
                _KEEP.append(handle)
                _MEMORY_FILES[data] = handle.name
        return _MEMORY_FILES[data]


def file_or_data(entry: dict[str, Any], key: str, base: str | None) -> str | None:
    """The path of ``key``'s file: ``<key>-data`` (base64) in memory when set, else ``<key>`` resolved
    from the directory ``base`` of the kubeconfig file that holds the entry, which must exist
    (FileNotFoundError; a ``-data`` that is not base64: binascii.Error, a ValueError)."""
    data = entry.get(f"{key}-data")
    if data:
        return memory_file(base64.standard_b64decode(str(data).encode()))
    name = entry.get(key)
    if not name:
        return None
    path = os.path.normpath(os.path.join(base or "", os.path.expanduser(str(name))))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"File does not exist: {path}")
    return path


def check_server(host: str, where: str) -> None:
    """The cluster entry's ``server`` must be an http(s) URL with a host."""
    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError as exc:
        raise ConfigurationError(
            f"{where}: the cluster's server {public_url(host)!r} is not a valid URL: {scrub(str(exc))}"
        ) from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(
            f"{where}: the cluster's server {public_url(host)!r} is not an http(s) URL with a host"
        )
