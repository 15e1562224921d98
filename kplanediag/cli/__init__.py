"""Command line: ``kplanediag check | components | health | blast-radius | timeline | wait | watch |
serve | diff | explain | snapshot save | options | completion``."""

from __future__ import annotations

import sys

import click

from kplanediag.cli.errors import echo_error, echo_usage_error, program_name
from kplanediag.cli.group import cli  # its commands are imported when used (cli/group.py)
from kplanediag.cli.options import EXIT_OK, EXIT_UNKNOWN, CannotAssess

__all__ = ["cli", "main", "program_name"]


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the run like Ctrl-C: at once, exit 3


# Exit codes follow the Nagios plugin convention: 0 healthy, 1 warning, 2 critical, 3 could not assess (bad
# kubeconfig, authentication failure, unreadable input, usage error).
def main(argv: list[str] | None = None) -> None:
    """Run the CLI with Nagios exit codes: click's usage errors become 3 instead of 2; Ctrl-C and
    SIGTERM end it at once with 3; an unexpected error is one line and 3 (its traceback with -v)."""
    import signal  # noqa: PLC0415

    args = sys.argv[1:] if argv is None else argv
    if threading_main():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        code = cli.main(args=args, prog_name=program_name(), standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        echo_error("interrupted before the check completed: nothing was assessed")
        sys.exit(EXIT_UNKNOWN)
    except click.UsageError as exc:
        echo_usage_error(exc)
        sys.exit(EXIT_UNKNOWN)
    except click.ClickException as exc:
        if isinstance(exc, CannotAssess):
            exc.show()  # and its JSON document, where -o json asked for one
        else:
            echo_error(exc.format_message())
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last guard: never a bare traceback and exit 1 at 3 a.m.
        if "-v" in args or "--verbose" in args:
            raise
        echo_error(f"internal: {type(exc).__name__}: {exc} (-v shows the traceback)")
        sys.exit(EXIT_UNKNOWN)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def threading_main() -> bool:
    """Signal handlers can only be set from the main thread (tests may call main from others)."""
    import threading  # noqa: PLC0415

    return threading.current_thread() is threading.main_thread()
