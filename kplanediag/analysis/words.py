"""Wording every pass shares: counts, short name lists, what keeps running."""

from __future__ import annotations

from kplanediag.analysis.index import ClusterIndex


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def some(names: list[str], limit: int = 5) -> str:
    """At most ``limit`` names, then how many more: keeps summaries one line on big clusters."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def running_elsewhere(idx: ClusterIndex, failed: set[str]) -> str:
    """What keeps running besides ``failed`` nodes; nodes that fail for another cause never count
    (their pods are that cause's entry's to count)."""
    failed = failed | idx.failing_nodes
    if not idx.snapshot.reachable or not idx.has("pods"):
        return "running pods keep running (not counted: pods not observed)"
    running = [
        p for p in idx.pods if p.spec.node_name and p.spec.node_name not in failed and p.status.phase == "Running"
    ]
    nodes = {p.spec.node_name for p in running}
    if not running:  # never "0 pods on 0 nodes keep running"
        others = [n for n in idx.nodes if n not in failed]
        return f"no pod is running on the other {plural(len(others), 'node')}" if others else "no other node runs pods"
    return f"{plural(len(running), 'pod')} on {plural(len(nodes), 'node')} keep running"
