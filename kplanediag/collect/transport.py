"""Connection to the API server: kubeconfig and auth from the official client, raw GETs through its
configured urllib3 pool (no model classes, no retries, one timeout per request)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from kplanediag.collect.errors import AuthenticationError, ConfigurationError, UnreachableError

JSON = "application/json"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    server_time: datetime | None
    seconds: float
    content_type: str = JSON

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def reason(self) -> str:
        """A short reason for a failed request: the Status message or the HTTP status."""
        try:
            message = self.json().get("message")
        except (ValueError, AttributeError):
            message = None
        names = {401: "unauthorized", 403: "forbidden", 404: "not found"}
        return names.get(self.status) or str(message or f"HTTP {self.status}")


class Transport:
    """GETs against one API server. Thread-safe: the urllib3 pool is."""

    def __init__(self, api_client: Any, timeout: float) -> None:
        self._config = api_client.configuration
        self._pool = api_client.rest_client.pool_manager
        self.server: str = str(self._config.host).rstrip("/")
        self.timeout = timeout

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": "kplanediag"}
        for auth in self._config.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        return headers

    def get(self, path: str, fields: dict[str, str] | None = None, accept: str = JSON) -> Response:
        """One GET; raises UnreachableError when no HTTP answer arrives within the timeout."""
        start = time.monotonic()
        try:
            raw = self._pool.request(
                "GET",
                self.server + path,
                fields=fields,
                headers=self._headers(accept),
                timeout=urllib3.Timeout(total=self.timeout),
                retries=False,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise UnreachableError(f"{self.server}: {type(exc).__name__}: {exc}") from exc
        date = raw.headers.get("Date")
        try:
            server_time = parsedate_to_datetime(date).astimezone(UTC) if date else None
        except (TypeError, ValueError):
            server_time = None
        content_type = str(raw.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        response = Response(raw.status, raw.data, server_time, time.monotonic() - start, content_type)
        if raw.status == 401:
            raise AuthenticationError(f"{self.server}: the API server rejected the credentials (401 Unauthorized)")
        return response


def connect(kubeconfig: str | None, context: str | None, timeout: float) -> Transport:
    """A Transport for the kubeconfig (or $KUBECONFIG, ~/.kube/config, in-cluster) and context."""
    configuration = k8s_client.Configuration()
    try:
        if (
            kubeconfig is None
            and context is None
            and "KUBERNETES_SERVICE_HOST" in os.environ
            and not os.path.exists(os.path.expanduser(k8s_config.KUBE_CONFIG_DEFAULT_LOCATION))
        ):
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=False
            )
    except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or k8s_config.KUBE_CONFIG_DEFAULT_LOCATION
        raise ConfigurationError(
            f"cannot use kubeconfig {where}{f' context {context!r}' if context else ''}: {exc}"
        ) from exc
    configuration.retries = False
    return Transport(k8s_client.ApiClient(configuration), timeout)
