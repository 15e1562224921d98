"""The collect layer's error hierarchy: every failure to reach or read the API is one of these,
and the class decides the exit code and the message (``EXIT`` below; the CLI only looks it up).

- UnreachableError: no complete HTTP answer in time. The API server is down for everyone:
  critical (exit 2), reported with its blast radius.
- ConfigurationError and AuthenticationError: kplanediag could not assess the cluster at all
  (exit 3, Nagios UNKNOWN): the kubeconfig, its credentials or the TLS setup are wrong, not the
  cluster. Reporting these as an outage would send the on-call engineer after the wrong problem.
- ListFailed: one list or probe could not be read (forbidden, throttled, malformed): a named gap;
  what depends on it is reported unknown.

Imported without urllib3, so that the CLI can name them without loading the connection.
"""

from __future__ import annotations


class CollectError(Exception):
    """Base of every collection error."""

    exit_code = 3
    kind = "error"


class ConfigurationError(CollectError):
    """The kubeconfig or context cannot be used (missing, malformed, unknown context, no server)."""

    kind = "configuration"


class CredentialError(ConfigurationError):
    """The kubeconfig's credentials cannot be used (a client key that is not a key, a failing or
    missing exec plugin)."""

    kind = "credentials"


class TLSError(ConfigurationError):
    """The TLS handshake failed on our side: the server certificate does not verify against the
    kubeconfig's CA, or the server does not speak TLS where the kubeconfig says https (or speaks
    it where the kubeconfig says http)."""

    kind = "tls"


class AuthenticationError(CollectError):
    """The API server rejected the credentials (HTTP 401, or a rejected client certificate)."""

    kind = "authentication"


class UnreachableError(CollectError):
    """No complete HTTP answer from the API server within the timeout (or the run's deadline)."""

    exit_code = 2
    kind = "unreachable"


class DeadlineExceeded(UnreachableError):
    """The run's deadline passed before this request could be made or finished."""

    kind = "deadline"


class Stalled(UnreachableError):
    """Not one byte of an answer within the request timeout: the server took the request and
    stalls. After one, the lists not yet requested are not (each would wait as long)."""

    kind = "unreachable"


class Interrupted(CollectError):
    """Ctrl-C (or SIGTERM): the run was stopped before it could assess anything."""

    kind = "interrupted"


class ListFailed(CollectError):
    """One list could not be read (an HTTP error, or a body that is not a list): a gap, not fatal."""

    kind = "list"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(ListFailed):
    """An answer past the input limit (``--max-input``), or in an encoding not asked for: not
    decoded. A list's is a named gap; /version's ends the run (exit 3) with the limit in its words."""

    kind = "limit"
