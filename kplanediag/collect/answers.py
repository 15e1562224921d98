"""An API server's answer as collect reads it (Response, its Date header), and a failed TLS handshake
classified into the collect errors (errors.py)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from kplanediag.collect.errors import AuthenticationError, CredentialError, TLSError, TooLarge, UnreachableError
from kplanediag.snapshot.credentials import scrub
from kplanediag.snapshot.model import THROTTLED

JSON = "application/json"
_REJECTED_CERT = ("certificate required", "bad certificate", "unknown ca", "certificate unknown", "access denied")
_BAD_CLIENT_CREDENTIAL = ("PEM lib", "KEY_VALUES_MISMATCH", "NO_START_LINE", "no start line", "bad decrypt")


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    server_time: datetime | None
    seconds: float
    content_type: str = JSON
    retry_after: float | None = None
    sent: tuple[str, ...] = ()  # the request's header values: never shown back (credentials.scrub)
    received: datetime | None = None  # this machine's clock when the answer's headers arrived
    bad_date: str = ""  # a Date header that is no possible time (server_time is then None)

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        """The body as text to show or keep, with anything of the request it echoes scrubbed."""
        return scrub(self.body.decode("utf-8", errors="replace"), self.sent)

    def reason(self) -> str:
        """A short reason for a failed request: the Status message or the HTTP status."""
        try:
            message = self.json().get("message")
        except (ValueError, AttributeError):
            message = None
        names = {401: "unauthorized", 403: "forbidden", 404: "not found", 429: THROTTLED}
        return names.get(self.status) or scrub(str(message or f"HTTP {self.status}"), self.sent)[:200]


_CUT_OFF = ("UNEXPECTED_EOF_WHILE_READING", "EOF occurred in violation of protocol", "Connection reset by peer")


def classify_ssl(server: str, exc: Exception, tls_server_name: str | None = None) -> Exception:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip(" :)")
        named = f"the cluster's tls-server-name {tls_server_name!r}" if tls_server_name else "this server"
        return TLSError(
            f"cannot verify the certificate of {server} ({detail or 'verification failed'}): it is not signed "
            f"by the kubeconfig's certificate-authority, or does not name {named}"
        )
    if any(s in text for s in _BAD_CLIENT_CREDENTIAL):
        return CredentialError(f"the kubeconfig's client certificate or key cannot be used for {server}: {text}")
    if any(s in text for s in _REJECTED_CERT):
        return AuthenticationError(f"{server} rejected the client certificate: {text}")
    if any(s in text for s in _CUT_OFF):
        # nothing is wrong with our side: something accepted the connection and closed it mid-handshake
        return UnreachableError(
            f"{server} closed the connection during the TLS handshake: a load balancer with no healthy "
            f"API server behind it does this ({text})"
        )
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return TLSError(
            f"{server} does not speak TLS (its answer is no TLS handshake): is the kubeconfig's URL http://?"
        )
    return TLSError(f"TLS handshake with {server} failed: {text}")


def server_date(date: str) -> datetime | None:
    """An HTTP Date header as a time; None when absent or no possible time: unparseable, a year
    that is not the one written (``01 Jan 0001`` reads as 2001), or before 2000."""
    if not date:
        return None
    try:
        when = parsedate_to_datetime(date).astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    return when if str(when.year) in date and when.year >= 2000 else None


def inflate(unzip: Any, data: bytes, room: int, where: str) -> bytes:
    """``data`` of a gzip body decompressed: at most ``room`` bytes and one more, so that a body that
    inflates past the input limit is refused by the caller, never held; a damaged stream is refused."""
    try:
        out: bytes = unzip.decompress(data, max(0, room) + 1)
    except zlib.error as exc:
        raise TooLarge(f"{where}: the gzip answer is damaged: {exc}") from exc
    return out
