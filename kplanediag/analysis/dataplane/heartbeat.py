"""A node's heartbeat judged as the node lifecycle controller judges it: the Lease's own duration,
the controller's grace period, and whether that controller works."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.leases import lease_state
from kplanediag.snapshot.kinds import Node

NODE_LEASES = "kube-node-lease"


class Beat(StrEnum):
    FRESH = "fresh"  # renewed within its duration
    STALE = "stale"  # not renewed within its duration: the kubelet is silent (or just went silent)
    BEHIND = "behind"  # renewTime far behind, node kept Ready by a working lifecycle controller: clock skew
    AHEAD = "ahead"  # renewTime in the future by more than the Lease's duration: clock skew
    STALLED = "stalled"  # no write can succeed cluster-wide: a stale Lease says nothing about the node
    MISSING = "missing"  # other nodes have Leases, this one has none
    UNREAD = "unread"  # node Leases not read, or not used (before 1.14): no heartbeat evidence


@dataclass(frozen=True)
class Heartbeat:
    beat: Beat
    text: str = ""  # "heartbeat Lease holder ..., renewed 620s ago (duration 40s)"
    skew: float = 0.0  # seconds the kubelet's clock is off (negative: behind), for BEHIND and AHEAD

    def describe_skew(self) -> str:
        minutes = abs(self.skew) / 60
        size = f"{minutes:.0f} min" if minutes >= 1 else f"{abs(self.skew):.0f} s"
        return f"about {size} {'behind' if self.skew < 0 else 'ahead of'}"


def lifecycle_controller_works(idx: ClusterIndex, dist: Distribution | None) -> bool:
    """The node lifecycle controller runs: the controller-manager's leader Lease is fresh, or the control
    plane is managed and hides it (the provider runs it). Without either, a Ready=True node with an old
    heartbeat may simply not have been re-judged: no evidence of skew."""
    lease = idx.lease("kube-system", "kube-controller-manager")
    if lease is not None:
        return lease_state(lease, idx.lease_now("kube-system")).fresh
    return dist is not None and dist.mode == "managed" and idx.leases_seen("kube-system")


# A kubelet whose clock is skewed (renewTime far behind or ahead of the API server's clock while the node
# stays Ready, or a renewTime that moved since the previous live read) is alive.
def heartbeat(idx: ClusterIndex, node: Node, ready: str, dist: Distribution | None = None) -> Heartbeat:
    name = node.metadata.name
    if not idx.leases_seen(NODE_LEASES):
        return Heartbeat(Beat.UNREAD)
    lease = idx.lease(NODE_LEASES, name)
    if lease is None:
        present = any(ns == NODE_LEASES for ns, _ in idx.leases)
        return Heartbeat(Beat.MISSING if present else Beat.UNREAD)
    state = lease_state(lease, idx.lease_now(NODE_LEASES))
    text = f"heartbeat Lease {state.describe()}"
    renewed = lease.spec.renew_time or lease.spec.acquire_time
    duration = state.duration
    if renewed is not None and duration is not None:
        # against the API server's clock when it answered (an --at before the capture is no clock skew)
        read = max(idx.lease_now(NODE_LEASES), idx.snapshot.read_time("leases", NODE_LEASES))
        ahead = (renewed - read).total_seconds()
        if ahead > duration:
            return Heartbeat(Beat.AHEAD, f"heartbeat Lease renewed {ahead:.0f}s in the future", ahead)
    if state.fresh:
        return Heartbeat(Beat.FRESH, text)
    if idx.writes_stalled:
        return Heartbeat(Beat.STALLED, text)
    age = state.age or 0.0
    before = idx.previous_renewals.get(name)
    if before is not None and renewed is not None and renewed > before:
        # renewed since the previous read, however old its timestamp: the kubelet is alive, its clock behind
        return Heartbeat(Beat.BEHIND, f"{text}; renewed again since the previous read", -age)
    grace = policy("node_monitor_grace")
    if ready == "True" and duration is not None and age > duration + grace and lifecycle_controller_works(idx, dist):
        return Heartbeat(Beat.BEHIND, text, -age)
    return Heartbeat(Beat.STALE, text)
