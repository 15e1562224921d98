"""``kplanediag completion bash|zsh|fish``, as ``kubectl completion``: the shell's completion script
(what it completes: cli/completers.py)."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_KPLANEDIAG_COMPLETE"


@click.command("completion", short_help="Print the shell completion script (bash, zsh, fish).")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> int:
    """Print the completion script of SHELL: commands, options, kubeconfig contexts, finding codes and
    components complete. Load it in the current shell with, for bash, `source <(kplanediag completion
    bash)`; zsh: `source <(kplanediag completion zsh)`; fish: `kplanediag completion fish | source`.
    Run as the kubectl plugin, kubectl completes its plugins' arguments itself (kubectl >= 1.26)."""
    root = ctx.find_root()
    cls = get_completion_class(shell)
    if cls is None:  # click.Choice has already refused any other
        raise click.BadParameter(f"no completion for {shell}")
    click.echo(cls(root.command, {}, "kplanediag", COMPLETE_VAR).source())
    return 0
