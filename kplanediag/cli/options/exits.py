"""The exit codes, the --fail-on thresholds, and the one exception that ends a run with exit 3."""

from __future__ import annotations

from typing import Any

import click

from kplanediag.cli.errors import echo_error

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3
THRESHOLDS = {
    "warning": {"warning": EXIT_WARNING, "critical": EXIT_CRITICAL},
    "critical": {"critical": EXIT_CRITICAL},
    "never": {},
}


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
