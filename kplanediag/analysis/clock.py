"""Which clock a report is judged by: the API server's, this machine's, --at or the capture time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.knowledge.policy import policy
from kplanediag.analysis.model import Finding, Severity
from kplanediag.snapshot import Snapshot

SERVER = "the API server's Date"
LOCAL = "this machine's clock"
AT = "--at"
CAPTURE = "the capture time"


@dataclass(frozen=True)
class Clock:
    now: datetime
    by: str  # SERVER, LOCAL, AT or CAPTURE, with why when it is not the usual one
    finding: Finding | None = None


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def freshest_renewal(snapshot: Snapshot) -> datetime | None:
    """The newest renewTime of any Lease, moved on by how long before the end of the collection its
    list was read: kubelets renew every 10 s, so in a live cluster it is a few seconds before the
    true time, whatever the API server's clock says."""
    times = [
        t + (snapshot.collected_at - snapshot.read_time("leases", lease.metadata.namespace))
        for lease in snapshot.leases
        if (t := lease.spec.renew_time or lease.spec.acquire_time) is not None
    ]
    return max(times, default=None)


# A live check reads the API server's Date and this machine's clock at the same moment; when they disagree
# past the policy's ``clock_skew``, the freshest Lease renewals (written by kubelets and controllers, each by
# its own clock) say which one is right, and the report is judged by it, saying so (KPD-105). A file is judged
# at its capture time or --at.
def judge_clock(snapshot: Snapshot, at: datetime | None) -> Clock:
    if at is not None:
        return Clock(at, AT)
    server, local = snapshot.collected_at, snapshot.local_clock
    if snapshot.source == "live" and snapshot.collected_at_from:  # the server sent no possible Date
        return Clock(server, LOCAL)
    if snapshot.source != "live" or local is None:
        return Clock(server, CAPTURE if snapshot.source != "live" else SERVER)
    skew = (server - local).total_seconds()  # > 0: the server's clock is ahead of this machine's
    bound = policy("clock_skew")
    if abs(skew) <= bound:
        return Clock(server, SERVER)
    way = "ahead of" if skew > 0 else "behind"
    differ = f"the API server's Date is {_span(skew)} {way} this machine's clock"
    renewed = freshest_renewal(snapshot)
    if renewed is not None:
        off_server = abs((renewed - server).total_seconds())
        off_local = abs((renewed - local).total_seconds())
        if off_local + bound < off_server:  # the Leases keep this machine's time: the server's Date is off
            message = (
                f"{differ}; the freshest Lease renewal ({renewed:%H:%M:%SZ}) agrees with this machine: "
                "judged by this machine's clock (the API server's clock, or a proxy before it, is wrong; "
                "the control plane's own time-based decisions may be too)"
            )
            return Clock(local, f"{LOCAL} (the API server's Date is {_span(skew)} {way} it)", _found(message))
        if off_server + bound < off_local:
            message = (
                f"{differ}; the freshest Lease renewal ({renewed:%H:%M:%SZ}) agrees with the API server: "
                "judged by the API server's clock (this machine's clock is wrong)"
            )
            return Clock(server, SERVER, _found(message, Severity.INFO))
    message = f"{differ}, and no Lease renewal tells which is right: judged by the API server's clock"
    return Clock(server, f"{SERVER} ({_span(skew)} {way} this machine's clock)", _found(message))


def _found(message: str, severity: Severity | None = None) -> Finding:
    return finding("KPD-105", "clock", message, severity=severity)
