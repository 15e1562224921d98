"""No import circles in kplanediag (issue 23, item 4): between modules (lazy and type-only imports
counted) and between packages; and every package in import-linter's pipeline layers."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")  # import-linter's graph builder (the lint extra)


def import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("kplanediag", cache_dir=None)
    return {
        m: {t for t in graph.find_modules_directly_imported_by(m) if t.startswith("kplanediag")}
        for m in graph.modules
        if m.startswith("kplanediag")
    }


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_circles_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_back() -> None:
    assert circles(import_graph()) == []


def test_no_package_imports_itself_back() -> None:
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for source, targets in import_graph().items():
        packages.setdefault(package(source), set()).update(package(t) for t in targets if t != "kplanediag")
    for name, targets in packages.items():
        targets.discard(name)
    assert circles(packages) == []


def test_every_package_and_module_is_in_the_pipeline_layers() -> None:
    """import-linter checks only what a contract names: a new package must get its layer."""
    root = Path(__file__).resolve().parents[2]
    config = configparser.ConfigParser()
    config.read(root / ".importlinter")
    layers = config["importlinter:contract:pipeline"]["layers"].split()
    named = {name for name in layers if name != "|"}
    tree = {
        f"kplanediag.{p.stem}"
        for p in (root / "kplanediag").iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "_build_info")) or (p / "__init__.py").is_file()
    }  # _build_info.py: written by a build (setup.py), gitignored, read by buildinfo alone
    assert named == tree
