"""collect.answers.classify_ssl: which TLS failures are our configuration (exit 3) and which are an
outage (exit 2). The texts are OpenSSL's, as Python 3.11 words them."""

from __future__ import annotations

import pytest

from kplanediag.collect.answers import classify_ssl
from kplanediag.collect.errors import TLSError, UnreachableError

SERVER = "https://127.0.0.1:6443"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # envoy in front of three API servers, two of them paused (the HA kind cluster): an outage
        ("[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)", UnreachableError),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer", TLSError),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", TLSError),
    ],
)
def test_tls_failures_are_classified(text: str, kind: type[Exception]) -> None:
    error = classify_ssl(SERVER, Exception(text))
    assert type(error) is kind
    if kind is UnreachableError:
        assert "closed the connection during the TLS handshake" in str(error)
        assert error.exit_code == 2  # type: ignore[attr-defined]
