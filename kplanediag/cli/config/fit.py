"""The config sections that fit one run chosen into a ``Fit``, plus ``--ignore CODE``; the options."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kplanediag.cli.completers import complete_codes
from kplanediag.cli.config.file import DEFAULT, Config, Section, default_path, load_config
from kplanediag.cli.options import CannotAssess, Source

if TYPE_CHECKING:
    from kplanediag.analysis.fit import Fit

F = TypeVar("F", bound=Callable[..., Any])


def section_names(source: Source) -> tuple[list[str], str]:
    """The names a run's section is looked up by, most specific last, and how they were found.
    Live: the context (given or current) and its cluster, from the kubeconfig. --from: an explicit
    --context only."""
    if source.from_file is not None:
        return ([source.context] if source.context else []), "--context"
    context, cluster = kubeconfig_names(source.kubeconfig, source.context)
    return [n for n in (cluster, context) if n], "kubeconfig"


def kubeconfig_names(path: str | None, context: str | None) -> tuple[str | None, str | None]:
    """The context name and its cluster name, merged over $KUBECONFIG's files as kubectl does (the
    first file to set a name wins). Unreadable: what could be read (connect reports the error)."""
    import yaml  # noqa: PLC0415

    files = (path or os.environ.get("KUBECONFIG") or "~/.kube/config").split(os.pathsep)
    current, clusters = context, dict[str, object]()
    for name in files:
        try:
            doc = yaml.safe_load(Path(os.path.expanduser(name)).read_text(encoding="utf-8")) if name else None
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict):
            continue
        current = current or doc.get("current-context") or None
        for entry in doc.get("contexts") or []:
            if isinstance(entry, dict) and isinstance(entry.get("context"), dict):
                clusters.setdefault(str(entry.get("name")), entry["context"].get("cluster"))
    cluster = clusters.get(str(current)) if current else None
    return (str(current) if current else None), (str(cluster) if cluster else None)


def choose_fit(config: Config | None, names: list[str], how: str, ignore: tuple[str, ...]) -> Fit | None:
    """``default``, then each named section found (cluster, then context): accept and expected_absent
    entries add up, a later policy value wins. ``--ignore`` codes are accepted on top."""
    from kplanediag.analysis.fit import Accept, Fit, Links  # noqa: PLC0415

    if config is None and not ignore:
        return None
    chosen: list[Section] = []
    if config is not None:
        if how == "--context" and names and names[0] not in config.sections:
            have = ", ".join(sorted(config.sections)) or "none"
            raise CannotAssess(
                f"config {config.path} has no section {names[0]!r} (--context with --from; sections: {have})"
            )
        chosen = [config.sections[n] for n in dict.fromkeys([DEFAULT, *names]) if n in config.sections]
    policy: dict[str, float] = {}
    links: dict[str, str] = {}
    for s in chosen:
        policy.update(s.policy)
        links.update(s.links)
    where = (
        f"config {config.path} "
        + (f"[{', '.join(s.name for s in chosen)}]" if chosen else "(no section for this cluster)")
        if config
        else ""
    )
    ignored = tuple(Accept(code, origin="--ignore") for code in ignore)
    return Fit(
        source=" + ".join(x for x in (where, "--ignore " + ",".join(ignore) if ignore else "") if x),
        accept=(*(a for s in chosen for a in s.accept), *ignored),
        absent=tuple({a.component: a for s in chosen for a in s.absent}.values()),
        policy=tuple(policy.items()),
        links=Links(**links),
    )


def read_fit(source: Source, config_path: Path | None, ignore: tuple[str, ...]) -> Fit | None:
    """The fit for this run: --config (must exist), else the default file if it exists."""
    path = config_path if config_path is not None else default_path()
    if config_path is None and not path.is_file():
        config = None
    else:
        if not path.is_file():
            raise CannotAssess(f"--config {path}: no such file", "configuration")
        config = load_config(path)
    names, how = section_names(source) if config is not None and config.sections.keys() - {DEFAULT} else ([], "")
    return choose_fit(config, names, how, ignore)


def ignore_codes(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415

    codes = tuple(dict.fromkeys(v.strip().upper() for v in value))
    unknown = [c for c in codes if c not in CODES]
    if unknown:
        raise click.BadParameter(f"unknown finding code(s) {', '.join(unknown)} (docs/codes.md lists them)")
    return codes


def fit_options(func: F) -> F:
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Per-cluster config: accepted findings, components expected absent, policy thresholds "
            "(docs/config.md). Default: $XDG_CONFIG_HOME/kplanediag/config.yaml (~/.config/...), if it exists.",
        ),
        click.option(
            "--ignore",
            multiple=True,
            metavar="CODE",
            callback=ignore_codes,
            shell_complete=complete_codes,
            help="Accept every finding with this code for this run (repeatable): counted apart, not in the exit code.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func
