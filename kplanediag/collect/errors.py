"""The collect layer's error hierarchy: every failure to reach or read the API is one of these.

Imported without the official client, so that the CLI can name them without loading it.
"""

from __future__ import annotations


class CollectError(Exception):
    """Base of every collection error."""


class ConfigurationError(CollectError):
    """The kubeconfig or context cannot be used (missing, malformed, unknown context)."""


class AuthenticationError(CollectError):
    """The API server rejected the credentials (HTTP 401)."""


class UnreachableError(CollectError):
    """No HTTP answer from the API server within the timeout."""


class ListFailed(CollectError):
    """One list could not be read (an HTTP error, or a body that is not a list): a gap, not fatal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
