"""The real bundles of ../shared/real-bundles and their converted twins in ../shared/real-captures,
and what "the same diagnosis" means (shared by tests/unit/test_bundles.py and bench/bundles.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kplanediag.analysis.report import analyze
from kplanediag.analysis.results import Report
from kplanediag.snapshot import parse_time
from kplanediag.snapshot.files import load_snapshot

SHARED = Path(__file__).resolve().parents[3] / "shared"
BUNDLES = SHARED / "real-bundles"
CAPTURES = SHARED / "real-captures"

TWINS = {
    # bundle folder: (the path read, as a user would pass it; its twin; the format it must be read as)
    "aks-1.16-cluster-info-dump": (".", "aks-1.16-kubenet-addon-crashloop", "cluster-info-dump"),
    "k3s-1.31-troubleshoot-bundle": ("baseline.tar.gz", "k3s-1.31-single-server-embedded-cp", "troubleshoot"),
    "kind-1.14-sonobuoy-results": ("testResultsOutput.tar.gz", "kind-1.14-endpoints-leader-election", "sonobuoy"),
    "kubeadm-1.8-sonobuoy-results": ("results-0.10.tar.gz", "kubeadm-1.8-aws-calico-kube-dns", "sonobuoy"),
    "kurl-1.23-support-bundle-tree": (".", "kurl-1.23-weave-3nodes", "troubleshoot"),
    "oke-1.18-cluster-info-dump": (".", "oke-managed-flannel-healthy", "cluster-info-dump"),
    "openshift-4.8-must-gather": ("must-gather-aws.tar.xz", "openshift-4.8-aws-sdn-healthy", "must-gather"),
    "rke2-1.33-cluster-info-dump": (".", "rke2-1.33-cilium-static-kube-proxy", "cluster-info-dump"),
}


def bundle_path(folder: str) -> Path:
    return (BUNDLES / folder / TWINS[folder][0]).resolve()


def twin_report(folder: str) -> Report:
    twin = TWINS[folder][1]
    at = json.loads((CAPTURES / "capture-times.json").read_text())[twin]
    return analyze(load_snapshot(CAPTURES / f"{twin}.json"), parse_time(at))


@dataclass(frozen=True)
class Diagnosis:
    """What must be equal: each component's status (by name and node), each finding (code, subject,
    severity), the overall status, the profile and the control-plane mode."""

    components: frozenset[tuple[str, str, str]]
    findings: frozenset[tuple[str, str, str]]
    status: str
    profile: str
    mode: str

    @classmethod
    def of(cls, rep: Report) -> Diagnosis:
        return cls(
            frozenset((c.name, c.node or "", c.status.value) for c in rep.components),
            frozenset((f.code, f.subject, f.severity.value) for f in rep.findings),
            rep.status,
            rep.cluster.profile,
            rep.cluster.control_plane_mode,
        )

    def differences(self, twin: Diagnosis) -> list[str]:
        """``+``: only read from the bundle; ``-``: only in the twin's diagnosis."""
        out = [f"+component {' '.join(c)}" for c in sorted(self.components - twin.components)]
        out += [f"-component {' '.join(c)}" for c in sorted(twin.components - self.components)]
        out += [f"+finding {' '.join(f)}" for f in sorted(self.findings - twin.findings)]
        out += [f"-finding {' '.join(f)}" for f in sorted(twin.findings - self.findings)]
        for name in ("status", "profile", "mode"):
            if getattr(self, name) != getattr(twin, name):
                out.append(f"{name} {getattr(twin, name)} -> {getattr(self, name)}")
        return out
