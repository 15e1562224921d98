"""The per-cluster config file (``--config``, docs/config.md) and ``--ignore CODE``."""

from kplanediag.cli.config.file import Config, ConfigError, Section, default_path, load_config
from kplanediag.cli.config.fit import choose_fit, fit_options, ignore_codes, kubeconfig_names, read_fit, section_names

__all__ = [
    "Config",
    "ConfigError",
    "Section",
    "choose_fit",
    "default_path",
    "fit_options",
    "ignore_codes",
    "kubeconfig_names",
    "load_config",
    "read_fit",
    "section_names",
]
