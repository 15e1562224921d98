"""The one spec of the source options, and the decorators made from it (commands and group)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from kplanediag.cli.completers import complete_contexts
from kplanediag.cli.options.source import Source
from kplanediag.cli.options.values import duration, input_size

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SourceOption:
    """One option saying where the data comes from: ``name`` is both its keyword and its Source
    field (``context``: Source.contexts and, for one, Source.context)."""

    name: str
    flags: tuple[str, ...]
    attrs: dict[str, Any]

    def decorator(self, hidden: bool = False) -> Callable[[F], F]:
        return click.option(*self.flags, self.name, hidden=hidden, **self.attrs)


def _option(name: str, *flags: str, **attrs: Any) -> SourceOption:
    return SourceOption(name, flags, attrs)


# The one spec: the decorators (on every command and on the group), the keywords the wrapper takes
# and the Source it makes are all read from it, in this order (--help's).
SOURCE_OPTIONS = (
    _option(
        "kubeconfig",
        "--kubeconfig",
        type=click.Path(dir_okay=False),
        envvar="KUBECONFIG",
        help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).",
    ),
    _option(
        "context",
        "--context",
        multiple=True,
        shell_complete=complete_contexts,
        help="Kubeconfig context (default: the current context); repeat it to check several clusters.",
    ),
    _option(
        "all_contexts",
        "--all-contexts",
        is_flag=True,
        help="Check every context of the kubeconfig, concurrently (a fleet).",
    ),
    _option(
        "request_timeout",
        "--request-timeout",
        callback=duration,
        default="5s",
        show_default=True,
        metavar="DURATION",
        help="Bound of each API request, from connect to the last byte; retried only on 429/503 with Retry-After.",
    ),
    _option(
        "deadline",
        "--deadline",
        callback=duration,
        default="30s",
        show_default=True,
        metavar="DURATION",
        help="Bound of the whole run: what is not collected by then is reported as not observed.",
    ),
    _option(
        "from_file",
        "--from",
        type=click.Path(path_type=Path),
        metavar="PATH",
        help="Analyse a file or bundle instead of a live cluster, detected by content: a saved snapshot, "
        "a kubectl List (JSON/YAML), kubectl cluster-info dump (output or directory), an OpenShift "
        "must-gather, a troubleshoot.sh support bundle or sonobuoy results (directory or .tar[.gz|.xz]). "
        "See docs/input.md.",
    ),
    _option(
        "at",
        "--at",
        metavar="TIMESTAMP",
        help="With --from: the time to judge at (RFC 3339). Default: the capture time (the report says how told).",
    ),
    _option("verbose", "-v", "--verbose", is_flag=True, help="Print what is collected, with timings, to stderr."),
    _option("as_user", "--as", metavar="USER", help="Impersonate this user (as kubectl --as)."),
    _option("as_groups", "--as-group", multiple=True, metavar="GROUP", help="Impersonate this group; repeatable."),
    _option("as_uid", "--as-uid", metavar="UID", help="Impersonate this UID (with --as)."),
    _option(
        "max_input",
        "--max-input",
        callback=input_size,
        metavar="SIZE",
        help="Most bytes read of one API answer, file or bundle member before decoding (2Gi, 512Mi; "
        "default 1Gi, or $KPLANEDIAG_MAX_INPUT): past it a list is a gap, a file exit 3.",
    ),
)
SOURCE_PARAMS = tuple(o.name for o in SOURCE_OPTIONS)


def _with_source_options(func: F, hidden: bool = False) -> F:
    """``hidden``: taken but not listed in the command's --help (``kplanediag options`` lists them)."""
    for option in reversed(SOURCE_OPTIONS):
        func = option.decorator(hidden)(func)
    return func


GLOBAL_EPILOG = (
    "Global options (--kubeconfig, --context, --from, --request-timeout, --deadline, --as, ...) go "
    "before or after the command: `kplanediag options` lists them."
)


def global_options(func: F) -> F:
    """The same options on the command group, as kubectl users type them: ``kplanediag --context
    prod check``. A subcommand's own option wins; the group's fills what the subcommand left at its
    default (or took from $KUBECONFIG)."""
    return _with_source_options(func)


def _inherited(name: str, value: Any) -> Any:
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.parent is None:
        return value
    root = ctx.find_root()
    mine = ctx.get_parameter_source(name)
    theirs = root.get_parameter_source(name)
    typed = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    if mine == click.core.ParameterSource.COMMANDLINE or theirs not in typed:
        return value
    if mine == click.core.ParameterSource.ENVIRONMENT and theirs != click.core.ParameterSource.COMMANDLINE:
        return value
    return root.params.get(name, value)


def source_options(func: F) -> F:
    """The options that say where data comes from, passed to the command as one ``source: Source``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {o.name: kwargs.pop(o.name) for o in SOURCE_OPTIONS}
        values = {name: _inherited(name, value) for name, value in given.items()}
        for o in SOURCE_OPTIONS:
            if o.attrs.get("multiple"):
                values[o.name] = tuple(values[o.name] or ())
        contexts: tuple[str, ...] = values.pop("context")
        values["context"] = contexts[0] if len(contexts) == 1 else None
        source = Source(**values, contexts=contexts)
        if source.fleet and source.from_file is not None:
            raise click.UsageError("--from reads one input: it cannot be combined with several contexts")
        return func(*args, source=source, **kwargs)

    return _with_source_options(wrapper, hidden=True)  # type: ignore[return-value]
