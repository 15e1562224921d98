"""Which proxy a request to the API server goes through, chosen as kubectl chooses it.

client-go: the cluster's ``proxy-url`` wins (http, https or socks5; NO_PROXY does not apply to
it); without one, Go's ``http.ProxyFromEnvironment``: HTTPS_PROXY (or https_proxy) for an https
server, HTTP_PROXY for http, never ALL_PROXY; NO_PROXY entries are domains (``foo.com`` matches it
and its subdomains, ``.foo.com`` only subdomains), IPs, CIDRs, each optionally with a port, or
``*``; and a server on localhost or a loopback address is never proxied from the environment.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from kplanediag.collect.errors import ConfigurationError
from kplanediag.snapshot.credentials import public_url

SCHEMES = ("http", "https", "socks5")


@dataclass(frozen=True)
class Proxy:
    url: str
    origin: str  # "proxy-url" (the kubeconfig's cluster) or the environment variable's name


def _env(environ: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        if environ.get(name):
            return name, environ[name]
    return None


def _parse(value: str, origin: str) -> str:
    """Go's parseProxy: a value without a known scheme is tried as ``http://value``."""
    parts = urlsplit(value)
    if parts.scheme not in SCHEMES or not parts.hostname:
        parts = urlsplit("http://" + value)
    try:
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError as exc:
        raise ConfigurationError(f"{origin} {public_url(value)!r} is not a valid proxy URL: {exc}") from exc
    if not parts.hostname:
        raise ConfigurationError(f"{origin} {public_url(value)!r} is not a valid proxy URL")
    return parts.geturl()


def choose(server: str, proxy_url: str | None, environ: Mapping[str, str]) -> Proxy | None:
    """The proxy for ``server`` (None: connect directly)."""
    if proxy_url:
        scheme = urlsplit(proxy_url).scheme
        if scheme not in SCHEMES:
            raise ConfigurationError(
                f"the cluster's proxy-url {public_url(proxy_url)!r}: scheme {scheme or '(none)'!r} is not supported "
                f"(kubectl supports {', '.join(SCHEMES)})"
            )
        return Proxy(_parse(proxy_url, "the cluster's proxy-url"), "proxy-url")
    parts = urlsplit(server)
    if parts.scheme == "https":
        found = _env(environ, "HTTPS_PROXY", "https_proxy")
    else:
        found = None if environ.get("REQUEST_METHOD") else _env(environ, "HTTP_PROXY", "http_proxy")
    if found is None:
        return None
    host = (parts.hostname or "").lower()
    port = str(parts.port or (443 if parts.scheme == "https" else 80))
    no_proxy = (_env(environ, "NO_PROXY", "no_proxy") or ("", ""))[1]
    if not use_proxy(host, port, no_proxy):
        return None
    return Proxy(_parse(found[1], found[0]), found[0])


def use_proxy(host: str, port: str, no_proxy: str) -> bool:
    """Go's httpproxy useProxy: False for loopback hosts and for hosts NO_PROXY matches."""
    if host == "localhost":
        return False
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None and ip.is_loopback:
        return False
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return False
        if _matches(entry, host, port, ip):
            return False
    return True


def _matches(entry: str, host: str, port: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    if "/" in entry:  # a CIDR
        try:
            return ip is not None and ip in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    name, entry_port = entry, ""
    if entry.startswith("["):  # [v6]:port or [v6]
        name, _, rest = entry[1:].partition("]")
        entry_port = rest.removeprefix(":")
    elif entry.count(":") == 1:  # host:port or v4:port (a bare v6 address has several colons)
        name, entry_port = entry.split(":")
        if not name:
            return False  # no host part: malformed, ignored (as Go does)
    if entry_port and entry_port != port:
        return False
    try:
        entry_ip = ipaddress.ip_address(name)
    except ValueError:
        entry_ip = None
    if entry_ip is not None:
        return ip is not None and ip == entry_ip
    if name.startswith("*."):
        name = name[1:]
    if name.startswith("."):  # subdomains only
        return host.endswith(name)
    return host == name or host.endswith("." + name)
