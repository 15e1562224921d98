"""The kind registry (snapshot/registry.py) against what is written by hand beside it: Resources and
its accessors, k8s.proto and generic.py, both RBAC files and docs/lists.md (written by ``make docs``).
Each test names the kind (or the grant) that is missing or extra (issue 23, item 1)."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kplanediag.collect.lists import LISTS
from kplanediag.collect.protobuf import _KINDS, generic
from kplanediag.collect.protobuf import k8s_pb2 as pb
from kplanediag.render.redact_apply import CATEGORY, CHILD_CATEGORY, OWNER_CATEGORY
from kplanediag.snapshot import Resources, Snapshot
from kplanediag.snapshot.meta import ObjectMeta
from kplanediag.snapshot.model import Items
from kplanediag.snapshot.registry import KIND_SPECS, KindSpec
from kplanediag.snapshot.registry_docs import lists_markdown, rbac_yaml

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "kplanediag" / "collect" / "protobuf" / "k8s.proto"
RBAC_FILES = (ROOT / "deploy" / "rbac.yaml", ROOT / "deploy" / "serve" / "rbac.yaml")
PROTOBUF_SPECS = [s for s in KIND_SPECS if s.wire == "protobuf"]
Grant = tuple[str | None, str, str]  # (namespace, or None for a ClusterRole; apiGroup; resource)


def by_name(specs: list[KindSpec] | tuple[KindSpec, ...]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("spec", specs, ids=[s.name for s in specs])


def items_of(hint: Any) -> Any:
    """The item type of ``tuple[K, ...]`` or ``tuple[K, ...] | None`` (else None)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is not tuple and len(args) == 1:
        return items_of(args[0])
    return args[0] if typing.get_origin(hint) is tuple and args[1:] == [Ellipsis] else None


def test_one_entry_per_kind_and_resource() -> None:
    assert len({s.kind for s in KIND_SPECS}) == len({s.resource for s in KIND_SPECS}) == len(KIND_SPECS)


@by_name(KIND_SPECS)
def test_a_resources_field_of_its_kind(spec: KindSpec) -> None:
    fields = typing.get_type_hints(Resources)
    assert spec.resource in fields, f"{spec.name}: no Resources.{spec.resource} in snapshot/model.py"
    assert items_of(fields[spec.resource]) is spec.kind, f"{spec.name}: Resources.{spec.resource}'s type"


def test_no_resources_field_without_an_entry() -> None:
    assert set(Resources.__struct_fields__) == {s.resource for s in KIND_SPECS}


def test_every_kind_is_read_through_the_snapshot() -> None:
    """``Snapshot.items(kind)`` for any kind, and the shortcuts (``snap.csrs``) for theirs."""
    lists = {s.resource: (s.kind(metadata=ObjectMeta(name=s.resource)),) for s in KIND_SPECS}
    snap = Snapshot(collected_at=datetime.now(UTC), source="test", resources=Resources(**lists))
    shortcuts = {name: d.kind for name, d in vars(Snapshot).items() if isinstance(d, Items)}
    assert len(shortcuts) >= 16
    for spec in KIND_SPECS:
        assert snap.items(spec.kind) == lists[spec.resource] == snap.resources.of(spec.kind), spec.name
        assert Snapshot(collected_at=snap.collected_at, source="test").items(spec.kind) == ()
    for name, kind in shortcuts.items():
        assert getattr(snap, name) == snap.items(kind), name


@by_name(PROTOBUF_SPECS)
def test_a_protobuf_message_and_converter(spec: KindSpec) -> None:
    declared = set(re.findall(r"^message (\w+) \{", PROTO.read_text(encoding="utf-8"), re.M))
    assert {spec.name, f"{spec.name}List"} <= declared, f"{spec.name}: no message {spec.name}(List) in k8s.proto"
    assert hasattr(pb, spec.name), f"{spec.name}: not in k8s_pb2 (run `make proto`)"
    generic.converter(spec.kind, getattr(pb, spec.name).DESCRIPTOR)  # Mismatch: the field k8s.proto lacks
    assert spec.kind in _KINDS, f"{spec.name}: not in protobuf's conversion table"


def test_the_conversion_table_holds_the_protobuf_kinds() -> None:
    assert list(_KINDS) == [s.kind for s in PROTOBUF_SPECS]


def test_one_list_call_per_read() -> None:
    assert [(c.resource, c.path, c.query) for c in LISTS] == [
        (s.resource, s.path(r.namespace), r.query) for s in KIND_SPECS for r in s.reads
    ]


def _granted(path: Path) -> set[Grant]:
    """Every (namespace, group, resource) a ClusterRole (namespace None) or Role of ``path`` grants."""
    grants: set[Grant] = set()
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if not doc or doc.get("kind") not in ("ClusterRole", "Role"):
            continue
        namespace = doc["metadata"].get("namespace") if doc["kind"] == "Role" else None
        for rule in doc["rules"]:
            if "resources" in rule:
                assert rule["verbs"] in (["list"], ["list", "watch"]), (
                    f"{path.name}: {rule} grants more than list, watch"
                )
                grants |= {(namespace, g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    return grants


def _needed(spec: KindSpec) -> set[Grant]:
    return {(ns, spec.group, spec.resource) for ns in (spec.namespaces or (None,))}


@pytest.mark.parametrize("path", RBAC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
@by_name(KIND_SPECS)
def test_rbac_grants_each_kind(path: Path, spec: KindSpec) -> None:
    missing = _needed(spec) - _granted(path)
    assert not missing, f"{spec.name}: {path.relative_to(ROOT)} does not grant list on {sorted(missing, key=str)}"


@pytest.mark.parametrize("path", RBAC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_rbac_grants_no_read_no_kind_needs(path: Path) -> None:
    needed = set().union(*map(_needed, KIND_SPECS))
    extra = _granted(path) - needed
    assert not extra, f"{path.relative_to(ROOT)} grants list on what no registry kind reads: {sorted(extra, key=str)}"


def _verbs(path: Path) -> dict[tuple[str, str], list[str]]:
    """The verbs granted on each (group, resource) by ``path``'s ClusterRoles and Roles."""
    verbs: dict[tuple[str, str], list[str]] = {}
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if doc and doc.get("kind") in ("ClusterRole", "Role"):
            for rule in doc["rules"]:
                for g in rule.get("apiGroups", ()):
                    for r in rule.get("resources", ()):
                        verbs[(g, r)] = rule["verbs"]
    return verbs


@pytest.mark.parametrize("path", RBAC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
@by_name(KIND_SPECS)
def test_watch_is_granted_where_serve_watches(path: Path, spec: KindSpec) -> None:
    """serve (deploy/serve/rbac.yaml) watches every watched kind; a one-shot check (deploy/rbac.yaml)
    never watches, so it is not granted there."""
    serve = path.parent.name == "serve"
    expected = ["list", "watch"] if serve and spec.watched else ["list"]
    assert _verbs(path)[(spec.group, spec.resource)] == expected, f"{spec.name}: {path.relative_to(ROOT)}"


def test_redaction_categories() -> None:
    for spec in KIND_SPECS:
        assert CATEGORY[spec.name] == spec.category
        assert OWNER_CATEGORY.get(spec.name, CHILD_CATEGORY.get(spec.name, spec.category)) == spec.category, spec.name


@pytest.mark.parametrize(
    ("path", "written"),
    [
        ("docs/lists.md", lists_markdown()),
        ("deploy/rbac.yaml", rbac_yaml(serve=False)),
        ("deploy/serve/rbac.yaml", rbac_yaml(serve=True)),
    ],
)
def test_files_written_from_the_registry_are_current(path: str, written: str) -> None:
    assert (ROOT / path).read_text(encoding="utf-8") == written, f"{path} is stale: run `make docs`"


def test_docs_lists_counts_and_orders_the_kinds() -> None:
    page = lists_markdown()
    assert f"reads {len(KIND_SPECS)} kinds" in page
    rows = [line.split("|")[4].strip(" `") for line in page.splitlines() if re.match(r"\| \d+ \|", line)]
    assert rows == list(Resources.__struct_fields__), "docs/lists.md: one row per list, in the saved order"
