"""Control-plane chains: the API server or etcd failing (checks failing, quorum lost, writes refused)
stops every leader from renewing its Lease and every controller from acting, so the stale leader Leases
and missing effects that follow are its effects, not failures of their own."""

from __future__ import annotations

from kplanediag.analysis.causes.model import Links
from kplanediag.analysis.model import Finding

# Worst first: the finding that names the failure when several are present.
STORAGE_ROOTS = ("KPD-100", "KPD-101", "KPD-110", "KPD-113", "KPD-422", "KPD-421", "KPD-102")
FOLLOWERS = ("KPD-120", "KPD-121", "KPD-125", "KPD-126")  # leaders not renewing, effects missing


def link_control_plane(findings: tuple[Finding, ...], links: Links) -> None:
    root = next((f for code in STORAGE_ROOTS for f in findings if f.code == code), None)
    if root is None:
        return
    for f in findings:
        if f.code in FOLLOWERS:
            links.add(root, f"{f.component}: {f.message.split(':', 1)[0]}", f)
