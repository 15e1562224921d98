"""Property-based fuzzing of ``--from`` in-process: snapshots (versions 1 and 2) and kubectl Lists
of every shape, as JSON or YAML, whole or damaged, go through what ``check --from`` runs (load_bytes,
analyze at the capture time or at a --at, render_json, render_table), and the only exception allowed
is SnapshotError. A snapshot that loads must also survive ``snapshot save`` and load again.

The documents are drawn from the typed model itself (``msgspec.inspect`` of Snapshot and of each
kind): every known field is present or missing, of its type or of any other JSON value, next to
unknown fields; strings come from the words analysis compares against (its string constants), so
the rules really fire. Derandomized, so that ``make test`` sees the same examples every run;
``KPLANEDIAG_FUZZ=explore`` draws new ones, ten times as many.
"""

from __future__ import annotations

import ast
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kplanediag.analysis.report import analyze
from kplanediag.render import SECTIONS
from kplanediag.render.as_json import render_json
from kplanediag.render.table import render_table
from kplanediag.snapshot import Snapshot, SnapshotError, load_bytes
from kplanediag.snapshot.model import RESOURCE_OF_KIND
from kplanediag.snapshot.registry import KIND_SPECS
from kplanediag.snapshot.writer import encode_snapshot

ROOT = Path(__file__).parents[2]
settings.register_profile(
    "broken",
    max_examples=200,
    deadline=None,
    database=None,  # nothing written into the work tree
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("broken-explore", parent=settings.get_profile("broken"), max_examples=2000, derandomize=False)
FUZZ = settings.get_profile("broken-explore" if os.environ.get("KPLANEDIAG_FUZZ") == "explore" else "broken")


def _analysis_words() -> list[str]:
    """The short string constants of kplanediag/analysis: label keys, condition types, names."""
    words: set[str] = set()
    for path in sorted((ROOT / "kplanediag" / "analysis").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and 0 < len(value) <= 60 and "\n" not in value and "{" not in value:
                words.add(value)
    return sorted(words)


WORDS = _analysis_words()
BASE = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

texts = st.one_of(st.sampled_from(["", "True", "False", "Unknown", *WORDS]), st.text(max_size=12))
ints = st.one_of(st.integers(-3, 10), st.integers(-(2**70), 2**70))
timestamps = st.one_of(
    st.integers(-400_000, 400_000).map(lambda s: (BASE + timedelta(seconds=s)).isoformat().replace("+00:00", "Z")),
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-23T03:00:00", "2026-13-45T99:00:00Z"]),
    st.sampled_from(["2026-11-23T03:00:00.123456+14:00", "2026-11-23T03:00:00-12:00", "yesterday", ""]),
)
scalars = st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False, allow_infinity=False), texts, timestamps)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=5,
)


def mostly(strategy: st.SearchStrategy[Any], odds: int = 7) -> st.SearchStrategy[Any]:
    """``strategy``, or one time in ``odds + 1`` any JSON value."""
    return st.one_of(*[strategy] * odds, json_values)


_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {}  # by Struct class


def conforming(t: mi.Type) -> st.SearchStrategy[Any]:
    """JSON values of the type ``t``, each of whose parts may be of another shape."""
    if not isinstance(t, mi.StructType):
        return _conforming(t)
    if t.cls not in _STRATEGIES:
        _STRATEGIES[t.cls] = _conforming(t)
    return _STRATEGIES[t.cls]


def value_of(t: mi.Type) -> st.SearchStrategy[Any]:
    """Mostly a value of ``t``; one time in twenty-five, any JSON value."""
    return st.one_of(*[conforming(t)] * 24, json_values)


def _conforming(t: mi.Type) -> st.SearchStrategy[Any]:
    if isinstance(t, mi.StructType):  # required fields are there (or the whole value is another), others may be
        required = {f.encode_name: value_of(f.type) for f in t.fields if f.required}
        optional = {f.encode_name: value_of(f.type) for f in t.fields if not f.required}
        if t.tag_field is not None:
            optional[t.tag_field] = st.one_of(st.just(t.tag), st.just(t.tag), texts)
        known = st.fixed_dictionaries(required, optional=optional)
        return st.tuples(known, st.dictionaries(texts, mostly(scalars), max_size=1)).map(
            lambda parts: {**parts[1], **parts[0]}
        )
    if isinstance(t, mi.UnionType):
        return st.one_of([conforming(member) for member in t.types])
    if isinstance(t, mi.StrType):
        return texts
    if isinstance(t, mi.IntType):
        return ints
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.DateTimeType):
        return timestamps
    if isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        return st.lists(value_of(t.item_type), max_size=3)
    if isinstance(t, (mi.DictType, mi.FrozenDictType)):
        return st.dictionaries(texts, value_of(t.value_type), max_size=3)
    return json_values


KIND_INFO = {s.name: mi.type_info(s.kind) for s in KIND_SPECS if s.wire == "protobuf"}
OF_RESOURCE = {RESOURCE_OF_KIND[name]: info for name, info in KIND_INFO.items()}
objects = st.one_of([conforming(info) for info in KIND_INFO.values()])
SNAPSHOT = mi.type_info(Snapshot)
assert isinstance(SNAPSHOT, mi.StructType)
SNAPSHOT_FIELDS = {f.encode_name: f.type for f in SNAPSHOT.fields}


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    """Some lists of a snapshot, each of its kind's objects (or, rarely, of any kind or value)."""
    names = draw(st.lists(st.sampled_from(sorted(OF_RESOURCE)), max_size=4, unique=True))
    lists: dict[str, Any] = {}
    for name in names:
        item = st.one_of(*[conforming(OF_RESOURCE[name])] * 6, objects, json_values)
        lists[name] = draw(mostly(st.lists(item, max_size=3)))
    return {**draw(st.dictionaries(texts, json_values, max_size=1)), **lists}


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any]:
    """A saved snapshot: version 2 (typed fields) or 1 (whole objects, here with unknown fields)."""
    fields = {name: value_of(t) for name, t in SNAPSHOT_FIELDS.items() if name != "resources"}
    doc: dict[str, Any] = draw(st.fixed_dictionaries({}, optional=fields))
    doc["resources"] = draw(mostly(resources(), 24))
    head: dict[str, Any] = {"kind": draw(st.sampled_from(["KplanediagSnapshot"] * 14 + ["List", 7]))}
    version = draw(st.sampled_from(["snapshotVersion"] * 3 + ["schemaVersion"] * 3 + ["both"]))
    if version in ("snapshotVersion", "both"):
        head["snapshotVersion"] = draw(st.sampled_from([2] * 6 + [1, 3, "2", None]))
    if version in ("schemaVersion", "both"):
        head["schemaVersion"] = draw(st.sampled_from([1] * 6 + [2, 0, None]))
    if draw(st.integers(0, 9)):  # a capture time, mostly
        doc["collectedAt"] = draw(timestamps)
    if draw(st.integers(0, 9)):
        doc["source"] = draw(st.sampled_from(["live", "snapshot", "kubectl-list"]))
    return {**head, **doc}


@st.composite
def kubectl_lists(draw: st.DrawFn) -> dict[str, Any]:
    """``kubectl get ... -o json``: a ``kind: List`` of objects with kinds, or a typed list."""
    kind = draw(st.sampled_from(["List", "List", "List", *(f"{k}List" for k in KIND_INFO), "ConfigMapList"]))
    typed = KIND_INFO.get(kind.removesuffix("List"))
    items = mostly(objects if typed is None else conforming(typed))
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": kind}
    doc["items"] = draw(mostly(st.lists(items, max_size=5), 15))
    doc["metadata"] = draw(mostly(st.just({"resourceVersion": "1"}), 15))
    for item in doc["items"] if isinstance(doc["items"], list) else ():
        if isinstance(item, dict) and isinstance(item.get("metadata", {}), dict) and draw(st.integers(0, 4)):
            item.setdefault("metadata", {})["creationTimestamp"] = draw(timestamps)  # the List's "now" comes from these
    return doc


YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@st.composite
def encoded(draw: st.DrawFn, doc: Any) -> bytes:
    """``doc`` as JSON or YAML, or as JSON cut short or with a few bytes replaced."""
    how = draw(st.sampled_from(["json", "yaml", "truncated", "replaced"]))
    if how == "yaml":
        return yaml.dump(doc, Dumper=YAML_DUMPER).encode()
    as_json = json.dumps(doc).encode()
    if how == "truncated":
        return as_json[: draw(st.integers(0, len(as_json)))]
    if how == "replaced":
        at = draw(st.integers(0, max(0, len(as_json) - 1)))
        return as_json[:at] + draw(st.binary(min_size=1, max_size=3)) + as_json[at + 1 :]
    return as_json


nows = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(UTC)),
    st.integers(-(10**6), 10**6).map(lambda s: BASE + timedelta(seconds=s)),
)


def check_from(data: bytes, now: datetime | None) -> None:
    """What ``check --from FILE [--at NOW]`` and ``snapshot save --from`` do with ``data``."""
    try:
        snapshot = load_bytes(data)
    except SnapshotError:
        return
        raise
    report = analyze(snapshot, now)
    json.loads(render_json(report))
    render_table(report)
    for section in SECTIONS:
        render_json(report, (section,))
        render_table(report, (section,), all_nodes=True)
    saved = bytes(encode_snapshot(snapshot))
    again = load_bytes(saved)
    assert msgspec.json.encode(again) == msgspec.json.encode(snapshot), "a snapshot changed by save and load"


@FUZZ
@given(data=snapshots().flatmap(encoded), now=nows)
def test_snapshots(data: bytes, now: datetime | None) -> None:
    check_from(data, now)


@FUZZ
@given(data=kubectl_lists().flatmap(encoded), now=nows)
def test_kubectl_lists(data: bytes, now: datetime | None) -> None:
    check_from(data, now)


@FUZZ
@given(data=json_values.flatmap(encoded), now=nows)
def test_any_json_or_yaml(data: bytes, now: datetime | None) -> None:
    check_from(data, now)


@settings(FUZZ, max_examples=FUZZ.max_examples // 2)
@given(data=st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    check_from(data, None)


def test_the_fuzzer_reaches_analysis() -> None:
    """The generators are no good if nothing they make loads: some of each kind must."""
    loaded = 0

    @settings(FUZZ, max_examples=400)
    @given(doc=st.one_of(snapshots(), kubectl_lists()))
    def count(doc: dict[str, Any]) -> None:
        nonlocal loaded
        try:
            load_bytes(json.dumps(doc).encode())
            loaded += 1
        except SnapshotError:
            pass

    count()
    assert loaded >= 10, f"only {loaded} of 400 generated documents load"


# --- the lab captures, damaged: real clusters, so that every rule has something to judge ---------


LAB_V2 = [
    json.loads(encode_snapshot(load_bytes(path.read_bytes())))  # as `snapshot save` writes them: every field is read
    for path in sorted((ROOT / "tests" / "unit" / "data").glob("lab-*.json"))
]
Path_ = tuple[str | int, ...]


def tree_paths(value: Any, at: Path_ = ()) -> list[Path_]:
    """The path of every value inside ``value`` (keys and indexes)."""
    children: list[tuple[str | int, Any]] = (
        list(value.items()) if isinstance(value, dict) else list(enumerate(value)) if isinstance(value, list) else []
    )
    found: list[Path_] = []
    for key, child in children:
        found.append((*at, key))
        found += tree_paths(child, (*at, key))
    return found


@st.composite
def damaged_lab_snapshots(draw: st.DrawFn) -> dict[str, Any]:
    """A lab capture with one to four values replaced, removed, nulled or duplicated."""
    doc: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(LAB_V2))))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(tree_paths(doc)))
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = draw(st.sampled_from(["value", "word", "delete", "null", "duplicate"]))
        if action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(int(key), json.loads(json.dumps(parent[int(key)])))
        else:
            parent[key] = None if action == "null" else draw(json_values if action == "value" else texts)
    return doc


@settings(FUZZ, max_examples=FUZZ.max_examples // 2)
@given(doc=damaged_lab_snapshots(), now=nows)
def test_damaged_lab_snapshots(doc: dict[str, Any], now: datetime | None) -> None:
    check_from(json.dumps(doc).encode(), now)


# --- bugs found here and reported (kplanediag/snapshot is not this suite's to fix) --------------

NESTED = b"[" * 2000 + b"]" * 2000


def yaml_alias_bomb(levels: int) -> bytes:
    """A few hundred bytes of YAML whose aliases expand to 10**levels strings (a "billion laughs")."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join([*lines, "kind: List", f"items: *a{levels - 1}", ""]).encode()


REPORTED_BUGS = {
    "json-nested-2000-deep-list": b'{"kind":"List","items":[' + NESTED + b'],"metadata":{"x":"2026-01-01T00:00:00Z"}}',
    "json-nested-2000-deep-snapshot": (
        b'{"kind":"KplanediagSnapshot","snapshotVersion":2,"collectedAt":"2026-01-01T00:00:00Z","x":' + NESTED + b"}"
    ),
    "invalid-utf8-in-collectedAt": (
        b'{"kind":"KplanediagSnapshot","snapshotVersion":2,"collectedAt":"\x80026-11-23T03:00:00Z","resources":{}}'
    ),
    "invalid-utf8-in-list-metadata": (
        b'{"apiVersion":"v1","kind":"ServiceList","items":[],"metadata":{"resourceVersion":"\xc7"}}'
    ),
}


@pytest.mark.parametrize("data", REPORTED_BUGS.values(), ids=REPORTED_BUGS)
def test_reported_loader_bugs(data: bytes) -> None:
    """Found by the fuzzing: each once escaped as RecursionError or msgspec.DecodeError."""
    with pytest.raises(SnapshotError):
        load_bytes(data)


def test_reported_yaml_alias_bomb_is_refused_fast() -> None:
    """Each level is ten times the work: 9 levels (400 bytes) take minutes and gigabytes."""
    start = time.monotonic()
    with pytest.raises(SnapshotError):
        load_bytes(yaml_alias_bomb(6))
    assert time.monotonic() - start < 0.05


def test_deep_nesting_within_limits() -> None:
    nested = b"[" * 50 + b"]" * 50
    check_from(b'{"kind":"List","items":[' + nested + b'],"metadata":{"x":"2026-01-01T00:00:00Z"}}', None)


def _bomb_variants(levels: int) -> dict[str, str]:
    """The bomb spelt so that no ASCII whitespace or flow indicator comes right before a ``*``
    (what a text pattern looks for): a Unicode line separator or a next-line character there, both
    line breaks to YAML 1.1; and as block sequences."""
    flow = yaml_alias_bomb(levels).decode().replace("items: *", "items: [*") + "]"
    flow = flow.replace("items: [*a", "items: [*a").rstrip("\n]") + "]\n"
    out = {"plain-flow": flow}
    for name, brk in (("line-separator", "\u2028"), ("next-line", "\x85")):
        out[f"{name}-before-each-alias"] = flow.replace(", *", f",{brk}*").replace("[*", f"[{brk}*")
    lines = ["a0: &a0", *(["- lol"] * 10)]
    for i in range(1, levels):
        lines += [f"a{i}: &a{i}", *([f"- *a{i - 1}"] * 10)]
    out["block-sequences"] = "\n".join([*lines, "kind: List", f"items: *a{levels - 1}", ""])
    return out


@pytest.mark.parametrize("variant", list(_bomb_variants(2)))
def test_yaml_aliases_are_refused_by_structure_not_by_text(variant: str) -> None:
    """Spellings of a billion laughs that a text pattern misses (a Unicode line or next-line
    separator or a tab before ``*``, block lists): refused at once, in little memory. The variant is
    loaded in a child limited to 512 MiB of address space: an expansion would be a MemoryError."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    bomb = _bomb_variants(9)[variant]
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
        "from kplanediag.snapshot import SnapshotError, load_bytes\n"
        "try:\n    load_bytes(sys.stdin.buffer.read())\n"
        "except SnapshotError as exc:\n    print('refused:', exc)\n"
    )
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", code], input=bomb.encode(), capture_output=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert "refused:" in run.stdout.decode() and "aliases" in run.stdout.decode(), run.stdout
    assert time.monotonic() - start < 20
