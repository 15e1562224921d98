"""kplanediag's own connection settings for one API server, as a kubeconfig context or a pod's service
account gives them: typed, frozen, read by the pool (pool.py) and the Transport."""

from __future__ import annotations

from dataclasses import dataclass, field

from kplanediag.collect.auth import Auth, NoAuth
from kplanediag.collect.impersonation import Impersonation
from kplanediag.collect.proxy import Proxy


@dataclass(frozen=True)
class TLS:
    """How the server is verified and the client proves itself; each file a path (an anonymous
    in-memory file for a kubeconfig's ``*-data``: kubeconfig.py)."""

    ca_file: str | None = None  # None: the system's CAs
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False  # insecure-skip-tls-verify
    server_name: str | None = None  # tls-server-name: verified against and sent as SNI


@dataclass(frozen=True)
class Settings:
    server: str  # as configured, without a trailing slash: may hold userinfo (never shown: public_url)
    tls: TLS = field(default_factory=TLS)
    auth: Auth = field(default_factory=NoAuth)
    proxy: Proxy | None = None  # chosen as kubectl chooses it (proxy.py)
    impersonation: Impersonation = field(default_factory=Impersonation)
