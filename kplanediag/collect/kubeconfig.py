"""Loading a kubeconfig with the official client, made safe for incidents.

- Key material never touches the disk: the client writes ``client-key-data`` (and certificates) to
  temporary files and removes them only at a normal exit, so a SIGTERM left a private key in /tmp.
  Here each such file is an anonymous in-memory file (Linux ``memfd``), opened by path through
  ``/proc/self/fd``; it vanishes with the process however the process ends.
- A failing exec credential plugin is an error naming the plugin's message: the client logs it on
  the root logger (a bare ``ERROR:root:`` line) and carries on without credentials. A plugin that
  does not answer is an error at the run's deadline (the client would wait for it for ever).
- Every way a kubeconfig can be unusable is a ConfigurationError with the reason.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from kplanediag.collect.errors import ConfigurationError, CredentialError
from kplanediag.snapshot.credentials import public_url, scrub

_LOCK = threading.Lock()
_MEMORY_FILES: dict[bytes, tuple[int, str]] = {}  # content -> (fd, path): kept open for the process


def memory_file(content: str | bytes, *_args: Any, **_kwargs: Any) -> str:
    """A path that reads ``content`` and is backed by memory only (the client's temp-file hook)."""
    data = content.encode() if isinstance(content, str) else bytes(content)
    with _LOCK:
        if data not in _MEMORY_FILES:
            fd = os.memfd_create("kplanediag", os.MFD_CLOEXEC)
            os.write(fd, data)
            _MEMORY_FILES[data] = (fd, f"/proc/{os.getpid()}/fd/{fd}")
        return _MEMORY_FILES[data][1]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def client_errors() -> Iterator[list[str]]:
    """Collect what the official client logs as errors (instead of printing ``ERROR:root:``)."""
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.messages
    finally:
        root.removeHandler(handler)


def load(load_config: Callable[[], None], kube_config_module: Any, where: str, timeout: float | None = None) -> None:
    """Run the client's loader with in-memory temp files and its logged errors turned into raises,
    within ``timeout`` seconds: it runs an exec credential plugin, and waits for it without a bound."""
    original = kube_config_module._create_temp_file_with_content
    if sys.platform.startswith("linux") and hasattr(os, "memfd_create"):
        kube_config_module._create_temp_file_with_content = memory_file
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            load_config()
            outcome.append(None)
        except BaseException as exc:  # re-raised in the calling thread
            outcome.append(exc)

    with client_errors() as errors:
        loader = threading.Thread(target=run, daemon=True)
        loader.start()
        loader.join(timeout)
    if loader.is_alive():  # a hung plugin: the hook stays (the loader may still write key files)
        raise CredentialError(
            f"cannot get credentials for {where}: the exec credential plugin did not answer within {timeout:.1f}s "
            "(what was left of the run's deadline)"
        )
    kube_config_module._create_temp_file_with_content = original
    if outcome and outcome[0] is not None:
        raise outcome[0]
    if errors:
        raise CredentialError(f"cannot get credentials for {where}: {'; '.join(errors)}")


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


# auth-provider names the official client implements (kube_config.py): oidc (the id-token, refreshed
# with the refresh-token from the issuer) and gcp (an access-token, refreshed with cmd-path or
# google-auth). kubectl since 1.26 implements only oidc; azure is implemented by neither.
AUTH_PROVIDERS = ("oidc", "gcp")
_REPLACEMENTS = {
    "azure": "the kubelogin exec plugin (`kubelogin convert-kubeconfig`)",
    "gcp": "the gke-gcloud-auth-plugin exec plugin",
}


def check_auth_provider(user: dict[str, Any], where: str) -> None:
    """A user's ``auth-provider`` must be one the official client implements: the client skips any
    other silently, and the run would end in a 401 that does not say why."""
    provider = user.get("auth-provider")
    if not provider:
        return
    name = str(provider.get("name") or "") if isinstance(provider, dict) else ""
    config = provider.get("config") or {}
    if name == "gcp" and not (isinstance(config, dict) and (config.get("access-token") or config.get("cmd-path"))):
        import importlib.util  # noqa: PLC0415

        if importlib.util.find_spec("google.auth") is None:
            raise CredentialError(
                f"{where}: the gcp auth-provider has no access-token or cmd-path, and the google-auth "
                f"package it would refresh with is not installed: use {_REPLACEMENTS['gcp']} instead"
            )
    if name in AUTH_PROVIDERS:
        return
    instead = _REPLACEMENTS.get(name, "an exec credential plugin")
    raise CredentialError(
        f"{where}: the user's auth-provider {name or '(unnamed)'!r} is not supported (kplanediag supports "
        f"{' and '.join(AUTH_PROVIDERS)}, as the official Python client does; kubectl removed azure and gcp "
        f"in 1.26): use {instead} instead"
    )
