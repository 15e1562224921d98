"""The redactor of ``--redact``: cluster-identifying strings to stable short tokens (``node-3f2a1c``),
and the text rule that applies them to any string."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets

from kplanediag.render.redact_policy import (
    RUNTIME_SCHEMES,
    URL_SCHEMES,
    generated_suffix,
    kept_name,
    kept_namespace,
)

# Tokens are keyed by a random per-run salt; the text rule covers names as DNS words, IPv4/IPv6 addresses,
# URLs, providerIDs. Pure: what is kept is in redact_policy.py, where the names come from and what is walked
# is in redact_apply.py.
TOKEN_HEX = 6  # 16.7 million tokens; a collision within a run gets a longer token instead
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = rf"(?P<email>(?<![\w.%+-])[A-Za-z0-9._%+-]+@{_LABEL}(?:\.{_LABEL})+)"
_TEXT = re.compile(
    r"(?P<url>(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>[^\s\"'<>|,;(){}\\`\x1b]*))"
    rf"|{_EMAIL}"
    r"|(?P<v6>(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![0-9A-Za-z:]))"
    r"|(?P<path>(?<![\w/.~-])(?:~|/home/[^/\s]+|/Users/[^/\s]+|/root)(?:/[^\s:()\"'<>]*)?)"
    rf"|(?P<word>{_LABEL}(?:\.{_LABEL})*)"
)
_NET = re.compile(
    r"(?P<url>(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>[^\s\"'<>|,;(){}\\`\x1b]*))"
    rf"|{_EMAIL}"
    r"|(?P<v6>(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![0-9A-Za-z:]))"
    r"|(?P<v4>(?<![0-9A-Za-z.-])\d{1,3}(?:\.\d{1,3}){3}(?![0-9A-Za-z-]|\.\d))"
)
_WORD = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def address_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _platform(host: str) -> bool:
    """An in-cluster name of the platform itself: ``kubernetes.default.svc``, ``localhost``."""
    return all(kept_name(label) or kept_namespace(label) for label in host.split("."))


class Redactor:
    """One run's mapping. ``name`` registers a string under a category (the token's prefix);
    ``text`` rewrites any string with what is registered, plus every address and URL it holds.
    The same string always gets the same token; tokens cannot be reversed by hashing guesses
    because the salt is random and never written out."""

    def __init__(self, salt: bytes | None = None) -> None:
        self._salt = salt if salt is not None else secrets.token_bytes(16)
        self.tokens: dict[str, str] = {}  # original -> token
        self.kept: set[str] = set()  # names seen and kept (system namespaces, components)
        self._used: set[str] = set()
        self._opaque: dict[str, str] = {}

    # --- registering ------------------------------------------------------------------------------

    def _token(self, original: str, category: str) -> str:
        digest = hmac.new(self._salt, original.encode(), hashlib.sha256).hexdigest()
        length = TOKEN_HEX
        while (token := f"{category}-{digest[:length]}") in self._used:
            length += 2
        self._used.add(token)
        return token

    def name(self, original: str, category: str) -> str:
        """The token of a name (registered on first sight); kept names are their own token."""
        if not original:
            return original
        if original in self.tokens:
            return self.tokens[original]
        if kept_name(original) or (category == "ns" and kept_namespace(original)):
            self.kept.add(original)
            return original
        token = self._compose(original)
        if token is None:
            token = self._token(original, category)
        self.tokens[original] = token
        return token

    def _person(self, original: str) -> str:
        token = self._token(original, "user")
        self.tokens[original] = token
        return token

    def person(self, original: str) -> str:
        """The token of a user name (a CSR's requester): never kept, even when it reads like a
        platform word ("admin"); ``system:`` identities keep their shape with names inside replaced."""
        if not original or original.startswith("system:"):
            return self.text(original)
        token = self.tokens.get(original) or self._person(original)
        last = original.rsplit(":", 1)[-1]  # "oidc:alice": "alice" alone in a message too
        if last != original and len(last) > 2 and last not in self.tokens:
            self.tokens[last] = token
        return token

    def opaque(self, original: str, category: str) -> str:
        """The token of a value that is no name (a label value, an image): never looked for in text."""
        if original not in self._opaque:
            self._opaque[original] = self._token(original, category)
        return self._opaque[original]

    def alias(self, original: str, token: str) -> None:
        """Another spelling of an already registered name (a node's short hostname)."""
        spelt = any(c.isalpha() for c in original) and address_of(original) is None  # never "10" of 10.0.4.4
        if spelt and original not in self.tokens and not kept_name(original):
            self.tokens[original] = token

    def _known(self, name: str) -> str | None:
        if name in self.tokens:
            return self.tokens[name]
        return name if kept_name(name) else None

    def _compose(self, name: str) -> str | None:
        """A name built from a known one: ``<owner>-<generated suffix>`` (ReplicaSets, pods, Jobs,
        EndpointSlices) or ``<component>-<node>`` (static pods). Longest known prefix first."""
        cut = len(name)
        while (cut := name.rfind("-", 0, cut)) > 0:
            prefix = self._known(name[:cut])
            if prefix is None:
                continue
            rest = name[cut + 1 :]
            if generated_suffix(name[cut:]):
                return f"{prefix}-{rest}"
            suffix = self._known(rest)
            if suffix is not None and (prefix, suffix) != (name[:cut], rest):
                return f"{prefix}-{suffix}"  # never two kept words glued: "check-endpoints" is a name
        return None

    # --- rewriting text ---------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """Every registered name, address and URL in ``value`` replaced."""
        return _TEXT.sub(self._match, value) if value else value

    def net(self, value: str) -> str:
        """Only addresses and URLs: safe on a whole rendered document (no word of it is a name)."""
        return _NET.sub(self._match, value) if value else value

    def _match(self, m: re.Match[str]) -> str:
        if m.group("url") is not None:
            return self._url(m.group("scheme"), m.group("rest"))
        if m.lastgroup == "email":  # a person: never kept, whatever its domain
            return self.tokens.get(m.group("email")) or self._person(m.group("email"))
        if m.group("v6") is not None:
            return self._ip(m.group("v6")) or _WORD.sub(self._word_match, m.group("v6"))
        if m.lastgroup == "path":  # a file in someone's home directory: its path names them
            return self.name(m.group("path"), "file")
        if m.lastgroup == "v4":
            return self._ip(m.group("v4")) or m.group("v4")
        return self._word(m.group("word"))

    def address(self, text: str) -> str:
        return self._ip(text) or text

    def _ip(self, text: str) -> str | None:
        ip = address_of(text)
        if ip is None:
            return None
        if ip.is_loopback or ip.is_unspecified:
            return text
        return self.name(ip.compressed, "ip")

    def _url(self, scheme: str, rest: str) -> str:
        lower = scheme.lower()
        if lower in RUNTIME_SCHEMES:
            return f"{scheme}://{rest}"  # a container runtime's version: kept
        if lower not in URL_SCHEMES:
            return f"{scheme}://{self.name(rest, 'id')}" if rest else f"{scheme}://"  # a providerID
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        authority, path = rest[:cut], rest[cut:]
        authority = authority.rsplit("@", 1)[-1]  # never a password
        host, port = authority, ""
        if authority.startswith("["):
            host, _, port = authority[1:].partition("]")
            host = f"[{self._ip(host) or self.name(host, 'host')}]"
        else:
            if authority.count(":") == 1:
                host, port = authority.split(":")
                port = ":" + port
            host = self._ip(host) or (host if _platform(host) else self.name(host, "host"))
        return f"{scheme}://{host}{port}{_WORD.sub(self._word_match, path)}"

    def _word_match(self, m: re.Match[str]) -> str:
        return self._word(m.group())

    def _word(self, word: str) -> str:
        if word in self.tokens:
            return self.tokens[word]
        if word in self.kept:
            return word  # never "<token>-dns" for openshift-dns, whatever "openshift" names
        if word[0].isdigit() and (ip := self._ip(word)) is not None:
            return ip
        labels = word.split(".")
        if len(labels) == 1:
            return self._compose(word) or word
        for k in range(len(labels) - 1, 0, -1):
            head = ".".join(labels[:k])
            if head in self.tokens:
                return self.tokens[head] + "." + self._word(".".join(labels[k:]))
        return self._word(labels[0]) + "." + self._word(".".join(labels[1:]))
