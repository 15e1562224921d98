"""Captures real list responses from the lab cluster in both wire formats, for tests/unit/test_protobuf.py.

    make cluster-up && .venv/bin/python -m tests.unit.data.wire.capture

For each list kplanediag reads as protobuf (``PATHS``) it GETs the list as JSON, notes its resourceVersion, then GETs
it again as JSON and as protobuf with ``resourceVersion=<rv>&resourceVersionMatch=Exact``, so that
both bodies hold the same objects at the same revision. It saves ``<resource>[-<namespace>].json``
and ``.pb`` here, plus ``pods-page1`` (``limit=2``: a first page with a continue token). Bodies are
saved exactly as the API server sent them (managedFields included). Read-only: it changes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from lab import labctl
from tests.unit.data.wire import PATHS

HERE = Path(__file__).parent
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON = "application/json"


class Client:
    """Raw GETs with the official client's kubeconfig loading, auth and TLS (as collect.transport does)."""

    def __init__(self, kubeconfig: str) -> None:
        configuration = k8s_client.Configuration()
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration, persist_config=False)
        self._config: Any = configuration
        self._pool = k8s_client.ApiClient(configuration).rest_client.pool_manager
        self.server = str(configuration.host).rstrip("/")

    def get(self, path: str, fields: dict[str, str], accept: str) -> tuple[str, bytes]:
        headers = {"Accept": accept, "User-Agent": "kplanediag-capture"}
        settings: dict[str, dict[str, Any]] = self._config.auth_settings()
        for auth in settings.values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        raw = self._pool.request(
            "GET", self.server + path, fields=fields, headers=headers, timeout=urllib3.Timeout(total=10), retries=False
        )
        if raw.status != 200:
            raise SystemExit(f"GET {path} {fields}: HTTP {raw.status}: {raw.data[:200]!r}")
        content_type = str(raw.headers.get("Content-Type", "")).split(";")[0]
        if content_type != accept:
            raise SystemExit(f"GET {path}: asked for {accept}, got {content_type}")
        return content_type, bytes(raw.data)


def capture(client: Client, name: str, path: str, limit: str | None = None) -> None:
    fields = {"limit": limit} if limit else {}
    first: Any = json.loads(client.get(path, fields, JSON)[1])
    rv = first["metadata"]["resourceVersion"]
    exact = {**fields, "resourceVersion": rv, "resourceVersionMatch": "Exact"}
    _, as_json = client.get(path, exact, JSON)
    _, as_pb = client.get(path, exact, PROTOBUF)
    (HERE / f"{name}.json").write_bytes(as_json)
    (HERE / f"{name}.pb").write_bytes(as_pb)
    items = len(json.loads(as_json)["items"])
    print(f"{name}: {items} items at resourceVersion {rv}: {len(as_json)} B JSON, {len(as_pb)} B protobuf")


def main() -> int:
    lab = labctl.default_lab()
    client = Client(str(lab.kubeconfig))
    for name, path in PATHS:
        capture(client, name, path)
    capture(client, "pods-page1", "/api/v1/pods", limit="2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
