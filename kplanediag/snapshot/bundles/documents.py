"""One bundle file as JSON documents, whatever it holds: a List, a bare JSON array of objects
(sonobuoy), one object (must-gather's per-object files), JSON or YAML, one YAML document or several.
Each document comes out as (list kind, list apiVersion, undecoded items)."""

from __future__ import annotations

from typing import Any

import msgspec

from kplanediag.snapshot.errors import NOT_AN_OBJECT, SnapshotError
from kplanediag.snapshot.limits import YAML_SHARE, max_input, too_large

SHARED_SCALAR = 32  # a string this long met twice as one object was written once: an alias


class _Doc(msgspec.Struct):
    kind: Any = None
    apiVersion: Any = None
    items: Any = msgspec.field(default=None)


class _ListDoc(msgspec.Struct):
    items: list[msgspec.Raw] | None = None


Document = tuple[str, str, list[msgspec.Raw]]


# Keys of the API's objects that no kind kplanediag reads has (kinds.py, api_kinds.py: checked by
# unread_keys_are_unread), whose subtrees are most of what parsing a large must-gather costs.
UNREAD = (
    "managedFields",
    "annotations",
    "template",
    "env",
    "envFrom",
    "volumeMounts",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "command",
    "args",
    "securityContext",
    "lastState",
)
_UNREAD = tuple(f"{key}:".encode() for key in UNREAD)


def read_keys() -> set[str]:
    """Every JSON key of the objects kplanediag reads (the fields of every Struct of kinds.py)."""
    from kplanediag.snapshot.kinds import Base  # noqa: PLC0415

    keys: set[str] = set()
    todo: list[type[Any]] = [Base]
    while todo:
        cls = todo.pop()
        keys.update(getattr(cls, "__struct_encode_fields__", ()))
        todo.extend(cls.__subclasses__())
    return keys


def prune_yaml(data: bytes) -> bytes:
    """Block YAML without the subtrees of UNREAD keys. A key's subtree is every line indented
    deeper, and a sequence's ``- `` items at the key's own indent."""
    if not any(key in data for key in _UNREAD):
        return data
    out: list[bytes] = []
    skip = -1  # the indent of the key being dropped, or -1
    for line in data.splitlines(keepends=True):
        text = line.lstrip(b" ")
        indent = len(line) - len(text)
        if skip >= 0:
            if not text.strip() or indent > skip or (indent == skip and text.startswith(b"- ")):
                continue
            skip = -1
        if text.rstrip() in _UNREAD:
            skip = indent
            continue
        out.append(line)
    return b"".join(out)


def yaml_documents(data: bytes, where: str) -> list[bytes]:
    """Every YAML document of ``data`` as JSON (empty documents dropped)."""
    try:
        import yaml  # noqa: PLC0415 (PyYAML, msgspec's YAML backend)
    except ImportError as exc:
        raise SnapshotError(f"{where} is not JSON, and reading YAML needs PyYAML") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    limit = max_input() // YAML_SHARE  # of the YAML parsed, once unread subtrees are dropped
    try:
        data = prune_yaml(data)
        if len(data) > limit:
            raise SnapshotError(too_large(f"{where} (YAML, without the fields kplanediag never reads)", limit))
        docs = [doc for doc in yaml.load_all(data, Loader=loader) if doc is not None]
        if any(_aliased(doc) for doc in docs):
            raise SnapshotError(f"{where}: YAML aliases (*name) are not read: kubectl never writes them")
        return [msgspec.json.encode(doc) for doc in docs]
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, TypeError) as exc:
        raise SnapshotError(f"{where} is not JSON or YAML: {exc}") from exc


def _aliased(doc: Any) -> bool:
    """Whether the loaded document uses an alias, found in its structure (not its text): the loader
    gives every alias of a node the one object it built for it, so an object met twice is one.
    Linear in the objects built; what would be expanded (to JSON, exponentially) is never walked."""
    seen: set[int] = set()
    todo = [doc]
    while todo:
        value = todo.pop()
        if isinstance(value, (dict, list)) or (isinstance(value, str) and len(value) >= SHARED_SCALAR):
            if id(value) in seen:
                return True
            seen.add(id(value))
            if isinstance(value, dict):
                todo.extend(value.keys())
                todo.extend(value.values())
            elif isinstance(value, list):
                todo.extend(value)
    return False


def json_documents(data: bytes, where: str) -> list[bytes]:
    stripped = data.lstrip()
    return [stripped] if stripped[:1] in (b"{", b"[") else yaml_documents(data, where)


def documents(data: bytes, where: str) -> list[Document]:
    """The documents of one file; a SnapshotError when it is neither JSON nor YAML objects."""
    out: list[Document] = []
    for doc in json_documents(data, where):
        try:
            if doc[:1] == b"[":
                out.append(("", "", msgspec.json.decode(doc, type=list[msgspec.Raw])))
                continue
            head = msgspec.json.decode(doc, type=_Doc)
            kind = head.kind if isinstance(head.kind, str) else ""
            api = head.apiVersion if isinstance(head.apiVersion, str) else ""
            if isinstance(head.items, list):
                items = msgspec.json.decode(doc, type=_ListDoc).items or []
                out.append((kind, api, items))
            elif head.items is None:  # one object: it is its own only item
                out.append(("", "", [msgspec.Raw(doc)]))
            else:
                raise SnapshotError(f"{where}: items is not an array")
        except (msgspec.DecodeError, RecursionError) as exc:
            raise SnapshotError(f"{where} is not JSON or YAML objects: {exc}") from exc
    return out


def yaml_as_one(data: bytes, where: str) -> bytes:
    """YAML as one JSON document: several documents become one List (the items of Lists, with the
    kind of a typed list put back, and single objects as they are)."""
    docs = [msgspec.json.decode(d) for d in yaml_documents(data, where)]
    if len(docs) == 1:
        return msgspec.json.encode(docs[0])
    if not docs:
        raise SnapshotError(f"{where}: {NOT_AN_OBJECT}")
    items: list[Any] = []
    for doc in docs:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                if isinstance(item, dict) and "kind" not in item and kind != "List":
                    item["kind"] = kind.removesuffix("List")
                items.append(item)
        else:
            items.append(doc)
    return msgspec.json.encode({"kind": "List", "apiVersion": "v1", "items": items})
