"""The per-cluster config file (``--config``, docs/config.md) read with line numbers and validated:
an error exits 3 naming FILE:LINE."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kplanediag.cli.options import CannotAssess

if TYPE_CHECKING:
    import yaml

    from kplanediag.analysis.fit import Accept, ExpectedAbsent

DEFAULT = "default"
SECTION_KEYS = ("accept", "expected_absent", "policy", "links")
LINK_KEYS = ("runbook", "dashboard")
ACCEPT_KEYS = ("code", "component", "node", "namespace", "reason")
ABSENT_KEYS = ("component", "reason")
STR = "tag:yaml.org,2002:str"
NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "kplanediag" / "config.yaml"


@dataclass(frozen=True)
class Section:
    name: str
    accept: tuple[Accept, ...] = ()
    absent: tuple[ExpectedAbsent, ...] = ()
    policy: dict[str, float] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: Path
    sections: dict[str, Section]


class ConfigError(CannotAssess):
    def __init__(self, path: Path, node: yaml.Node | None, message: str) -> None:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        super().__init__(f"config {path}{line}: {message}", "configuration")


def load_config(path: Path) -> Config:
    """The file parsed and checked: every key known, every type right, every code in codes.table."""
    import yaml  # noqa: PLC0415

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CannotAssess(f"cannot read config {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CannotAssess(f"config {path}{where}: not valid YAML: {problem}", "configuration") from exc
    reader = _Reader(path)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
        return Config(path, {})
    sections = {name: reader.section(name, node) for name, node in reader.mapping(root, "the file")}
    return Config(path, sections)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(self.path, node, message)

    def mapping(self, node: yaml.Node, what: str) -> Iterator[tuple[str, yaml.Node]]:
        import yaml  # noqa: PLC0415

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        seen: set[str] = set()
        for key, value in node.value:
            name = self.scalar(key, f"a key of {what}")
            if name in seen:
                raise self.fail(key, f"{name!r} given twice in {what}")
            seen.add(name)
            yield name, value

    def scalar(self, node: yaml.Node, what: str) -> str:
        import yaml  # noqa: PLC0415

        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, *NUMBERS):
            raise self.fail(node, f"{what} must be a string")
        return str(node.value)

    def items(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        import yaml  # noqa: PLC0415

        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def section(self, name: str, node: yaml.Node) -> Section:
        import yaml  # noqa: PLC0415

        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return Section(name)
        accept: list[Accept] = []
        absent: list[ExpectedAbsent] = []
        policy: dict[str, float] = {}
        links: dict[str, str] = {}
        for key, value in self.mapping(node, f"section {name!r}"):
            if key == "accept":
                accept += [self.accept(item, name) for item in self.items(value, f"{name}.accept")]
            elif key == "expected_absent":
                absent += [self.absent(item, name) for item in self.items(value, f"{name}.expected_absent")]
            elif key == "policy":
                policy.update(self.policy(value, name))
            elif key == "links":
                links.update(self.links(value, name))
            else:
                raise self.fail(
                    node_of(node, key), f"unknown key {key!r} in section {name!r} (known: {', '.join(SECTION_KEYS)})"
                )
        return Section(name, tuple(accept), tuple(absent), policy, links)

    def fields(self, node: yaml.Node, what: str, known: tuple[str, ...], short: str) -> dict[str, str]:
        """A mapping of string fields (only ``known`` keys), or a bare string for field ``short``."""
        import yaml  # noqa: PLC0415

        if isinstance(node, yaml.ScalarNode):
            return {short: self.scalar(node, what)}
        out: dict[str, str] = {}
        for key, value in self.mapping(node, what):
            if key not in known:
                raise self.fail(node_of(node, key), f"unknown key {key!r} in {what} (known: {', '.join(known)})")
            out[key] = self.scalar(value, f"{what}.{key}")
        if short not in out:
            raise self.fail(node, f"{what} needs a {short!r}")
        return out

    def accept(self, node: yaml.Node, section: str) -> Accept:
        from kplanediag.analysis.fit import Accept  # noqa: PLC0415
        from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415

        values = self.fields(node, f"{section}.accept entry", ACCEPT_KEYS, "code")
        code = values.pop("code").strip().upper()
        if code not in CODES:
            raise self.fail(node, f"unknown finding code {code!r} (docs/codes.md lists them)")
        return Accept(code, **values, origin=f"{self.path}:{node.start_mark.line + 1}")

    def absent(self, node: yaml.Node, section: str) -> ExpectedAbsent:
        from kplanediag.analysis.fit import ExpectedAbsent  # noqa: PLC0415
        from kplanediag.analysis.knowledge.components import COMPONENTS  # noqa: PLC0415

        values = self.fields(node, f"{section}.expected_absent entry", ABSENT_KEYS, "component")
        if values["component"] not in COMPONENTS:
            known = ", ".join(COMPONENTS)
            raise self.fail(node, f"unknown component {values['component']!r} (known: {known})")
        return ExpectedAbsent(**values, origin=f"{self.path}:{node.start_mark.line + 1}")

    def policy(self, node: yaml.Node, section: str) -> dict[str, float]:
        import yaml  # noqa: PLC0415

        from kplanediag.analysis.knowledge.policy import POLICY  # noqa: PLC0415

        out: dict[str, float] = {}
        for key, value in self.mapping(node, f"{section}.policy"):
            if key not in POLICY:
                raise self.fail(node_of(node, key), f"unknown policy threshold {key!r} (docs/profiles.md lists them)")
            threshold = POLICY[key]
            integer = threshold.unit in ("minor", "days")
            wanted = "a whole number" if integer else "a number"
            if not isinstance(value, yaml.ScalarNode) or value.tag not in (NUMBERS[:1] if integer else NUMBERS):
                raise self.fail(value, f"{section}.policy.{key} must be {wanted} ({threshold.unit})")
            number = float(yaml.safe_load(value.value))
            ratio = threshold.unit == "of quota"
            if not math.isfinite(number) or number <= 0 or (ratio and number > 1):
                bound = "between 0 and 1" if ratio else "positive"
                raise self.fail(value, f"{section}.policy.{key} must be {bound}, not {value.value}")
            out[key] = number
        return out

    def links(self, node: yaml.Node, section: str) -> dict[str, str]:
        """http(s) URLs only (the status page links to them); a runbook may hold {code} and {anchor}."""
        from string import Formatter  # noqa: PLC0415
        from urllib.parse import urlsplit  # noqa: PLC0415

        out: dict[str, str] = {}
        for key, value in self.mapping(node, f"{section}.links"):
            if key not in LINK_KEYS:
                raise self.fail(
                    node_of(node, key), f"unknown key {key!r} in {section}.links (known: runbook, dashboard)"
                )
            url = self.scalar(value, f"{section}.links.{key}").strip()
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
                raise self.fail(value, f"{section}.links.{key} must be an http(s) URL, not {url!r}")
            allowed = {"code", "anchor"} if key == "runbook" else set()
            try:
                fields = {f for _, f, _, _ in Formatter().parse(url) if f is not None}
            except ValueError as exc:
                raise self.fail(value, f"{section}.links.{key}: {exc}") from exc
            if fields - allowed:
                known = "{code} and {anchor}" if allowed else "no placeholder"
                raise self.fail(
                    value, f"{section}.links.{key}: unknown placeholder(s) {sorted(fields - allowed)} ({known})"
                )
            out[key] = url
        return out


def node_of(mapping: yaml.Node, key: str) -> yaml.Node:
    """The key's own node, for its line."""
    return next((k for k, _ in mapping.value if getattr(k, "value", None) == key), mapping)
