"""Peer tools measured beside kplanediag by ``bench.live --peer NAME=COMMAND`` (never built here):
each COMMAND runs with the bench cluster's kubeconfig in KUBECONFIG and in ``{kubeconfig}``."""

from __future__ import annotations

import shlex
from pathlib import Path

PREFIX = "peer: "
OK = tuple(range(0, 8))  # linters exit non-zero when they find something: only a crash (signal, >7) fails


class PeerError(ValueError):
    """A --peer value that is not NAME=COMMAND."""


def parse_peer(text: str) -> tuple[str, list[str]]:
    """``popeye=popeye -A -o json`` -> ("popeye", ["popeye", "-A", "-o", "json"])."""
    name, sep, command = text.partition("=")
    if not sep or not name.strip() or not command.strip():
        raise PeerError(f"--peer {text!r}: expected NAME=COMMAND, such as 'popeye=popeye -A -o json'")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise PeerError(f"--peer {text!r}: {exc}") from exc
    return name.strip(), argv


def peer_command(argv: list[str], kubeconfig: Path) -> tuple[list[str], dict[str, str]]:
    """The command with ``{kubeconfig}`` filled in, and the environment it runs with."""
    return [a.replace("{kubeconfig}", str(kubeconfig)) for a in argv], {"KUBECONFIG": str(kubeconfig)}
