"""Reading a kubeconfig, or a $KUBECONFIG list of files, merged as kubectl merges them.

kubectl's rules (client-go ``clientcmd.ClientConfigLoadingRules.Load``): a cluster, user or context
comes from the first file that names it; ``current-context`` from the first file that sets it;
files of the list that do not exist are skipped (an explicit ``--kubeconfig`` must exist); empty
files are empty configs; each entry's relative paths are resolved from its own file's directory.
(The official client's merger took ``current-context`` from the *last* file and failed on an empty one.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kplanediag.collect.errors import ConfigurationError

SECTIONS = ("clusters", "contexts", "users")


@dataclass(frozen=True)
class Merged:
    """The merged kubeconfig: plain data, each named entry with the file it came from."""

    files: tuple[str, ...]  # the files read, in order
    entries: dict[str, dict[str, tuple[dict[str, Any], str]]]  # section -> name -> (entry, its file)
    current_context: str | None

    def entry(self, section: str, name: str) -> dict[str, Any] | None:
        found = self.entries[section].get(name)
        return found[0] if found else None

    def context(self, name: str | None) -> dict[str, Any]:
        """The context entry of ``name`` or else of the current context; empty when there is none
        (kubeconfig_load.py then says which name it did not find)."""
        chosen = name or self.current_context
        entry = self.entry("contexts", chosen) if chosen else None
        context = (entry or {}).get("context") or {}
        return context if isinstance(context, dict) else {}

    def user_of(self, context: str | None) -> dict[str, Any]:
        """The user entry of the context (empty when it names none)."""
        entry = self.context(context)
        user = self.entry("users", str(entry.get("user") or ""))
        value = (user or {}).get("user") or {}
        return value if isinstance(value, dict) else {}

    def cluster_of(self, context: str | None) -> dict[str, Any]:
        entry = self.context(context)
        cluster = self.entry("clusters", str(entry.get("cluster") or ""))
        value = (cluster or {}).get("cluster") or {}
        return value if isinstance(value, dict) else {}

    def context_names(self) -> list[str]:
        return list(self.entries["contexts"])


def split(paths: str) -> list[str]:
    """A $KUBECONFIG value: its files in order, empty entries and repeats dropped (as kubectl)."""
    return list(dict.fromkeys(p for p in paths.split(os.pathsep) if p))


def read(paths: str, explicit: bool = False) -> Merged:
    """Merge the files of ``paths`` (one file, or a list joined with ``os.pathsep``).

    ``explicit``: a single file named on the command line, which must exist."""
    import yaml  # noqa: PLC0415 (only a live collection reads a kubeconfig)

    files = split(paths)
    entries: dict[str, dict[str, tuple[dict[str, Any], str]]] = {section: {} for section in SECTIONS}
    current: str | None = None
    read_files: list[str] = []
    for name in files:
        path = os.path.expanduser(name)
        if not os.path.exists(path):
            if explicit or len(files) == 1:
                raise ConfigurationError(f"cannot use kubeconfig {name}: No configuration found (no such file)")
            continue  # kubectl skips the missing files of a $KUBECONFIG list
        try:
            with open(path, encoding="utf-8") as handle:
                config = yaml.safe_load(handle)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"cannot read kubeconfig {name}: {exc}") from exc
        read_files.append(path)
        if config is None:
            continue  # an empty file is an empty config
        if not isinstance(config, dict):
            raise ConfigurationError(
                f"cannot use kubeconfig {name}: it is not a mapping (a kubeconfig is a YAML object)"
            )
        for section in SECTIONS:
            items = config.get(section) or []
            if not isinstance(items, list):
                raise ConfigurationError(f"kubeconfig {name}: {section} is not a list")
            for item in items:
                if not isinstance(item, dict) or not item.get("name"):
                    raise ConfigurationError(f"kubeconfig {name}: an entry of {section} has no name")
                entries[section].setdefault(str(item["name"]), (item, path))  # the first file wins
        if not current and config.get("current-context"):
            current = str(config["current-context"])  # the first file that sets it wins
    if not read_files:
        raise ConfigurationError(f"none of the kubeconfig files exist: {os.pathsep.join(files) or '(none named)'}")
    if not current and not any(entries.values()):
        raise ConfigurationError(f"cannot use kubeconfig {paths}: it is empty")
    return Merged(tuple(read_files), entries, current)
