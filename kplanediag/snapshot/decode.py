"""JSON into typed objects, item by item: one malformed object becomes a counted, named gap, never
the loss of its whole list. Used for API list pages (the JSON fallback of collect) and for files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from kplanediag.snapshot.kinds import Resource
from kplanediag.snapshot.model import Gap

R = TypeVar("R", bound=Resource)
MAX_NAMED = 3  # bad items named in a gap; the rest are counted


class ListMeta(msgspec.Struct, frozen=True, kw_only=True):
    continue_: str = msgspec.field(default="", name="continue")
    resource_version: str = msgspec.field(default="", name="resourceVersion")


class ListPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a list response (or a whole kubectl List): the items still undecoded."""

    kind: str = ""
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    items: list[msgspec.Raw] | None = None


class _NamedMeta(msgspec.Struct):
    name: Any = None
    namespace: Any = None


class _Named(msgspec.Struct):
    kind: Any = None
    metadata: Any = None


PAGE_DECODER = msgspec.json.Decoder(ListPage)
_NAMED = msgspec.json.Decoder(_Named)


def describe_item(raw: bytes | msgspec.Raw) -> str:
    """``namespace/name`` of a malformed item when it has them, else its position is all we know."""
    try:
        meta = _NAMED.decode(raw).metadata
    except msgspec.DecodeError:
        return "an item that is not a JSON object"
    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
        ns = meta.get("namespace")
        return f"{ns}/{meta['name']}" if isinstance(ns, str) and ns else meta["name"]
    return "an item without a name"


@dataclass
class BadItems:
    """Items of one list that could not be read: how many, and the first few with their error."""

    resource: str
    count: int = 0
    named: list[str] = field(default_factory=list)

    def add(self, who: str, error: str) -> None:
        self.count += 1
        if len(self.named) < MAX_NAMED:
            self.named.append(f"{who} ({error})")

    def merge(self, other: BadItems) -> None:
        self.count += other.count
        self.named.extend(other.named[: max(0, MAX_NAMED - len(self.named))])

    def gap(self) -> Gap | None:
        if not self.count:
            return None
        more = f" and {self.count - len(self.named)} more" if self.count > len(self.named) else ""
        what = "1 item could not be read and is" if self.count == 1 else f"{self.count} items could not be read and are"
        return Gap(source=self.resource, reason=f"{what} left out: {', '.join(self.named)}{more}")


class ItemDecoder(Generic[R]):
    """Decodes JSON items of one kind into ``R``; bad items go to ``bad`` instead of raising."""

    def __init__(self, kind: type[R]) -> None:
        self._decoder = msgspec.json.Decoder(kind)

    def decode_into(self, raws: Iterable[msgspec.Raw], out: list[R], bad: BadItems) -> None:
        decode = self._decoder.decode
        for raw in raws:
            try:
                out.append(decode(raw))
            except msgspec.ValidationError as exc:
                bad.add(describe_item(raw), str(exc))
            except msgspec.DecodeError as exc:
                bad.add("an item", str(exc))
