"""Kubernetes quantities (snapshot/quantity.py) read as the official client reads them, and
--etcd-quota, a quantity of bytes: ``m`` is milli, never mega."""

from __future__ import annotations

from decimal import Decimal

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.utils.quantity import parse_quantity as official

from kplanediag.cli.options import byte_size
from kplanediag.snapshot.quantity import parse_quantity

SAMPLES = [
    "8Gi", "500M", "500m", "250m", "2147483648", "1e9", "1E3k", "1.5Gi", "0.5Ki", "100K", "100k", "5Ei", "1n",
    "3u", "-1Gi", "+2Mi", " 7 ", "8gi", "8GiB", "500MB", "1ki", "1mi", "Gi", "i", "", "NaN", "Infinity", "sNaN",
    "1_000", "1e999999999E", "0x10", "½",
]  # fmt: skip


def outcome(parse: object, text: str) -> tuple[str, Decimal | str]:
    assert callable(parse)
    try:
        return "ok", parse(text)
    except ValueError as exc:
        return "error", str(exc)


def same(a: tuple[str, Decimal | str], b: tuple[str, Decimal | str]) -> bool:
    if a[0] == "ok" and b[0] == "ok":
        x, y = a[1], b[1]
        assert isinstance(x, Decimal) and isinstance(y, Decimal)
        return (x.is_nan() and y.is_nan()) or x == y
    return a == b


@pytest.mark.parametrize("text", SAMPLES)
def test_reads_as_the_official_client(text: str) -> None:
    assert same(outcome(parse_quantity, text), outcome(official, text))


@given(st.text(alphabet="0123456789.eE+-_ KkMGTPEmnui", max_size=12))
def test_reads_any_text_as_the_official_client(text: str) -> None:
    assert same(outcome(parse_quantity, text), outcome(official, text))


@pytest.mark.parametrize(
    ("given_", "wanted"),
    [("8Gi", 8 << 30), ("500M", 500_000_000), ("2147483648", 2147483648), ("1.5Gi", 1610612736), ("2k", 2000)],
)
def test_etcd_quota_is_a_quantity_of_bytes(given_: str, wanted: int) -> None:
    assert byte_size(None, None, given_) == wanted  # type: ignore[arg-type]


@pytest.mark.parametrize("given_", ["500m", "8gi", "8GiB", "0", "-1Gi", "0.5", "NaN", "Infinity", "1e30"])
def test_etcd_quota_refuses_what_is_no_whole_number_of_bytes(given_: str) -> None:
    with pytest.raises(click.BadParameter, match="not a size in bytes"):
        byte_size(None, None, given_)  # type: ignore[arg-type]
