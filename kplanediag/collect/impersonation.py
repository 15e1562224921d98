"""Impersonation as kubectl does it: ``--as``, ``--as-group``, ``--as-uid`` over the kubeconfig
user's ``as``, ``as-groups``, ``as-uid``, ``as-user-extra``, sent as Impersonate-* headers.

The official Python client ignores these fields. kubectl's rules (client-go clientcmd): a flag given
replaces the user's field (``--as-group`` replaces the whole ``as-groups`` list); groups, a uid or
extras without a user to impersonate are an invalid configuration; every group is its own
``Impersonate-Group`` header (the API server reads the repeated header, not a comma list).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from kplanediag.collect.errors import ConfigurationError

# client-go's headerKeyEscape keeps the characters legal in a header name; the rest is %-encoded
_HEADER_SAFE = "!#$&'*+-.^_`|~"


@dataclass(frozen=True)
class Impersonation:
    user: str | None = None
    groups: tuple[str, ...] = ()
    uid: str | None = None
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    @property
    def active(self) -> bool:
        return bool(self.user or self.groups or self.uid or self.extra)

    def over(self, base: Impersonation) -> Impersonation:
        """These (command-line) values over ``base`` (the kubeconfig's): each one given wins."""
        return Impersonation(
            user=self.user or base.user,
            groups=self.groups or base.groups,
            uid=self.uid or base.uid,
            extra=self.extra or base.extra,
        )

    def check(self, where: str) -> None:
        if self.user:
            return
        for what, given in (("groups", self.groups), ("uid", self.uid), ("user-extra", self.extra)):
            if given:
                raise ConfigurationError(
                    f"{where}: requesting {what} without impersonating a user (give --as, or the user's `as`)"
                )

    def headers(self) -> list[tuple[str, str]]:
        """The Impersonate-* headers, in order; a repeated name is a repeated header."""
        out: list[tuple[str, str]] = []
        if self.user:
            out.append(("Impersonate-User", self.user))
        out += [("Impersonate-Group", group) for group in self.groups]
        if self.uid:
            out.append(("Impersonate-Uid", self.uid))
        for key, values in self.extra:
            name = "Impersonate-Extra-" + quote(key, safe=_HEADER_SAFE)
            out += [(name, value) for value in values]
        return out


def from_user(user: dict[str, Any], where: str) -> Impersonation:
    """The impersonation fields of a kubeconfig user entry."""
    groups = user.get("as-groups") or []
    extra = user.get("as-user-extra") or {}
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ConfigurationError(f"{where}: the user's as-groups is not a list of strings")
    if not isinstance(extra, dict) or not all(isinstance(v, list) for v in extra.values()):
        raise ConfigurationError(f"{where}: the user's as-user-extra is not a map of lists of strings")
    return Impersonation(
        user=str(user["as"]) if user.get("as") else None,
        groups=tuple(groups),
        uid=str(user["as-uid"]) if user.get("as-uid") else None,
        extra=tuple((str(k), tuple(str(v) for v in values)) for k, values in extra.items()),
    )
