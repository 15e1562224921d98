"""Which clock judges (analysis/clock.py), on the lab's real snapshot of a silenced worker
(tests/unit/data/lab-worker-silenced.json: its kubelet stopped 22 s before the read, the others
renewing): the same verdict whichever clock is wrong, said so, and impossible Date headers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from kplanediag.analysis.clock import AT, CAPTURE, LOCAL, SERVER
from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.collect.answers import server_date
from kplanediag.snapshot import format_time, parse_time
from tests.unit.factories import W1, raw, snapshot_from_dict

NAME = "lab-worker-silenced"


def read_at(server_off: timedelta, local_off: timedelta, leases: bool = True) -> Report:
    """The snapshot as if the API server's Date and this machine's clock were off the true time
    (the capture's) by these amounts; without Leases when ``leases`` is False."""
    data: dict[str, Any] = raw(NAME)
    true = parse_time(data["collectedAt"])
    assert true is not None
    data["collectedAt"] = format_time(true + server_off)
    data["localClock"] = format_time(true + local_off)
    if not leases:
        data["resources"]["leases"] = []
    return analyze(snapshot_from_dict(data))


def failing_nodes(report: Report) -> set[str]:
    return {f.subject for f in report.findings if f.code in ("KPD-201", "KPD-202")}


def test_clocks_that_agree_judge_by_the_server_and_say_nothing() -> None:
    report = read_at(timedelta(0), timedelta(seconds=2))
    assert report.cluster.judged_by == SERVER and not report.cluster.told_by
    assert "KPD-105" not in {f.code for f in report.findings}
    assert failing_nodes(report) == {W1}


@pytest.mark.parametrize("off", [timedelta(hours=-1), timedelta(minutes=-10), timedelta(hours=3)])
def test_a_server_date_that_is_off_is_caught_by_the_leases_and_this_machine_judges(off: timedelta) -> None:
    """A server (or proxy) Date an hour behind once made every renewal look fresh or 'in the future'."""
    report = read_at(off, timedelta(0))
    assert report.cluster.judged_by.startswith(LOCAL), report.cluster.judged_by
    assert report.cluster.evaluated_at == parse_time(raw(NAME)["collectedAt"])
    (clock,) = [f for f in report.findings if f.code == "KPD-105"]
    assert clock.severity.value == "warning" and "agrees with this machine" in clock.message
    assert failing_nodes(report) == {W1}  # the silenced worker, nothing else
    assert "KPD-212" not in {f.code for f in report.findings}  # no kubelet is said to be skewed
    assert any("judged by this machine's clock" in line for line in report.cluster.told_by)


def test_this_machine_off_is_said_and_the_server_judges() -> None:
    report = read_at(timedelta(0), timedelta(hours=2))
    assert report.cluster.judged_by == SERVER
    (clock,) = [f for f in report.findings if f.code == "KPD-105"]
    assert clock.severity.value == "info" and "this machine's clock is wrong" in clock.message
    assert failing_nodes(report) == {W1}


def test_without_leases_nobody_can_tell_and_the_server_judges_with_a_warning() -> None:
    report = read_at(timedelta(hours=-1), timedelta(0), leases=False)
    (clock,) = [f for f in report.findings if f.code == "KPD-105"]
    assert clock.severity.value == "warning" and "no Lease renewal tells" in clock.message
    assert report.cluster.judged_by.startswith(SERVER) and report.cluster.told_by


def test_files_and_at_say_their_clock() -> None:
    data = raw(NAME)
    data["source"] = "snapshot"
    assert analyze(snapshot_from_dict(data)).cluster.judged_by == CAPTURE
    at = datetime.fromisoformat("2026-11-23T22:30:00+00:00")
    assert analyze(snapshot_from_dict(raw(NAME)), at).cluster.judged_by == AT


@pytest.mark.parametrize(
    ("header", "year"),
    [
        ("Mon, 23 Nov 2026 22:20:22 GMT", 2026),
        ("Mon, 01 Jan 0001 00:00:00 GMT", None),  # Go's zero time: once read as 2001
        ("Sat, 01 Jan 1972 00:00:00 GMT", None),
        ("Thu, 01 Jan 70 00:00:00 GMT", None),
        ("not a date", None),
        ("", None),
    ],
)
def test_impossible_dates_are_no_time(header: str, year: int | None) -> None:
    when = server_date(header)
    assert (when.year if when else None) == year


def test_the_table_and_markdown_say_which_clock_judged() -> None:
    from kplanediag.render.formats import render  # noqa: PLC0415

    report = read_at(timedelta(hours=-1), timedelta(0))
    for output in ("table", "markdown"):
        assert "judged by this machine's clock (the API server's Date is 60 min behind it)" in render(report, output)
