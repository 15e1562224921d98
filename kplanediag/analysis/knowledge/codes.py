"""Every finding code kplanediag emits, with its default severity and meaning: the one table.

docs/codes.md is generated from this table (``make docs``) and a unit test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.model import Finding, Plane, Severity


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    plane: Plane
    component: str
    title: str
    meaning: str


_C, _W, _I = Severity.CRITICAL, Severity.WARNING, Severity.INFO
_CP, _DP = Plane.CONTROL, Plane.DATA

CODES: dict[str, Code] = {
    c.code: c
    for c in (
        # --- control plane ---------------------------------------------------------------------
        Code(
            "KPD-100",
            _C,
            _CP,
            "kube-apiserver",
            "API server unreachable",
            "No HTTP answer from the API server within --request-timeout; nothing else can be observed.",
        ),
        Code(
            "KPD-101",
            _C,
            _CP,
            "kube-apiserver",
            "livez failing",
            "/livez reports failing checks: the API server process is not healthy.",
        ),
        Code(
            "KPD-102",
            _C,
            _CP,
            "kube-apiserver",
            "readyz failing",
            "/readyz reports failing checks other than etcd: the API server should not serve traffic.",
        ),
        Code(
            "KPD-103",
            _W,
            _CP,
            "kube-apiserver",
            "API server pod not ready",
            "The kube-apiserver static pod on a control-plane node is not ready or is crash-looping.",
        ),
        Code(
            "KPD-110",
            _C,
            _CP,
            "etcd",
            "etcd check failing",
            "An etcd check in /readyz or /livez fails: writes fail, reads come from the watch cache.",
        ),
        Code(
            "KPD-111",
            _W,
            _CP,
            "etcd",
            "etcd pod not ready",
            "The etcd static pod on a control-plane node is not ready or is crash-looping.",
        ),
        Code(
            "KPD-120",
            _C,
            _CP,
            "*",
            "leader Lease stale",
            "The leader-election Lease was not renewed within its own leaseDurationSeconds.",
        ),
        Code(
            "KPD-121",
            _C,
            _CP,
            "*",
            "leader Lease released",
            "The leader-election Lease has no holder: the last leader stopped and no instance took over.",
        ),
        Code(
            "KPD-122",
            _C,
            _CP,
            "*",
            "leader Lease missing",
            "No leader-election Lease on a self-hosted control plane: the component never ran.",
        ),
        Code(
            "KPD-123",
            _W,
            _CP,
            "*",
            "control-plane pod not ready",
            "A scheduler or controller-manager static pod is not ready or is crash-looping.",
        ),
        Code(
            "KPD-130",
            _I,
            _CP,
            "*",
            "control plane hidden",
            "Managed or unknown control plane: components that are not visible are unknown, not down.",
        ),
        # --- nodes and kubelet -----------------------------------------------------------------
        Code(
            "KPD-200",
            _C,
            _DP,
            "kubelet",
            "node not ready",
            "The node's Ready condition is False: the kubelet reports it cannot run pods.",
        ),
        Code(
            "KPD-201",
            _C,
            _DP,
            "kubelet",
            "node status unknown",
            "The node's Ready condition is Unknown: the kubelet stopped posting status.",
        ),
        Code(
            "KPD-202",
            _C,
            _DP,
            "kubelet",
            "node heartbeat stale",
            "The node's Lease in kube-node-lease was not renewed within its leaseDurationSeconds.",
        ),
        Code(
            "KPD-203",
            _W,
            _DP,
            "kubelet",
            "node pressure",
            "MemoryPressure, DiskPressure or PIDPressure is True: the kubelet may evict pods.",
        ),
        Code(
            "KPD-204",
            _C,
            _DP,
            "kubelet",
            "node network unavailable",
            "NetworkUnavailable is True: pod networking on the node is not configured.",
        ),
        Code(
            "KPD-205",
            _W,
            _DP,
            "kubelet",
            "kubelet version skew",
            "The kubelet is newer than the API server or more than 3 minor versions older.",
        ),
        Code(
            "KPD-206",
            _W,
            _DP,
            "kubelet",
            "node problem condition",
            "A custom node condition (e.g. node-problem-detector) reports a problem, by its polarity.",
        ),
        Code(
            "KPD-207",
            _I,
            _DP,
            "kubelet",
            "node cordoned",
            "The node is unschedulable (cordoned): running pods stay, no new pods land. Not a failure.",
        ),
        Code(
            "KPD-208",
            _I,
            _DP,
            "kubelet",
            "node being removed",
            "An autoscaler is removing the node; failures on it are lowered to warning.",
        ),
        Code(
            "KPD-209",
            _W,
            _DP,
            "kubelet",
            "node heartbeat Lease missing",
            "The node has no Lease in kube-node-lease, although others do.",
        ),
        Code(
            "KPD-210",
            _C,
            _DP,
            "container-runtime",
            "container runtime down",
            "The kubelet reports the container runtime as not ready.",
        ),
        # --- node add-ons ----------------------------------------------------------------------
        Code(
            "KPD-300",
            _C,
            _DP,
            "kube-proxy",
            "kube-proxy not ready",
            "The kube-proxy DaemonSet pod on a node is not ready: Service routing from that node fails.",
        ),
        Code(
            "KPD-301",
            _I,
            _DP,
            "kube-proxy",
            "kube-proxy replaced",
            "No kube-proxy, and the CNI is one that replaces it (e.g. Cilium): an expected absence.",
        ),
        Code(
            "KPD-302",
            _W,
            _DP,
            "kube-proxy",
            "kube-proxy not found",
            "No kube-proxy DaemonSet and no recognised replacement: Service routing is unverified.",
        ),
        Code(
            "KPD-310",
            _C,
            _DP,
            "cni",
            "CNI pod not ready",
            "The CNI DaemonSet pod on a node is not ready: pod networking on that node fails.",
        ),
        Code(
            "KPD-311",
            _I,
            _DP,
            "cni",
            "CNI not recognised",
            "No known CNI DaemonSet was found: pod networking per node is not verified.",
        ),
        Code(
            "KPD-320",
            _C,
            _DP,
            "coredns",
            "CoreDNS down",
            "CoreDNS has no ready replica or no ready endpoint: name resolution fails cluster-wide.",
        ),
        Code("KPD-321", _W, _DP, "coredns", "CoreDNS degraded", "CoreDNS has fewer ready replicas than desired."),
        Code(
            "KPD-322",
            _W,
            _DP,
            "coredns",
            "cluster DNS not found",
            "No CoreDNS (k8s-app=kube-dns) pods or Deployment were found.",
        ),
        # --- observation -----------------------------------------------------------------------
        Code(
            "KPD-900",
            _W,
            _CP,
            "*",
            "could not observe",
            "A list or endpoint could not be read (forbidden, failed, not in input): what depends on it is unknown.",
        ),
    )
}


def finding(
    code: str, subject: str, message: str, *, component: str | None = None, severity: Severity | None = None
) -> Finding:
    """A Finding for a code of the table; an unknown code is a programming error (KeyError)."""
    entry = CODES[code]
    return Finding(
        code=code,
        severity=severity or entry.severity,
        plane=entry.plane,
        component=component or entry.component,
        subject=subject,
        message=message,
    )


def codes_markdown() -> str:
    """The codes table as Markdown, for docs/codes.md."""
    lines = [
        "# Finding codes",
        "",
        "Generated from `kplanediag/analysis/knowledge/codes.py` by `make docs`; do not edit by hand.",
        "",
        "| code | severity | plane | component | finding | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in CODES.values():
        lines.append(f"| {c.code} | {c.severity.value} | {c.plane.value} | {c.component} | {c.title} | {c.meaning} |")
    return "\n".join(lines) + "\n"
