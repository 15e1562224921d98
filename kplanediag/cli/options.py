"""The options every command shares (where the data comes from, how the report is given), the
exit codes, and the one exception that ends a run with exit 3."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kplanediag.cli.completers import complete_contexts
from kplanediag.cli.errors import echo_error

if TYPE_CHECKING:
    from kplanediag.snapshot import Snapshot

# Everything else is imported where it is used: `--version` and `--help` load click alone, an
# offline `--from` analysis never loads the API client or protobuf (see test_cold_start).

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3
THRESHOLDS = {
    "warning": {"warning": EXIT_WARNING, "critical": EXIT_CRITICAL},
    "critical": {"critical": EXIT_CRITICAL},
    "never": {},
}

F = TypeVar("F", bound=Callable[..., Any])
AT_BEFORE_CAPTURE = 60.0  # seconds of --at before the capture tolerated without a warning (clock skew)


class CannotAssess(click.ClickException):
    """kplanediag could not look at the cluster or the input at all: exit 3 (Nagios UNKNOWN)."""

    exit_code = EXIT_UNKNOWN

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind  # the failure class, for `-o json`

    def show(self, file: Any = None) -> None:
        echo_error(self.format_message())

    def document(self) -> str:
        """The one JSON document `-o json` prints on exit 3 (docs/output.md)."""
        import json  # noqa: PLC0415

        error = {"class": self.kind, "message": self.format_message(), "exitCode": self.exit_code}
        return json.dumps({"schemaVersion": 1, "error": error}, indent=2) + "\n"


def preload_analysis() -> None:
    """Import analysis and render in a daemon thread: a live check spends most of its time waiting
    for pages, and these imports then cost nothing. A later import of the same module just waits."""
    import importlib  # noqa: PLC0415
    import threading  # noqa: PLC0415

    modules = ("kplanediag.analysis.report", "kplanediag.render.as_json", "kplanediag.render.table")
    threading.Thread(target=lambda: [importlib.import_module(m) for m in modules], daemon=True).start()


def duration(ctx: click.Context | None, param: click.Parameter | None, value: str | float) -> float:
    """A duration as kubectl takes it (Go's form, parsed by durationpy: ``5s``, ``1m30s``,
    ``500ms``, ``1h``; a bare number is seconds): seconds between 0.1 and a day."""
    import math  # noqa: PLC0415

    text = str(value).strip()
    try:
        seconds = float(text)  # a bare number: seconds, as kubectl's --request-timeout takes it
    except ValueError:
        import durationpy  # noqa: PLC0415 (arrives with the official client)

        try:
            seconds = durationpy.from_str(text).total_seconds()
        except (durationpy.DurationError, ValueError, OverflowError):
            seconds = math.nan
    if not (0.1 <= seconds <= 86400):  # also False for nan and inf
        raise click.BadParameter(f"{text!r} is not a duration between 0.1s and 24h (e.g. 5s, 1m30s, 500ms, or seconds)")
    return seconds


def input_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """--max-input's size (``512Mi``, ``2Gi``, bytes)."""
    if value is None:
        return None
    from kplanediag.snapshot.limits import LimitError, parse_size  # noqa: PLC0415

    try:
        return parse_size(value)
    except LimitError as exc:
        raise click.BadParameter(str(exc)) from exc


@dataclass(frozen=True)
class Source:
    """Where the data comes from: a live cluster, or a saved snapshot / kubectl List (--from)."""

    kubeconfig: str | None
    context: str | None
    request_timeout: float
    deadline: float
    from_file: Path | None
    at: str | None
    verbose: bool
    contexts: tuple[str, ...] = ()  # a fleet: several --context, or every one (all_contexts)
    all_contexts: bool = False
    as_user: str | None = None  # --as, --as-group, --as-uid: impersonation, as kubectl's
    as_groups: tuple[str, ...] = ()
    as_uid: str | None = None
    max_input: int | None = None  # bytes; None: $KPLANEDIAG_MAX_INPUT or the default (limits.py)
    cache: Any = None  # a collect.watch Cache: lists kept by watches between checks (cli/watching.py)

    @property
    def fleet(self) -> bool:
        return self.all_contexts or len(self.contexts) > 1

    def one(self, context: str | None) -> Source:
        """This source for one cluster of a fleet."""
        from dataclasses import replace  # noqa: PLC0415

        return replace(self, context=context, contexts=(), all_contexts=False)

    def load(self) -> tuple[Snapshot, datetime | None]:
        """The snapshot, and the "now" to judge it at (None: its capture time)."""
        from kplanediag.snapshot import SnapshotError, load_snapshot, parse_time  # noqa: PLC0415
        from kplanediag.snapshot.limits import set_max_input  # noqa: PLC0415

        set_max_input(self.max_input)
        now = None
        if self.at is not None:
            now = parse_time(self.at)
            if now is None:
                raise click.BadParameter(
                    f"{self.at!r} is not an RFC 3339 timestamp (e.g. 2026-01-31T03:00:00Z)", param_hint="--at"
                )
            if self.from_file is None:
                raise click.BadParameter(
                    "only with --from: a live check is judged at the server's time", param_hint="--at"
                )
        if self.from_file is not None:
            try:
                snapshot = load_snapshot(self.from_file, now)
                if now is not None and (snapshot.collected_at - now).total_seconds() > AT_BEFORE_CAPTURE:
                    click.echo(
                        f"kplanediag: warning: --at {self.at} is before the input's capture time "
                        f"({snapshot.collected_at.isoformat()}): Leases renewed after it count as fresh",
                        err=True,
                    )
                return snapshot, now
            except SnapshotError as exc:
                raise CannotAssess(str(exc)) from exc
        from kplanediag.collect.errors import CollectError  # noqa: PLC0415

        deadline = time.monotonic() + self.deadline
        try:
            from kplanediag.collect.collector import collect  # noqa: PLC0415 (loads the API client)
            from kplanediag.collect.impersonation import Impersonation  # noqa: PLC0415
            from kplanediag.collect.transport import connect  # noqa: PLC0415

            impersonate = Impersonation(self.as_user, self.as_groups, self.as_uid)
            transport = connect(self.kubeconfig, self.context, self.request_timeout, deadline, impersonate)
            preload_analysis()  # while collect mostly waits for the server
            from kplanediag.cli.progress import progress  # noqa: PLC0415

            with progress(f"checking {transport.server} ...") if not self.verbose else nullcontext():
                return collect(transport, verbose=self.verbose, cache=self.cache), None
        except CollectError as exc:
            if self.verbose:
                import traceback  # noqa: PLC0415

                traceback.print_exc()
            # every class raised this far is exit 3 (errors.py); an unreachable server is a report
            raise CannotAssess(str(exc), exc.kind) from exc


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


def use_colour(choice: str, no_colour: bool) -> bool:
    """--color always|never, --no-color, else on a terminal unless NO_COLOR is set (no-color.org)."""
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    if no_colour or choice == "never":
        return False
    if choice == "always":
        return True
    return bool(sys.stdout.isatty()) and not os.environ.get("NO_COLOR")


def terminal_width() -> int:
    """The columns to lay tables out for: on a terminal its width ($COLUMNS first, as
    shutil.get_terminal_size reads it); a pipe or a file gets 100, the same layout every time."""
    import shutil  # noqa: PLC0415
    import sys  # noqa: PLC0415

    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 100


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


def report_options(func: F) -> F:
    return _report_options(func, fail_on=True)


def output_options(func: F) -> F:
    """-o and --etcd-quota, without --fail-on (``wait`` exits by its own condition)."""
    return _report_options(func, fail_on=False)


def _report_options(func: F, fail_on: bool) -> F:
    from kplanediag.render.formats import OUTPUT_HELP, OUTPUTS  # noqa: PLC0415 (the registry; not for --version)

    options = [
        click.option(
            "-o",
            "--output",
            type=click.Choice(OUTPUTS),
            default="table",
            show_default=True,
            help=OUTPUT_HELP,
        )
    ]
    if fail_on:
        options.append(
            click.option(
                "--fail-on",
                type=click.Choice(["warning", "critical", "never"]),
                default="warning",
                show_default=True,
                help="Lowest finding severity that makes the exit code non-zero (and fails JUnit testcases).",
            )
        )

    options.append(
        click.option(
            "--color",
            "colour",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour severities and statuses in table output: auto is on a terminal unless NO_COLOR is set.",
        )
    )
    options.append(click.option("--no-color", "no_colour", is_flag=True, help="Same as --color never."))
    options.append(
        click.option(
            "--etcd-quota",
            callback=byte_size,
            metavar="BYTES",
            help="etcd's --quota-backend-bytes (e.g. 8Gi), which etcd does not tell the API server. "
            "Default: the distribution's known default (2Gi on kubeadm, kind and RKE2), else the size is not judged.",
        )
    )
    for option in reversed(options):
        func = option(func)
    return func


def redact_option(func: F) -> F:
    """--redact, on the report commands and ``snapshot save`` (render/redact_apply.py)."""
    return click.option(
        "--redact",
        is_flag=True,
        help="Replace node, pod, namespace, workload and Service names, IPs, hostnames and URLs by "
        "short tokens (the same name, the same token in one run); components, statuses, codes, counts "
        "and versions are kept (docs/output.md, Redaction).",
    )(func)


def byte_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``8Gi``, ``2147483648``, ``500M``: a positive whole number of bytes as a Kubernetes quantity
    (snapshot/quantity.py: ``m`` is milli, so ``500m`` is half a byte and refused)."""
    if value is None:
        return None
    from decimal import Decimal  # noqa: PLC0415

    from kplanediag.snapshot.quantity import parse_quantity  # noqa: PLC0415

    try:
        number = parse_quantity(value.strip())
    except ValueError:
        number = Decimal(-1)
    if not (number.is_finite() and 0 < number < 2**60 and number == number.to_integral_value()):
        raise click.BadParameter(
            f"{value!r} is not a size in bytes as a Kubernetes quantity (e.g. 8Gi, 500M, 2147483648; m is milli)"
        )
    return int(number)
