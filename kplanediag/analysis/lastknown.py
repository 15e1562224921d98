"""The last known state of a cluster whose API server is now unreachable: from the snapshot of the
last successful check (or --baseline), dated, what was running then and keeps running now that the
control plane is gone. Nothing from the past is presented as current: every line says "as of"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.words import plural, some
from kplanediag.snapshot import Snapshot

SHOWN = 10  # names listed per kind, then "and N more"


@dataclass(frozen=True)
class LastKnown:
    collected_at: datetime
    age_seconds: float
    source: str  # "last successful check" | the --baseline file
    pods_running: int
    nodes: int
    nodes_ready: int
    services_serving: tuple[str, ...]  # Services that had a ready endpoint
    single_replica: tuple[str, ...]  # workloads with one replica: no redundancy if their node fails

    @property
    def when(self) -> str:
        age = self.age_seconds
        ago = (
            f"{age:.0f} s ago"
            if age < 120
            else f"{age / 60:.0f} min ago"
            if age < 7200
            else f"{age / 3600:.0f} h ago"
            if age < 172800
            else f"{age / 86400:.0f} days ago"
        )
        return f"as of {self.collected_at.strftime('%Y-%m-%d %H:%M:%SZ')} ({ago}, {self.source})"

    def lines(self) -> tuple[str, ...]:
        out = [
            f"{self.when}: {plural(self.pods_running, 'pod')} on {plural(self.nodes, 'node')} "
            f"({self.nodes_ready} Ready) were running; with the API server gone they keep running",
        ]
        if self.services_serving:
            out.append(
                f"{self.when}: {plural(len(self.services_serving), 'Service')} had ready endpoints "
                f"and keep routing to them: {some(list(self.services_serving), SHOWN)}"
            )
        if self.single_replica:
            out.append(
                f"{self.when}: {plural(len(self.single_replica), 'workload')} had a single replica (no "
                f"redundancy, and nothing reschedules them now): {some(list(self.single_replica), SHOWN)}"
            )
        return tuple(out)


def last_known(old: Snapshot, now: datetime, source: str) -> LastKnown:
    idx = ClusterIndex.build(old, old.collected_at)
    running = [p for p in idx.pods if p.status.phase == "Running"]
    ready_nodes = sum(
        1 for n in idx.nodes.values() if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
    )
    serving = sorted(
        f"{namespace}/{name}"
        for (namespace, name), slices in idx.slices_by_service.items()
        if any(ep.conditions.ready is not False for es in slices for ep in es.endpoints)
    )
    single = sorted(
        [f"Deployment {w.key}" for w in old.deployments if (w.spec.replicas if w.spec.replicas is not None else 1) == 1]
        + [f"StatefulSet {w.key}" for w in old.statefulsets if (w.spec.replicas or 0) == 1]
    )
    return LastKnown(
        collected_at=old.collected_at,
        age_seconds=max(0.0, (now - old.collected_at).total_seconds()),
        source=source,
        pods_running=len(running),
        nodes=len(idx.nodes),
        nodes_ready=ready_nodes,
        services_serving=tuple(serving),
        single_replica=tuple(single),
    )
