"""Command line: ``kplanediag check | components | health | blast-radius | snapshot save``.

Exit codes follow the Nagios plugin convention: 0 healthy, 1 warning, 2 critical, 3 could not
assess (bad kubeconfig, authentication failure, unreadable input, usage error).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kplanediag import __version__
from kplanediag.render import SECTIONS

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
        click.echo(f"kplanediag: error: {self.format_message()}", err=True)

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


def positive_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A finite number of seconds between 0.1 and a day (click's FloatRange lets nan and inf by)."""
    if not (0.1 <= value <= 86400):  # also False for nan
        raise click.BadParameter(f"{value!r} is not a number of seconds between 0.1 and 86400")
    return value


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

    def load(self) -> tuple[Snapshot, datetime | None]:
        """The snapshot, and the "now" to judge it at (None: its capture time)."""
        from kplanediag.snapshot import SnapshotError, load_snapshot, parse_time  # noqa: PLC0415

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
                snapshot = load_snapshot(self.from_file)
                if now is not None and (snapshot.collected_at - now).total_seconds() > AT_BEFORE_CAPTURE:
                    click.echo(
                        f"kplanediag: warning: --at {self.at} is before the input's capture time "
                        f"({snapshot.collected_at.isoformat()}): Leases renewed after it count as fresh",
                        err=True,
                    )
                return snapshot, now
            except SnapshotError as exc:
                raise CannotAssess(str(exc)) from exc
        import time  # noqa: PLC0415

        from kplanediag.collect.errors import CollectError  # noqa: PLC0415

        deadline = time.monotonic() + self.deadline
        try:
            from kplanediag.collect.collector import collect  # noqa: PLC0415 (loads the API client)
            from kplanediag.collect.transport import connect  # noqa: PLC0415

            transport = connect(self.kubeconfig, self.context, self.request_timeout, deadline)
            preload_analysis()  # while collect mostly waits for the server
            return collect(transport, verbose=self.verbose), None
        except CollectError as exc:
            if self.verbose:
                import traceback  # noqa: PLC0415

                traceback.print_exc()
            # every class raised this far is exit 3 (errors.py); an unreachable server is a report
            raise CannotAssess(str(exc), exc.kind) from exc


def source_options(func: F) -> F:
    """The options that say where data comes from, passed to the command as one ``source: Source``."""
    options = [
        click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False),
            envvar="KUBECONFIG",
            help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).",
        ),
        click.option("--context", help="Kubeconfig context (default: the current context)."),
        click.option(
            "--request-timeout",
            type=float,
            callback=positive_seconds,
            default=5.0,
            show_default=True,
            metavar="SECONDS",
            help="Bound of each API request, from connect to the last byte; retried only on 429/503 with Retry-After.",
        ),
        click.option(
            "--deadline",
            type=float,
            callback=positive_seconds,
            default=30.0,
            show_default=True,
            metavar="SECONDS",
            help="Bound of the whole run: what is not collected by then is reported as not observed.",
        ),
        click.option(
            "--from",
            "from_file",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Analyse a saved snapshot or a `kubectl get ... -o json` List instead of a live cluster.",
        ),
        click.option(
            "--at",
            "at",
            metavar="TIMESTAMP",
            help="With --from: the time to judge at (RFC 3339). Default: capture time / newest in List.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Print what is collected, with timings, to stderr."),
    ]

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        kubeconfig: str | None,
        context: str | None,
        request_timeout: float,
        deadline: float,
        from_file: Path | None,
        at: str | None,
        verbose: bool,
        **kwargs: Any,
    ) -> Any:
        source = Source(kubeconfig, context, request_timeout, deadline, from_file, at, verbose)
        return func(*args, source=source, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def report_options(func: F) -> F:
    options = [
        click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True),
        click.option(
            "--fail-on",
            type=click.Choice(["warning", "critical", "never"]),
            default="warning",
            show_default=True,
            help="Lowest finding severity that makes the exit code non-zero.",
        ),
        click.option(
            "--etcd-quota",
            callback=byte_size,
            metavar="BYTES",
            help="etcd's --quota-backend-bytes (e.g. 8Gi), which etcd does not tell the API server. "
            "Default: the distribution's known default (2Gi on kubeadm, kind and RKE2), else the size is not judged.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def byte_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``8Gi``, ``2147483648``, ``500M``: a positive number of bytes (Kubernetes quantity suffixes)."""
    if value is None:
        return None
    text = value.strip()
    digits = text.rstrip("KkMmGgTtiB")
    suffix = text[len(digits) :].lower().removesuffix("b")
    try:
        number = float(digits)
    except ValueError:
        number = -1
    if suffix not in UNITS or not (0 < number < 2**60):  # also False for nan
        raise click.BadParameter(f"{value!r} is not a size in bytes (e.g. 8Gi, 2147483648)")
    return int(number * UNITS[suffix])


def run_report(sections: tuple[str, ...]) -> Callable[..., int]:
    def command(source: Source, output: str, fail_on: str, etcd_quota: int | None) -> int:
        from kplanediag.analysis.report import analyze  # noqa: PLC0415
        from kplanediag.render.as_json import render_json  # noqa: PLC0415
        from kplanediag.render.table import render_table  # noqa: PLC0415

        try:
            snapshot, now = source.load()
        except CannotAssess as exc:
            if output == "json":
                click.echo(exc.document(), nl=False)
            raise
        report = analyze(snapshot, now, etcd_quota=etcd_quota)
        text = render_json(report, sections) if output == "json" else render_table(report, sections)
        click.echo(text, nl=False)
        return THRESHOLDS[fail_on].get(report.status, EXIT_OK)

    return command


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kplanediag")
@click.pass_context
def cli(ctx: click.Context) -> int | None:
    """Which plane of this Kubernetes cluster is failing, what that breaks, and what still works.

    Without a command, runs `check`. Exit codes: 0 healthy, 1 warning, 2 critical, 3 could not assess.
    """
    if ctx.invoked_subcommand is None:
        result: int = ctx.invoke(check)
        return result
    return None


def report_command(name: str, sections: tuple[str, ...], short: str, help_text: str) -> click.Command:
    body = run_report(sections)

    @functools.wraps(body)
    def wrapper(**kwargs: Any) -> int:
        return body(**kwargs)

    wrapper.__doc__ = help_text
    return cli.command(name, short_help=short)(source_options(report_options(wrapper)))


check = report_command(
    "check",
    SECTIONS,
    "Everything in one report (the default).",
    "Components, findings and blast radius in one report (the default).",
)
report_command(
    "components",
    ("components",),
    "Every component, its plane and status.",
    "Every component with its plane, node, version, status and the evidence it was found by.",
)
report_command(
    "health", ("findings",), "Findings by plane.", "Findings (code, severity, component, subject, message) by plane."
)
report_command(
    "blast-radius",
    ("blastRadius",),
    "What each failure breaks.",
    "One entry per current failure: what breaks, what still works.",
)


@cli.group()
def snapshot() -> None:
    """Save what kplanediag collects, to analyse later with --from."""


@snapshot.command("save")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@source_options
def snapshot_save(file: Path, source: Source) -> int:
    """Collect the cluster (or read --from) and write the snapshot to FILE."""
    from kplanediag.snapshot import save_snapshot  # noqa: PLC0415

    snap, _ = source.load()
    try:
        save_snapshot(snap, file)
    except OSError as exc:
        raise CannotAssess(f"cannot write {file}: {exc.strerror}") from exc
    counts = ", ".join(f"{n} {k}" for k, n in snap.counts().items())
    click.echo(
        f"saved {file} ({counts or 'no lists'}; {len(snap.gaps)} gap(s)) at "
        f"{snap.collected_at.astimezone(UTC).isoformat()}",
        err=True,
    )
    return EXIT_OK if snap.reachable else EXIT_CRITICAL


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the run like Ctrl-C: at once, exit 3


def main(argv: list[str] | None = None) -> None:
    """Run the CLI with Nagios exit codes: click's usage errors become 3 instead of 2; Ctrl-C and
    SIGTERM end it at once with 3; an unexpected error is one line and 3 (its traceback with -v)."""
    import signal  # noqa: PLC0415

    args = sys.argv[1:] if argv is None else argv
    if threading_main():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        code = cli.main(args=args, prog_name="kplanediag", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("kplanediag: interrupted before the check completed: nothing was assessed", err=True)
        sys.exit(EXIT_UNKNOWN)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_UNKNOWN)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last guard: never a bare traceback and exit 1 at 3 a.m.
        if "-v" in args or "--verbose" in args:
            raise
        click.echo(f"kplanediag: internal error: {type(exc).__name__}: {exc} (-v shows the traceback)", err=True)
        sys.exit(EXIT_UNKNOWN)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def threading_main() -> bool:
    """Signal handlers can only be set from the main thread (tests may call main from others)."""
    import threading  # noqa: PLC0415

    return threading.current_thread() is threading.main_thread()
