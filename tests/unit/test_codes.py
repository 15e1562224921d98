"""The codes table is the single source: every emitted code is in it, every code in it is emitted,
and docs/codes.md is generated from it."""

from __future__ import annotations

import re
from pathlib import Path

from kplanediag.analysis.knowledge.codes import CODES, codes_markdown
from kplanediag.analysis.knowledge.docs import profiles_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_every_code_used_in_analysis_is_in_the_table_and_back() -> None:
    used = set()
    for path in (ROOT / "kplanediag" / "analysis").rglob("*.py"):
        if path.name != "codes.py":
            used |= set(re.findall(r'"(KPD-\d{3})"', path.read_text()))
    assert used == set(CODES)


def test_docs_codes_md_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "codes.md").read_text() == codes_markdown(), "run `make docs`"


def test_docs_profiles_md_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "profiles.md").read_text() == profiles_markdown(), "run `make docs`"
