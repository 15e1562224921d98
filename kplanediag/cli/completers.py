"""Values completed in the shell, read from files only (the kubeconfig's contexts, the finding codes,
the components), never from the cluster. The script is `kplanediag completion` (cli/completion.py)."""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem


def complete_contexts(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The contexts of the kubeconfig the command line names so far (else $KUBECONFIG, ~/.kube/config)."""
    from kplanediag.collect.errors import ConfigurationError  # noqa: PLC0415
    from kplanediag.collect.kubeconfig_files import read  # noqa: PLC0415

    root = ctx.find_root()
    given = ctx.params.get("kubeconfig") or root.params.get("kubeconfig")
    paths = given or os.environ.get("KUBECONFIG") or os.path.join("~", ".kube", "config")
    try:
        merged = read(str(paths))
    except (ConfigurationError, OSError):
        return []
    return [CompletionItem(name) for name in merged.context_names() if name.startswith(incomplete)]


def complete_codes(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from kplanediag.analysis.knowledge.codes import CODES  # noqa: PLC0415

    wanted = incomplete.upper()
    return [CompletionItem(c.code, help=c.title) for c in CODES.values() if c.code.startswith(wanted)]


def complete_subjects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """What ``explain`` takes: a component, a finding code, or ``codes``."""
    from kplanediag.analysis.knowledge.components import COMPONENTS  # noqa: PLC0415

    names = [CompletionItem(c.name, help=c.does.split(".")[0]) for c in COMPONENTS.values()]
    names.append(CompletionItem("codes", help="every finding code"))
    # "sched" completes to kube-scheduler, as explain takes short names
    return [n for n in names if incomplete.lower() in n.value] + complete_codes(ctx, param, incomplete)
