"""The urllib3 pool for one API server, built from kplanediag's Settings: the kubeconfig's TLS
(CA, client certificate, tls-server-name as the verified name and SNI), through its proxy if any."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from kplanediag.collect.settings import Settings

MAX_CONNECTIONS = 10  # kept per host: the collector's 4 lists and 2 probes at once (collector.py), room to spare


def pool_manager(settings: Settings) -> Any:
    """A urllib3 PoolManager (ProxyManager, SOCKSProxyManager) for ``settings``; raises ValueError for a
    socks5 proxy without PySocks."""
    import urllib3  # noqa: PLC0415

    tls = settings.tls
    pool_args: dict[str, Any] = {
        "cert_reqs": ssl.CERT_NONE if tls.insecure else ssl.CERT_REQUIRED,
        "ca_certs": tls.ca_file,
        "cert_file": tls.cert_file,
        "key_file": tls.key_file,
        "maxsize": MAX_CONNECTIONS,
    }
    if tls.server_name:  # the name the certificate is verified against, and the SNI
        pool_args["server_hostname"] = tls.server_name
    if settings.proxy is None:
        return urllib3.PoolManager(**pool_args)
    url = settings.proxy.url
    if urlsplit(url).scheme == "socks5":
        try:
            from urllib3.contrib.socks import SOCKSProxyManager  # noqa: PLC0415 (needs PySocks)
        except ImportError as exc:
            raise ValueError(f"a socks5 proxy-url needs the PySocks package: {exc}") from exc
        # socks5h: the proxy resolves the server's name, as client-go's SOCKS5 dialer lets it
        return SOCKSProxyManager(url.replace("socks5://", "socks5h://", 1), **pool_args)
    parts = urlsplit(url)
    headers = {}
    if parts.username is not None:
        credentials = unquote(parts.username) + ":" + unquote(parts.password or "")
        headers.update(urllib3.make_headers(proxy_basic_auth=credentials))
    return urllib3.ProxyManager(url, proxy_headers=headers or None, **pool_args)
