"""The official client's kubeconfig loader and Configuration, loaded without running the package's
``__init__`` (which imports every API and model), and a urllib3 pool built from a Configuration."""

from __future__ import annotations

import importlib
import importlib.util
import ssl
import sys
import threading
import types
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from kplanediag.collect.proxy import Proxy


class _NoApiClient:
    """Stands in for ``kubernetes.client.ApiClient``, which kube_config names but kplanediag never
    lets it use (only ``new_client_from_config`` would)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("kplanediag loads the official client without its ApiClient")


def _bare_package(name: str) -> types.ModuleType:
    """The package ``name`` registered with its search path but without running its ``__init__``."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"the official client's package {name} is not installed")
    module = types.ModuleType(name)
    module.__path__ = list(spec.submodule_search_locations)
    module.__spec__ = spec
    module.__package__ = name
    sys.modules[name] = module
    return module


_LOADING = threading.Lock()  # a fleet connects to several clusters at once: one import at a time


def load() -> tuple[Any, Any, Any]:
    """(Configuration class, ``kubernetes.config`` module, ``kubernetes.config.kube_config`` module).

    The one place that relies on the client's private layout (issue 23, item 5). Chosen way out: own
    kubeconfig loading (option b), not the public ``load_kube_config`` (option a): the public API imports
    the package whole (+0.1 s warm here, 0.5-1.4 s cold) and still lacks what kplanediag needs (keys in
    memory only: ``_create_temp_file_with_content``; kubectl's exec plugins: ``ExecProvider``; kubectl's
    merge: ``ConfigNode``), so (a) keeps the private hooks and loses the cold start. Until then the range
    in pyproject.toml is tested at both ends (make deps-range). Left to own: the context's cluster and
    user (CA, certificates, token, tokenFile, basic auth), exec credentials' cache and expiry, oidc
    (refresh: it needs ApiClient, stubbed here) and gcp auth-providers, the in-cluster service account.
    """
    with _LOADING:
        return _load()


def _load() -> tuple[Any, Any, Any]:
    if "kubernetes" not in sys.modules:
        root = _bare_package("kubernetes")
        client_package = _bare_package("kubernetes.client")
        root.client = client_package  # type: ignore[attr-defined]
        configuration = importlib.import_module("kubernetes.client.configuration")
        client_package.Configuration = configuration.Configuration  # type: ignore[attr-defined]
        client_package.ApiClient = _NoApiClient  # type: ignore[attr-defined]
    config = importlib.import_module("kubernetes.config")
    kube_config = importlib.import_module("kubernetes.config.kube_config")
    return sys.modules["kubernetes.client.configuration"].Configuration, config, kube_config


def pool_manager(configuration: Any, proxy: Proxy | None = None) -> Any:
    """A urllib3 pool for the Configuration, with the options RESTClientObject gives it, through
    ``proxy`` (chosen as kubectl chooses it: proxy.py) when there is one."""
    import urllib3  # noqa: PLC0415

    pool_args: dict[str, Any] = {
        "cert_reqs": ssl.CERT_REQUIRED if configuration.verify_ssl else ssl.CERT_NONE,
        "ca_certs": configuration.ssl_ca_cert,
        "cert_file": configuration.cert_file,
        "key_file": configuration.key_file,
        "ca_cert_data": getattr(configuration, "ca_cert_data", None),  # a Configuration field since 37.0
    }
    if configuration.assert_hostname is not None:
        pool_args["assert_hostname"] = configuration.assert_hostname
    if configuration.tls_server_name:  # the name the certificate is verified against, and the SNI
        pool_args["server_hostname"] = configuration.tls_server_name
    if getattr(configuration, "socket_options", None) is not None:  # a Configuration field since 36.0
        pool_args["socket_options"] = configuration.socket_options
    if configuration.connection_pool_maxsize is not None:
        pool_args["maxsize"] = configuration.connection_pool_maxsize
    if proxy is None:
        return urllib3.PoolManager(**pool_args)
    parts = urlsplit(proxy.url)
    if parts.scheme == "socks5":
        try:
            from urllib3.contrib.socks import SOCKSProxyManager  # noqa: PLC0415 (needs PySocks)
        except ImportError as exc:
            raise ValueError(f"a socks5 proxy-url needs the PySocks package: {exc}") from exc
        # socks5h: the proxy resolves the server's name, as client-go's SOCKS5 dialer lets it
        return SOCKSProxyManager(proxy.url.replace("socks5://", "socks5h://", 1), **pool_args)
    headers = dict(configuration.proxy_headers or {})
    if parts.username is not None:
        credentials = unquote(parts.username) + ":" + unquote(parts.password or "")
        headers.update(urllib3.make_headers(proxy_basic_auth=credentials))
    return urllib3.ProxyManager(proxy.url, proxy_headers=headers or None, **pool_args)
