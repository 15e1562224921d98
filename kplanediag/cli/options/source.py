"""Where the data comes from (``Source``): a live cluster, or a file read with --from."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kplanediag.cli.options.exits import CannotAssess

if TYPE_CHECKING:
    from kplanediag.snapshot import Snapshot

AT_BEFORE_CAPTURE = 60.0  # seconds of --at before the capture tolerated without a warning (clock skew)


def preload_analysis() -> None:
    """Import analysis and render in a daemon thread: a live check spends most of its time waiting
    for pages, and these imports then cost nothing. A later import of the same module just waits."""
    import importlib  # noqa: PLC0415
    import threading  # noqa: PLC0415

    modules = ("kplanediag.analysis.report", "kplanediag.render.as_json", "kplanediag.render.table")
    threading.Thread(target=lambda: [importlib.import_module(m) for m in modules], daemon=True).start()


@dataclass(frozen=True)
class Source:
    """Where the data comes from: a live cluster, or a saved snapshot / kubectl List (--from)."""

    kubeconfig: str | None
    context: str | None
    request_timeout: float
    deadline: float
    from_file: Path | None
    at: str | None
    verbose: bool
    contexts: tuple[str, ...] = ()  # a fleet: several --context, or every one (all_contexts)
    all_contexts: bool = False
    as_user: str | None = None  # --as, --as-group, --as-uid: impersonation, as kubectl's
    as_groups: tuple[str, ...] = ()
    as_uid: str | None = None
    max_input: int | None = None  # bytes; None: $KPLANEDIAG_MAX_INPUT or the default (limits.py)
    cache: Any = None  # a collect.watch Cache: lists kept by watches between checks (cli/watching.py)

    @property
    def fleet(self) -> bool:
        return self.all_contexts or len(self.contexts) > 1

    def one(self, context: str | None) -> Source:
        """This source for one cluster of a fleet."""
        from dataclasses import replace  # noqa: PLC0415

        return replace(self, context=context, contexts=(), all_contexts=False)

    def load(self) -> tuple[Snapshot, datetime | None]:
        """The snapshot, and the "now" to judge it at (None: its capture time)."""
        from kplanediag.snapshot import SnapshotError, load_snapshot, parse_time  # noqa: PLC0415
        from kplanediag.snapshot.limits import set_max_input  # noqa: PLC0415

        set_max_input(self.max_input)
        now = None
        if self.at is not None:
            now = parse_time(self.at)
            if now is None:
                raise click.BadParameter(
                    f"{self.at!r} is not an RFC 3339 timestamp (e.g. 2026-01-31T03:00:00Z)", param_hint="--at"
                )
            if self.from_file is None:
                raise click.BadParameter(
                    "only with --from: a live check is judged at the server's time", param_hint="--at"
                )
        if self.from_file is not None:
            try:
                snapshot = load_snapshot(self.from_file, now)
                if now is not None and (snapshot.collected_at - now).total_seconds() > AT_BEFORE_CAPTURE:
                    click.echo(
                        f"kplanediag: warning: --at {self.at} is before the input's capture time "
                        f"({snapshot.collected_at.isoformat()}): Leases renewed after it count as fresh",
                        err=True,
                    )
                return snapshot, now
            except SnapshotError as exc:
                raise CannotAssess(str(exc)) from exc
        from kplanediag.collect.errors import CollectError  # noqa: PLC0415

        deadline = time.monotonic() + self.deadline
        try:
            from kplanediag.collect.collector import collect  # noqa: PLC0415 (loads the API client)
            from kplanediag.collect.impersonation import Impersonation  # noqa: PLC0415
            from kplanediag.collect.transport import connect  # noqa: PLC0415

            impersonate = Impersonation(self.as_user, self.as_groups, self.as_uid)
            transport = connect(self.kubeconfig, self.context, self.request_timeout, deadline, impersonate)
            preload_analysis()  # while collect mostly waits for the server
            from kplanediag.cli.progress import progress  # noqa: PLC0415

            with progress(f"checking {transport.server} ...") if not self.verbose else nullcontext():
                return collect(transport, verbose=self.verbose, cache=self.cache), None
        except CollectError as exc:
            if self.verbose:
                import traceback  # noqa: PLC0415

                traceback.print_exc()
            # every class raised this far is exit 3 (errors.py); an unreachable server is a report
            raise CannotAssess(str(exc), exc.kind) from exc
