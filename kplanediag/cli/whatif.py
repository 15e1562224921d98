"""``kplanediag what-if HYPOTHESIS...`` (and ``--all nodes|zones``): the blast radius of a failure
that has not happened, from the state read once."""

from __future__ import annotations

from pathlib import Path

import click

from kplanediag.cli.config import fit_options, read_fit
from kplanediag.cli.options import (
    EXIT_OK,
    GLOBAL_EPILOG,
    THRESHOLDS,
    CannotAssess,
    Source,
    report_options,
    source_options,
    terminal_width,
    use_colour,
)
from kplanediag.render import SECTIONS

EPILOG = """Hypotheses: node/NAME (its kubelet silent), drain/NAME (voluntary: PodDisruptionBudgets
apply; a verdict and the eviction order), cordon/NAME, zone/ZONE (every node labelled
topology.kubernetes.io/zone=ZONE), webhook/NAME (its Service's endpoints gone), COMPONENT@NODE (one
control-plane instance: etcd@cp-1, kube-apiserver@cp-2, scheduler@cp-1), a component cluster-wide
(kube-scheduler, kube-controller-manager, etcd, kube-apiserver, coredns, cni, kube-proxy) and
control-plane (the whole of it: an upgrade window, a provider outage). Several together: all at once.

Exit code: the worst severity of what the hypothesis adds, by --fail-on (0 nothing beyond it
breaks, 1 a warning such as a blocked drain, 2 a critical failure such as a node, an outage or a
lost quorum; 3 could not assess), never the cluster's current state. docs/whatif.md."""


# In every output format; marked hypothetical in the headline, the JSON (``whatIf.hypothetical``) and the
# JUnit suite names. Its exit code is the worst severity of what the hypothesis adds, by --fail-on, never the
# cluster's current state.
def run(
    hypotheses: tuple[str, ...],
    rank_by: str | None,
    source: Source,
    output: str,
    fail_on: str,
    etcd_quota: int | None,
    colour: str,
    no_colour: bool,
    config_path: Path | None = None,
    ignore: tuple[str, ...] = (),
) -> int:
    """What if HYPOTHESIS... failed (or, with --all, each node or zone alone): computed from one read
    of the cluster (live or --from), no request more than a check's; nothing is changed."""
    from kplanediag.analysis.whatif import HypothesisError, rank, what_if  # noqa: PLC0415
    from kplanediag.render.formats import FORMATS, render  # noqa: PLC0415
    from kplanediag.render.table import columns  # noqa: PLC0415

    if bool(hypotheses) == bool(rank_by):
        raise click.UsageError("give one or more hypotheses, or --all nodes|zones (see --help)")
    if source.fleet:
        raise click.UsageError("what-if reads one cluster: give one --context")
    try:
        fit = read_fit(source, config_path, ignore)
        snapshot, now = source.load()
        if not snapshot.reachable:
            raise CannotAssess("the API server is unreachable: what-if needs the cluster's state", "unreachable")
        try:
            if rank_by:
                report = rank(snapshot, rank_by, now, etcd_quota, fit)
            else:
                report = what_if(snapshot, list(hypotheses), now, etcd_quota, fit)
        except HypothesisError as exc:
            raise CannotAssess(str(exc), "usage") from exc
    except CannotAssess as exc:
        if FORMATS[output].error_document:
            click.echo(exc.document(), nl=False)  # the one document -o json prints on exit 3
        raise
    coloured = use_colour(colour, no_colour)
    with columns(terminal_width()):
        text = render(report, output, SECTIONS, coloured, fail_on)
    click.echo(text, nl=False, color=coloured)
    return THRESHOLDS[fail_on].get(report.status, EXIT_OK)


def _build() -> click.Command:
    import functools  # noqa: PLC0415

    @functools.wraps(run)
    def wrapper(**kwargs: object) -> int:
        return run(**kwargs)  # type: ignore[arg-type]

    options = report_options(fit_options(wrapper))
    command = click.command("what-if", short_help="The blast radius of a failure that has not happened yet.",
                            epilog=f"{EPILOG}\n\n{GLOBAL_EPILOG}")(source_options(options))  # fmt: skip
    command = click.option(
        "--all",
        "rank_by",
        type=click.Choice(["nodes", "zones"]),
        help="Each node (or zone) lost alone, ranked by the damage: single points of failure first.",
    )(command)
    return click.argument("hypotheses", nargs=-1, metavar="HYPOTHESIS...")(command)


whatif_command = _build()
