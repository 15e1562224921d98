"""credentials.py: URL userinfo removed, echoed request headers and tokens scrubbed from server text
(the shapes are those of real answers: Go's net/http error page, an nginx ingress echo, a kubectl
``-v=8`` header line, a proxy URL as HTTPS_PROXY holds it)."""

from __future__ import annotations

import pytest

from kplanediag.snapshot.credentials import REDACTED, public_url, scrub

TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.payload.signature"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://ops:s3cret@10.0.0.1:6443", "https://10.0.0.1:6443"),
        ("https://ops:s3cret@[2001:db8::1]:6443/k8s/clusters/c-1", "https://[2001:db8::1]:6443/k8s/clusters/c-1"),
        ("http://user%40corp:p%3Aw@proxy.corp:3128", "http://proxy.corp:3128"),
        ("https://token@api.example.com", "https://api.example.com"),
        ("https://api.example.com/path@v1", "https://api.example.com/path@v1"),
        ("https://10.0.0.1:6443", "https://10.0.0.1:6443"),
        ("https://a:b@[bad", "https://[bad"),
    ],
)
def test_public_url(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_scrub_removes_what_was_sent_and_credential_shapes() -> None:
    sent = (f"Bearer {TOKEN}", "system:serviceaccount:ops:diag")
    echoed = f"upstream said: Authorization: Bearer {TOKEN}\r\nImpersonate-User: system:serviceaccount:ops:diag"
    out = scrub(echoed, sent)
    assert TOKEN not in out and "ops:diag" not in out and "upstream said" in out
    assert scrub(f"token {TOKEN} rejected", sent) == f"token {REDACTED} rejected"  # the token alone
    assert scrub(f'{{"authorization":"Bearer {TOKEN}"}}') == f'{{"authorization":"{REDACTED}"}}'
    assert scrub("Get https://u:pw@10.0.0.1:6443/api: EOF") == "Get https://10.0.0.1:6443/api: EOF"
    assert scrub("Cookie: session=abcdef0123456789; path=/") == f"Cookie: {REDACTED}; path=/"
    assert scrub("basic dXNlcjpwYXNzd29yZA== denied") == f"basic {REDACTED} denied"
    plain = 'pods is forbidden: User "alice@example.com" cannot list resource "pods"'
    assert scrub(plain, ("gzip", "true")) == plain  # short values and words without credentials stay
