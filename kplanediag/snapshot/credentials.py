"""Credentials kept out of everything shown or saved: a URL's userinfo and what a server or proxy
echoes back of a request (an ``Authorization`` header in an error page)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

# Collect applies both where a URL or a server's text enters a snapshot or a message; loading a file applies
# them again, so an older snapshot or a bundle cannot carry one in either.
REDACTED = "[redacted]"
MIN_SECRET = 8  # a sent header value shorter than this is no credential ("gzip", "true")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@?#]*@")
_HEADER = re.compile(
    r"(?i)\b(?P<name>(?:proxy-)?authorization|x-auth-token|x-api-key|cookie|set-cookie|x-remote-user)"
    r"(?P<sep>\"?\s*[:=]\s*\"?)[^\r\n\",;]*"
)
_SCHEME_TOKEN = re.compile(r"(?i)\b(?P<scheme>bearer|basic|negotiate|token)\s+[A-Za-z0-9._~+/=-]{8,}")


def public_url(url: str) -> str:
    """``url`` without userinfo: ``https://user:pw@host:6443/x`` -> ``https://host:6443/x``."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\g<scheme>", url)
    if not parts.netloc or "@" not in parts.netloc:
        return _USERINFO.sub(r"\g<scheme>", url)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def scrub(text: str, sent: Iterable[str] = ()) -> str:
    """``text`` (a server's error message, a health check's output, an exception's words) with
    every value in ``sent`` (the headers a request carried), every credential header, bearer or
    basic token and URL userinfo replaced by ``[redacted]``."""
    if not text:
        return text
    for value in sent:
        if len(value) >= MIN_SECRET and value in text:
            text = text.replace(value, REDACTED)
            word = value.split(" ", 1)[-1]  # "Bearer abc..." echoed as its token alone
            if len(word) >= MIN_SECRET:
                text = text.replace(word, REDACTED)
    text = _HEADER.sub(lambda m: f"{m.group('name')}{m.group('sep')}{REDACTED}", text)
    text = _SCHEME_TOKEN.sub(lambda m: f"{m.group('scheme')} {REDACTED}", text)
    return _USERINFO.sub(r"\g<scheme>", text) if "@" in text else text
