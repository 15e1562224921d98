"""The CLI's surface where it once misled (issue 24): ``diff`` of two unrelated clusters says so;
``snapshot save --at`` is used for an input without a time and refused, not ignored, otherwise."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "real-captures"


def kpd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the real captures are not on this machine")
def test_diff_of_two_clusters_warns_and_of_one_does_not() -> None:
    other = kpd(
        "diff", str(CAPTURES / "eks-1.31-vpc-cni-healthy.json"), str(CAPTURES / "oke-managed-flannel-healthy.json")
    )
    assert "look like different clusters (no node in common: 2 and 4 nodes)" in other.stderr
    same = kpd("diff", str(DATA / "lab-healthy.json"), str(DATA / "lab-worker-silenced.json"))
    assert "different clusters" not in same.stderr and same.returncode == 1, same.stderr
    silenced = str(DATA / "lab-worker-silenced.json")
    unchanged = kpd("diff", silenced, silenced)  # critical, but nothing changed: 0, as diff(1) says
    assert unchanged.returncode == 0 and "no change" in unchanged.stdout, unchanged.stderr
    missing = kpd("diff", silenced, "/nonexistent.json")
    assert missing.returncode == 3


def test_snapshot_save_at_is_used_or_refused_never_ignored(tmp_path: Path) -> None:
    stamp = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z")

    def without_times(value: object) -> object:  # the lab's real nodes, every timestamp removed
        if isinstance(value, dict):
            return {k: without_times(v) for k, v in value.items() if not (isinstance(v, str) and stamp.fullmatch(v))}
        return [without_times(v) for v in value] if isinstance(value, list) else value

    untimed = tmp_path / "nodes.json"
    untimed.write_text(json.dumps(without_times(json.loads((DATA / "wire" / "nodes.json").read_text()))))
    saved = tmp_path / "saved.json"
    refused = kpd(
        "snapshot", "save", str(saved), "--from", str(DATA / "lab-healthy.json"), "--at", "2026-01-01T00:00:00Z"
    )
    assert (
        refused.returncode == 3
        and "--at stands only for the capture time of an input that holds none" in refused.stderr
    )
    assert not saved.exists()
    used = kpd("snapshot", "save", str(saved), "--from", str(untimed), "--at", "2026-01-01T00:00:00Z")
    assert used.returncode == 0, used.stderr
    assert json.loads(saved.read_text())["collectedAt"] == "2026-01-01T00:00:00Z"


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the real captures are not on this machine")
def test_not_read_is_never_said_as_none() -> None:
    """The EKS capture holds no webhook configuration or APIService list: 'not read', never 'no
    admission webhook'; the lab's real snapshot read them and has none of its own: 'no ...'."""
    eks = kpd("check", "--from", str(CAPTURES / "eks-1.31-vpc-cni-healthy.json"))
    assert "webhooks and aggregated APIs: not read (see Not observed)" in eks.stdout
    assert "no admission webhook" not in eks.stdout.lower()
    page = kpd("check", "--from", str(CAPTURES / "eks-1.31-vpc-cni-healthy.json"), "-o", "html")
    assert "not read (see Not observed)" in page.stdout and "No admission webhook" not in page.stdout
    lab = kpd("check", "--from", str(DATA / "lab-healthy.json"))
    assert "  no admission webhook or aggregated API" in lab.stdout


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the real captures are not on this machine")
def test_timeline_groups_repeats_and_says_nodes_first() -> None:
    """The kubeadm 1.8 HA capture: 186 near-identical 'unschedulable' lines once buried the line
    that matters (k8s-master1: Ready=Unknown, last of 193); now nodes come first, repeats are one
    line with their count, and --kind / --since narrow it (JSON keeps every entry)."""
    ha = str(CAPTURES / "kubeadm-1.8-ha-master-kubelet-unknown.json")
    table = kpd("timeline", "--from", ha).stdout.splitlines()
    assert len(table) < 15, table
    assert table[1] == "-- nodes, Leases and leaders --"
    nodes = table[2 : table.index("-- pods and events --")]
    assert any("k8s-master1: Ready=Unknown" in line for line in nodes)
    assert any("186 pods since" in line and "unschedulable" in line for line in table)
    doc = json.loads(kpd("timeline", "--from", ha, "-o", "json", "--kind", "node").stdout)
    assert {e["kind"] for e in doc["entries"]} == {"node"} and len(doc["entries"]) == 5
    recent = json.loads(kpd("timeline", "--from", ha, "-o", "json", "--since", "1h").stdout)
    assert recent["entries"] and all(e["secondsAgo"] <= 3600 for e in recent["entries"])
    everything = json.loads(kpd("timeline", "--from", ha, "-o", "json").stdout)
    assert len(everything["entries"]) > 190


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the real captures are not on this machine")
def test_what_the_profile_hides_is_expected_not_partly_unknown() -> None:
    """The healthy OpenShift capture: kube-proxy is built into the SDN (the profile says so), so the
    data plane is healthy, not 'partly unknown'; kube-proxy is still listed unknown with that reason.
    The EKS capture's API server is unknown for another reason too (no health endpoints in a List):
    that stays 'partly unknown'."""
    doc = json.loads(kpd("check", "--from", str(CAPTURES / "openshift-4.8-aws-sdn-healthy.json"), "-o", "json").stdout)
    assert "data plane (6 nodes) healthy" in doc["summary"]["text"]
    proxies = [c for c in doc["components"] if c["name"] == "kube-proxy"]
    assert proxies and all(c["status"] == "unknown" and "not visible on" in c["detail"] for c in proxies)
    eks = kpd("check", "--from", str(CAPTURES / "eks-1.31-vpc-cni-healthy.json")).stdout.splitlines()[0]
    assert "control plane (managed) partly unknown" in eks


BUNDLES = Path(__file__).resolve().parents[3] / "shared" / "real-bundles"


@pytest.mark.skipif(not BUNDLES.is_dir(), reason="the real bundles are not on this machine")
@pytest.mark.timeout(60)  # three reads of a 97 MB must-gather
def test_healthy_webhooks_and_apis_are_folded_like_healthy_nodes() -> None:
    """The healthy OpenShift must-gather printed its 16 healthy webhook configurations and
    APIServices in full (206 lines); they are folded now, and -o wide and components list them."""
    bundle = str(BUNDLES / "openshift-4.8-must-gather" / "must-gather-aws.tar.xz")
    table = kpd("check", "--from", bundle).stdout
    assert "16 healthy webhook configuration(s) and aggregated API(s) not shown" in table
    assert len(table.splitlines()) <= 40  # 206 once; digests (bare, 64 hex) shortened, instances folded
    assert "kube-apiserver           3 instances  ok" in table
    assert not re.search(r"[0-9a-f]{13}", table.split("== Data plane")[0])
    for args in (("check", "-o", "wide"), ("components",)):
        listed = kpd(*args, "--from", bundle).stdout
        assert "not shown" not in listed.split("Cross-plane")[1].split("\n== ")[0]


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the real captures are not on this machine")
@pytest.mark.parametrize("width", [80, 100, 140])
def test_every_line_but_the_headline_fits_the_terminal(width: int) -> None:
    """At 80 columns 23 lines of the HA capture's report once overflowed. Every real capture, in
    table and wide, at 80, 100 and 140 columns: nothing wider, the headline whole on one line,
    image digests shortened, no status with its reason in nested parentheses."""
    from kplanediag.analysis.report import analyze  # noqa: PLC0415
    from kplanediag.render.formats import render  # noqa: PLC0415
    from kplanediag.render.table import columns  # noqa: PLC0415
    from kplanediag.snapshot import load_snapshot, parse_time  # noqa: PLC0415

    times = json.loads((CAPTURES / "capture-times.json").read_text())
    for name, at in times.items():
        report = analyze(load_snapshot(CAPTURES / f"{name}.json"), parse_time(at))
        for output in ("table", "wide"):
            with columns(width):
                lines = render(report, output).splitlines()
            assert lines[0] == report.summary
            assert [line for line in lines[1:] if len(line) > width] == [], (name, output)
            assert not re.search(r"sha256:[0-9a-f]{13}", "\n".join(lines)), (name, output)
            tables = "\n".join(lines).split("== Findings")[0]  # status cells: word first, reason after
            assert not re.search(r"(?:unknown|DOWN|DEGRADED) \(", tables), (name, output)


HEALTHY_CAPTURES = [
    "eks-1.31-vpc-cni-healthy",
    "gke-1.10-node-npd-conditions",
    "k3s-1.31-single-server-embedded-cp",
    "kind-1.14-endpoints-leader-election",
    "kubeadm-1.8-aws-calico-kube-dns",
    "kurl-1.23-weave-3nodes",
    "oke-managed-flannel-healthy",
    "openshift-4.8-aws-sdn-healthy",
    "rke2-1.33-cilium-static-kube-proxy",
]


def table_at_80(name: str, wide: bool = False) -> str:
    from kplanediag.analysis.report import analyze  # noqa: PLC0415
    from kplanediag.render.table import columns, render_table  # noqa: PLC0415
    from kplanediag.snapshot import parse_time  # noqa: PLC0415
    from kplanediag.snapshot.files import load_snapshot  # noqa: PLC0415

    at = json.loads((CAPTURES / "capture-times.json").read_text())[name]
    with columns(80):
        return render_table(analyze(load_snapshot(CAPTURES / f"{name}.json"), parse_time(at)), wide=wide)


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the real captures are not on this machine")
@pytest.mark.parametrize("name", HEALTHY_CAPTURES)
def test_a_healthy_report_is_about_30_lines_at_80_columns(name: str) -> None:
    """Issue 24, item 4: each healthy real capture's table fits in ~30 lines at 80 columns (EKS's
    was 54): one line for what the profile hides, gaps of one reason on one line, no empty sections
    apart, the profile's evidence in -o wide. Every line but the headline fits in 80 columns."""
    text = table_at_80(name)
    lines = text.splitlines()
    assert lines[0].startswith("HEALTHY"), lines[0]
    assert len(lines) <= 37, text
    assert all(len(line) <= 80 for line in lines[1:]), text
    assert "no findings, no current failure" in text or "== Findings" in text


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the real captures are not on this machine")
def test_what_the_profile_hides_is_one_line_and_gaps_group_by_reason() -> None:
    eks = table_at_80("eks-1.31-vpc-cni-healthy")
    control = eks.split("== Control plane")[1].split("== Data plane")[0]
    assert "COMPONENT" not in control  # no row per hidden component
    assert "not visible on EKS (managed control plane): cloud-controller-manager, etcd," in control
    assert "kube-controller-manager" in control and "kube-\n" not in control  # names never split at a hyphen
    assert "  - version, livez, readyz: not in a kubectl List" in eks
    assert "profile eks\n" in eks and "eks.amazonaws.com/nodegroup" not in eks
    assert "eks.amazonaws.com/nodegroup" in table_at_80("eks-1.31-vpc-cni-healthy", wide=True)
    rke2 = table_at_80("rke2-1.33-cilium-static-kube-proxy")
    assert "  all on omen-omen-25l-desktop-gt12-0xxx:\nCOMPONENT                 STATUS" in rke2
    assert "kube-apiserver            ok        v1.33.5-rke2r1-build20250910" in rke2
