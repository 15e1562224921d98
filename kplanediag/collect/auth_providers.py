"""A kubeconfig user's ``auth-provider``: oidc's id-token and gcp's access-token while they are valid;
an expired one, or any other provider, is a CredentialError saying what to use instead."""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime
from typing import Any

from kplanediag.collect.errors import CredentialError

SUPPORTED = ("oidc", "gcp")  # kubectl since 1.26 implements only oidc; azure neither kubectl nor kplanediag
EXPIRY_MARGIN = 10.0  # seconds: client-go's oidc provider counts a token this close to its exp as expired
_REPLACEMENTS = {
    "azure": "the kubelogin exec plugin (`kubelogin convert-kubeconfig`)",
    "gcp": "the gke-gcloud-auth-plugin exec plugin",
}
_OIDC_REFRESH = (
    "kplanediag does not refresh it (a refresh can rotate the refresh-token kubectl keeps in the kubeconfig): "
    "refresh it with kubectl (any request, e.g. `kubectl version`, refreshes and saves it) or use kubelogin "
    "(`kubectl oidc-login`) as an exec plugin"
)


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def jwt_expiry(token: str) -> float | None:
    """A JWT's ``exp`` (seconds since the epoch; None: it has none); ValueError if it is no JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT (three dot-separated parts)")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"its claims are not base64url JSON: {exc}") from exc
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if exp is None:
        return None
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise ValueError(f"its exp claim {exp!r} is not a number")
    return float(exp)


def oidc_token(config: dict[str, Any], where: str, now: float | None = None) -> str:
    """The id-token, while it is valid (client-go's oidc provider)."""
    token = str(config.get("id-token") or "")
    refresh = bool(config.get("refresh-token"))
    if not token:
        hint = _OIDC_REFRESH if refresh else "log in again (kubelogin, or your identity provider's tool)"
        raise CredentialError(f"{where}: the oidc auth-provider has no id-token: {hint}")
    try:
        expiry = jwt_expiry(token)
    except ValueError as exc:
        raise CredentialError(f"{where}: the oidc auth-provider's id-token is not valid: {exc}") from exc
    if expiry is not None and expiry - EXPIRY_MARGIN <= (time.time() if now is None else now):
        hint = _OIDC_REFRESH if refresh else "it has no refresh-token either: log in again"
        raise CredentialError(f"{where}: the oidc auth-provider's id-token expired at {_when(expiry)}; {hint}")
    return token


def gcp_token(config: dict[str, Any], where: str, now: float | None = None) -> str:
    """The access-token, while it is valid; kubectl removed the gcp provider in 1.26."""
    token = str(config.get("access-token") or "")
    use = f"use {_REPLACEMENTS['gcp']} instead (`gcloud components install gke-gcloud-auth-plugin`)"
    if not token:
        raise CredentialError(f"{where}: the gcp auth-provider has no access-token (kplanediag runs no gcloud): {use}")
    stamp = config.get("expiry")
    if stamp:
        try:
            expiry = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise CredentialError(f"{where}: the gcp auth-provider's expiry {stamp!r} is not a time") from exc
        if expiry - EXPIRY_MARGIN <= (time.time() if now is None else now):
            raise CredentialError(f"{where}: the gcp auth-provider's access-token expired at {_when(expiry)}; {use}")
    return token


def provider_token(provider: Any, where: str) -> str:
    """The bearer token of a user's ``auth-provider``; raises CredentialError when there is none."""
    name = str(provider.get("name") or "") if isinstance(provider, dict) else ""
    config = provider.get("config") if isinstance(provider, dict) else None
    config = config if isinstance(config, dict) else {}
    if name == "oidc":
        return oidc_token(config, where)
    if name == "gcp":
        return gcp_token(config, where)
    instead = _REPLACEMENTS.get(name, "an exec credential plugin")
    raise CredentialError(
        f"{where}: the user's auth-provider {name or '(unnamed)'!r} is not supported (kplanediag supports "
        f"{' and '.join(SUPPORTED)}; kubectl removed azure and gcp in 1.26): use {instead} instead"
    )
