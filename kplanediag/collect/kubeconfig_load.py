"""One kubeconfig context, or a pod's service account, read into Settings: the cluster's TLS, the
user's credentials (auth-provider, then token/tokenFile, then exec, then basic auth), proxy, impersonation."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from kplanediag.collect import auth_providers, impersonation, kubeconfig_files, proxy
from kplanediag.collect.auth import Auth, Basic, Bearer, ExecToken, NoAuth, TokenFile
from kplanediag.collect.errors import ConfigurationError, CredentialError
from kplanediag.collect.exec_plugin import ExecError, ExecPlugin, expiry_of
from kplanediag.collect.kubeconfig import check_server, file_or_data, memory_file
from kplanediag.collect.settings import TLS, Settings

DEFAULT_LOCATION = "~/.kube/config"
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"  # token and ca.crt, in every pod


def _named(merged: kubeconfig_files.Merged, section: str, name: str) -> tuple[dict[str, Any], str]:
    """(the entry's value, its file) of the ``section`` entry called ``name``."""
    found = merged.entries[section].get(name)
    if found is None:
        raise ValueError(f"Invalid kube-config file. Expected object with name {name} in {section} list")
    entry, path = found
    value = entry.get(section[:-1])  # clusters[].cluster, contexts[].context, users[].user
    if not isinstance(value, dict):
        raise ValueError(f"Invalid kube-config file. Expected key {section[:-1]} in {section}[name={name}]")
    return value, path


def _user(merged: kubeconfig_files.Merged, ctx: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The context's user entry and its file; none named, or none of that name: no credentials (as the
    official client read it)."""
    name = str(ctx.get("user") or "")
    if name not in merged.entries["users"]:
        return {}, None
    return _named(merged, "users", name)


def _base(path: str | None) -> str:
    return os.path.dirname(os.path.abspath(path)) if path else ""


def load(paths: str, context: str | None, where: str, deadline: float | None = None) -> Settings:
    """The Settings of ``context`` (else the current context) in the merged kubeconfig ``paths``; every
    way it cannot be used is a ConfigurationError (CredentialError for credentials) naming ``where``."""
    try:
        merged = kubeconfig_files.read(paths)
        name = context or merged.current_context
        if not name:
            raise ValueError("no context given and no current-context set")
        ctx, _ = _named(merged, "contexts", name)
        if not ctx.get("cluster"):
            raise ValueError(f"Invalid kube-config file. Expected key cluster in contexts[name={name}]/context")
        cluster, cluster_file = _named(merged, "clusters", str(ctx["cluster"]))
        user, user_file = _user(merged, ctx)
        server = str(cluster.get("server") or "").rstrip("/")
        auth, exec_pair = _auth(user, user_file, cluster, cluster_file, where, deadline)
        tls = _tls(server, cluster, cluster_file, user, user_file, exec_pair)
        identity = impersonation.from_user(user, where)
    except ConfigurationError:
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:  # binascii.Error is a ValueError
        raise ConfigurationError(f"cannot use {where}: {exc}") from exc
    check_server(server, where)
    route = proxy.choose(server, cluster.get("proxy-url"), os.environ)
    return Settings(server, tls, auth, route, identity)


def _tls(
    server: str,
    cluster: dict[str, Any],
    cluster_file: str,
    user: dict[str, Any],
    user_file: str | None,
    exec_pair: tuple[str, str] | None,
) -> TLS:
    """CA and client certificate (read only for an https server, as the official client read them)."""
    insecure = bool(cluster.get("insecure-skip-tls-verify"))
    name = str(cluster["tls-server-name"]) if cluster.get("tls-server-name") else None
    if not server.startswith("https"):
        return TLS(insecure=insecure, server_name=name)
    ca = file_or_data(cluster, "certificate-authority", _base(cluster_file))
    cert, key = exec_pair or (
        file_or_data(user, "client-certificate", _base(user_file)),
        file_or_data(user, "client-key", _base(user_file)),
    )
    return TLS(ca_file=ca, cert_file=cert, key_file=key, insecure=insecure, server_name=name)


def _auth(
    user: dict[str, Any],
    user_file: str | None,
    cluster: dict[str, Any],
    cluster_file: str,
    where: str,
    deadline: float | None,
) -> tuple[Auth, tuple[str, str] | None]:
    """The user's credentials in the official client's order, and an exec plugin's (cert, key) if it gave them."""
    if user.get("auth-provider"):
        return Bearer(auth_providers.provider_token(user["auth-provider"], where)), None
    if user.get("tokenFile"):
        path = os.path.normpath(os.path.join(_base(user_file), os.path.expanduser(str(user["tokenFile"]))))
        return TokenFile(path, str(user.get("token") or "") or None), None
    if user.get("token"):
        return Bearer(str(user["token"])), None
    if user.get("exec"):
        try:
            return _exec(user["exec"], user_file, cluster, cluster_file, deadline)
        except ExecError as exc:
            raise CredentialError(f"cannot get credentials for {where}: {exc}") from exc
    if "username" in user and "password" in user:
        return Basic(str(user["username"]), str(user["password"])), None
    return NoAuth(), None


def _exec(
    config: Any, user_file: str | None, cluster: dict[str, Any], cluster_file: str, deadline: float | None
) -> tuple[Auth, tuple[str, str] | None]:
    if not isinstance(config, dict):
        raise ExecError("exec: the user's exec is not a map")
    plugin = ExecPlugin(config, user_file, cluster, cluster_file)
    status = plugin.run(None if deadline is None else max(0.1, deadline - time.monotonic()))
    token: Auth = NoAuth()
    if status.get("token"):
        token = ExecToken(plugin, str(status["token"]), expiry_of(status), deadline)
    if status.get("clientCertificateData"):  # PEM, not base64
        return token, (memory_file(str(status["clientCertificateData"])), memory_file(str(status["clientKeyData"])))
    return token, None


def in_cluster(environ: Mapping[str, str], root: str = SERVICE_ACCOUNT) -> Settings:
    """A pod's service account: the ``kubernetes`` Service from the kubelet's variables, its CA and its
    token (read again each minute: the kubelet rotates it); raises ConfigurationError."""
    where = "the in-cluster service account"
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigurationError(f"cannot use {where}: Service host/port is not set.")
    server = "https://" + (f"[{host}]" if ":" in host or "%" in host else host) + f":{port}"
    ca = os.path.join(root, "ca.crt")
    try:
        if not os.path.isfile(ca) or not os.path.getsize(ca):
            raise ValueError(f"Service certification file {ca} does not exist or is empty.")
        token = TokenFile(os.path.join(root, "token"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot use {where}: {exc}") from exc
    check_server(server, where)
    return Settings(server, TLS(ca_file=ca), token, proxy.choose(server, None, environ))
