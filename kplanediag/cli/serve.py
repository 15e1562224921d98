"""``kplanediag serve``: the check every --interval on the shared polling loop, its latest report
served as Prometheus metrics, a status page and the -o json document, with /healthz and /readyz
(docs/serve.md). A failed check keeps the last good report, marked stale; SIGTERM ends it at once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kplanediag.analysis.tick import Tick
from kplanediag.cli.config import fit_options, read_fit
from kplanediag.cli.options import CannotAssess, Source, byte_size, duration, source_options
from kplanediag.cli.poll import poll
from kplanediag.cli.watching import watching

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

    from kplanediag.serve.state import State
    from kplanediag.serve.token import TokenFile

# 30s: shorter than the node Lease's 40s and the node-monitor grace period (40-50s), so a silent
# node shows within one grace period; about the scrape interval Prometheus is usually given; and after
# the first check a check costs what changed (its lists are kept by watches), so 2 a minute cost little.
DEFAULT_INTERVAL = "30s"
F = TypeVar("F", bound="Callable[..., Any]")


def token_file_of(path: Path) -> TokenFile:
    """The --token-file, read now (a usage error if it cannot be) and re-read when it changes."""
    from kplanediag.serve.http import log  # noqa: PLC0415
    from kplanediag.serve.token import TokenFile  # noqa: PLC0415

    try:
        return TokenFile(path, log)
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--token-file") from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--token-file") from exc


def tls_of(tls_cert: Path | None, tls_key: Path | None) -> ssl.SSLContext | None:
    """The TLS context of --tls-cert and --tls-key (None: plain HTTP); exit 3 when they cannot be used."""
    from kplanediag.serve.http import tls_context  # noqa: PLC0415

    if tls_cert is None or tls_key is None:
        return None
    try:
        return tls_context(tls_cert, tls_key)
    except (OSError, ValueError) as exc:
        raise CannotAssess(f"cannot use --tls-cert {tls_cert} / --tls-key {tls_key}: {exc}", "tls") from exc


def recorder(state: State, stop: threading.Event) -> Callable[[Tick], bool]:
    """The polling loop's ``done``: each check recorded in ``state`` and logged; True once stopped."""
    from kplanediag.serve.http import log  # noqa: PLC0415

    def done(tick: Tick) -> bool:
        kind = state.record(tick)
        if kind is None:
            assert tick.report is not None
            log(f"check {tick.number}: {tick.report.summary} ({tick.seconds:.1f}s)")
        else:
            view = state.view()
            kept = "the last good report, marked stale" if view.report is not None else "no report yet"
            message = (view.last_failure.message if view.last_failure else "").replace("\n", " ")
            log(f"check {tick.number} failed ({kind}, {tick.seconds:.1f}s): {message}; serving {kept}")
        return stop.is_set()

    return done


# serve's own options, in --help's order (the source and --config options follow)
SERVE_OPTIONS = (
    click.option(
        "--interval",
        callback=duration,
        default=DEFAULT_INTERVAL,
        show_default=True,
        help="Time from the end of one check to the start of the next (docs/serve.md says why 30s).",
    ),
    click.option("--listen", default=":8080", show_default=True, metavar="HOST:PORT", help="Address to serve on."),
    click.option(
        "--tls-cert",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Serve HTTPS: PEM certificate (chain).",
    ),
    click.option(
        "--tls-key",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="The certificate's PEM private key.",
    ),
    click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Require 'Authorization: Bearer <the file's content>' on every path but /healthz and /readyz; "
        "re-read when the file changes (a rotated Secret).",
    ),
    click.option(
        "--etcd-quota",
        callback=byte_size,
        metavar="BYTES",
        help="etcd's --quota-backend-bytes (e.g. 8Gi), as for check.",
    ),
)


def serve_options(command: F) -> F:
    """The decorators of SERVE_OPTIONS, applied in order."""
    for option in reversed(SERVE_OPTIONS):
        command = option(command)
    return command


@click.command("serve", short_help="Check every --interval; serve metrics, a status page and the report.")
@serve_options
@source_options
@fit_options
def serve_command(
    source: Source,
    interval: float,
    listen: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    token_file: Path | None,
    etcd_quota: int | None,
    config_path: Path | None = None,
    ignore: tuple[str, ...] = (),
) -> int:
    """Check the cluster every --interval (one check at a time, each bounded by --deadline) and
    serve the latest report: /metrics (Prometheus), / (status page), /report.json (the -o json
    document), /healthz and /readyz (a check succeeded within 3 intervals).

    In a pod it uses the ServiceAccount; else the kubeconfig. A failed check keeps the last report,
    marked stale, and is counted by class. SIGTERM or Ctrl-C stop it at once (exit 0)."""
    from kplanediag.serve.http import log, make_server, url  # noqa: PLC0415
    from kplanediag.serve.state import State  # noqa: PLC0415

    if source.fleet:
        raise click.UsageError("serve follows one cluster: give one --context")
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    fit = read_fit(source, config_path, ignore)  # read once: a changed config needs a restart
    token = token_file_of(token_file) if token_file is not None else None
    tls = tls_of(tls_cert, tls_key)
    source = watching(source)  # the lists through watches kept between checks (docs/serve.md)
    state = State(interval, watch_status=source.cache.statuses if source.cache is not None else None)
    try:
        server = make_server(listen, state, token, tls)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from exc
    except OSError as exc:
        raise CannotAssess(f"cannot listen on {listen}: {exc.strerror or exc}", "listen") from exc
    stop = threading.Event()

    def loop() -> None:
        try:
            done = recorder(state, stop)
            poll(source, interval, None, done, etcd_quota, sleep=stop.wait, survive=True, fit=fit)
        except BaseException as exc:  # the loop is the process's purpose: say why it ended
            log(f"the polling loop ended: {type(exc).__name__}: {exc}")

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    threading.Thread(target=loop, name="poll", daemon=True).start()
    log(f"listening on {url(server, tls is not None)}, checking every {interval:g}s")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:  # SIGINT, and SIGTERM (kplanediag.cli.main makes it one)
        stop.set()
    server.shutdown()
    server.server_close()
    log("stopped")
    return 0
