"""One check of a polling loop (``wait``, ``watch``, ``serve``): its report, or why it has none,
when it ended and the API requests it made. Here so that cli's loop and serve's state share it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kplanediag.analysis.results import Report
    from kplanediag.snapshot.server import RequestTime


class Unassessed(Protocol):
    """Why a check gave no report: the CLI's exit-3 error (cli/options/exits.py CannotAssess)."""

    kind: str  # the failure class, as -o json says it

    def format_message(self) -> str: ...


@dataclass(frozen=True)
class Tick:
    """One check of the loop: its report (None when it could not assess) and when it ended."""

    number: int
    elapsed: float  # seconds since the loop started
    report: Report | None
    error: Unassessed | None = None
    seconds: float = 0.0  # how long this check took
    reachable: bool = True  # False: the API server gave no answer (the report says it is unreachable)
    requests: tuple[RequestTime, ...] = ()  # the check's own API requests (a live check's)

    @property
    def status(self) -> str:
        return self.report.status if self.report is not None else "unknown"
