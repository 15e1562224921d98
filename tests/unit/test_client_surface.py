"""What collect/ uses of the official client beyond its public API (issue 23, item 5): a release that
moves one of these fails here by name; make deps-range runs it on the oldest and the newest allowed."""

from __future__ import annotations

import inspect

from kplanediag.collect import client

KUBE_CONFIG = ("_create_temp_file_with_content", "ExecProvider", "ConfigNode", "ConfigException", "ApiClient")
CONFIGURATION = (
    *("host", "verify_ssl", "ssl_ca_cert", "cert_file", "key_file", "assert_hostname", "tls_server_name"),
    *("connection_pool_maxsize", "proxy_headers", "retries", "auth_settings"),
)


def test_the_private_parts_collect_uses_are_there() -> None:
    configuration_class, config, kube_config = client.load()
    assert [name for name in KUBE_CONFIG if not hasattr(kube_config, name)] == []
    for name in ("load_kube_config_from_dict", "load_incluster_config", "KUBE_CONFIG_DEFAULT_LOCATION"):
        assert hasattr(config, name), name
    loader = inspect.signature(config.load_kube_config_from_dict).parameters
    assert {"config_dict", "context", "client_configuration", "persist_config"} <= set(loader)
    configuration = configuration_class()
    assert [name for name in CONFIGURATION if not hasattr(configuration, name)] == []
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415 (after load: exec_plugin.py imports it so)

    assert kube_config.ConfigException is ConfigException
