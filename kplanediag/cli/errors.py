"""One format for everything the command line reports as an error: ``<program>: error: <one line>``
on stderr (kubectl's ``error: ...`` with the program's name, as invoked); a usage error adds where the
command's help is, as kubectl's ``See 'kubectl get --help' for usage.``"""

from __future__ import annotations

import os
import sys

import click


def program_name() -> str:
    """As invoked: ``kubectl planediag`` when run as the kubectl plugin (kubectl-planediag), else
    ``kplanediag``; so --help and usage errors show what the user typed."""
    return "kubectl planediag" if os.path.basename(sys.argv[0]).startswith("kubectl-") else "kplanediag"


def one_line(message: str) -> str:
    """A message of several lines (a YAML parser's, a server's) as one: its lines joined with "; "."""
    return "; ".join(" ".join(line.split()) for line in message.splitlines() if line.strip())


def echo_error(message: str, hint: str = "") -> None:
    click.echo(f"{program_name()}: error: {one_line(message)}", err=True)
    if hint:
        click.echo(hint, err=True)


def echo_usage_error(exc: click.UsageError) -> None:
    """click's usage errors (unknown option, bad value) in the one format, with where the help is."""
    path = exc.ctx.command_path if exc.ctx is not None else program_name()
    echo_error(exc.format_message(), f"See '{path} --help' for usage.")
