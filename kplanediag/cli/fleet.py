"""Several clusters in one run (``--context A --context B``, ``--all-contexts``), checked concurrently:
one report per cluster and a summary; the exit code is the worst one."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kplanediag.cli.options import EXIT_UNKNOWN, THRESHOLDS, CannotAssess, Source
from kplanediag.cli.poll import check_once

if TYPE_CHECKING:
    from kplanediag.analysis.results import Report

# Each cluster is checked with a client of its own and nothing shared; JSON and YAML give a list of reports. A
# cluster that cannot be assessed is reported as such (exit 3 for that cluster) and never hides the others.
MAX_AT_ONCE = 8


@dataclass(frozen=True)
class Member:
    context: str
    report: Report | None
    error: CannotAssess | None

    def code(self, fail_on: str) -> int:
        return EXIT_UNKNOWN if self.report is None else THRESHOLDS[fail_on].get(self.report.status, 0)

    @property
    def status(self) -> str:
        return self.report.status if self.report is not None else "unknown"

    @property
    def summary(self) -> str:
        return self.report.summary if self.report is not None else f"could not assess: {self.error}"


def contexts_of(source: Source) -> list[str]:
    if not source.all_contexts:
        return list(dict.fromkeys(source.contexts))
    from kplanediag.collect.errors import CollectError  # noqa: PLC0415
    from kplanediag.collect.transport import context_names  # noqa: PLC0415

    try:
        return context_names(source.kubeconfig)
    except CollectError as exc:
        raise CannotAssess(str(exc), exc.kind) from exc


def check_fleet(
    source: Source, etcd_quota: int | None, config_path: Path | None = None, ignore: tuple[str, ...] = ()
) -> list[Member]:
    """Each cluster with the config section for it (--config: sections by context or cluster name)."""
    from kplanediag.cli.config import read_fit  # noqa: PLC0415

    names = contexts_of(source)
    slots = threading.Semaphore(MAX_AT_ONCE)
    futures: list[Future[Member]] = []
    for name in names:
        future: Future[Member] = Future()

        def run(name: str = name, future: Future[Member] = future) -> None:
            with slots:
                try:
                    one = source.one(name)
                    report, error = check_once(one, etcd_quota, read_fit(one, config_path, ignore))
                    future.set_result(Member(name, report, error))
                except CannotAssess as exc:  # its config section cannot be used: this cluster's error
                    future.set_result(Member(name, None, exc))
                except BaseException as exc:  # a cluster's failure is its own, never the fleet's
                    future.set_result(Member(name, None, CannotAssess(f"internal error: {exc}")))

        threading.Thread(target=run, daemon=True).start()  # Ctrl-C ends the run at once
        futures.append(future)
    return [f.result() for f in futures]


def render_fleet(members: list[Member], output: str, sections: tuple[str, ...], fail_on: str, colour: bool) -> str:
    """Each cluster's report as its format's fleet layout says (render/formats.py's FORMATS)."""
    from kplanediag.render.escape import markdown as md  # noqa: PLC0415
    from kplanediag.render.escape import one_line  # noqa: PLC0415
    from kplanediag.render.formats import FORMATS, render  # noqa: PLC0415

    fmt = FORMATS[output]
    if fmt.fleet == "list":
        from kplanediag.render.as_json import report_dict  # noqa: PLC0415

        assert fmt.dump is not None, output
        docs: list[dict[str, Any]] = []
        for m in members:
            if m.report is not None:
                docs.append({"context": m.context, **report_dict(m.report, sections)})
            else:
                assert m.error is not None
                docs.append({"context": m.context, **json.loads(m.error.document())})
        return fmt.dump(docs)
    if fmt.fleet == "junit":
        from kplanediag.render.junit import render_junit_fleet  # noqa: PLC0415

        return render_junit_fleet([(m.context, m.report, str(m.error or "")) for m in members], fail_on)
    assert fmt.fleet in ("text", "markdown"), f"-o {output} renders one cluster"
    parts = []
    markdown = fmt.fleet == "markdown"
    esc = md if markdown else one_line  # context names, summaries and errors: text others wrote
    for m in members:
        title = f"# context {esc(m.context)}" if markdown else f"######## context {esc(m.context)} ########"
        body = (
            render(m.report, output, sections, colour, fail_on)
            if m.report is not None
            else f"kplanediag: error: {esc(str(m.error))}\n"
        )
        parts.append(f"{title}\n\n{body}" if markdown else f"{title}\n{body}")
    rows = [(esc(m.context), m.status.upper(), str(m.code(fail_on)), esc(m.summary)) for m in members]
    if markdown:
        table = ["| context | status | exit | summary |", "| --- | --- | --- | --- |"]
        table += [f"| {c} | {s} | {e} | {t} |" for c, s, e, t in rows]
        parts.append("# Fleet\n\n" + "\n".join(table) + "\n")
    else:
        from tabulate import tabulate  # noqa: PLC0415

        text = tabulate(rows, headers=["CONTEXT", "STATUS", "EXIT", "SUMMARY"], maxcolwidths=[24, 8, 4, 60])
        if colour:
            from kplanediag.render.colour import colourise  # noqa: PLC0415

            text = colourise(text)
        parts.append(f"######## fleet: {len(members)} cluster(s) ########\n{text}\n")
    return "\n".join(parts)
