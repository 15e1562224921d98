"""The per-cluster config (docs/config.md) on real captures (../shared/real-captures): accepted
findings leave the exit code and are counted, stale entries are said, expected-absent components
are unknown and never down, policy overrides change verdicts, malformed files are exit 3 with the
line, and the section applied is chosen by context / cluster name (live) or --context (--from)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kplanediag.cli import main
from kplanediag.cli.config import read_fit
from kplanediag.cli.options import CannotAssess, Source

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "real-captures"
pytestmark = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"{CAPTURES} not present")
HA = "kubeadm-1.8-ha-master-kubelet-unknown"
NO_CNI = "kubeadm-1.27-no-cni-nodes-notready"
AKS = "aks-1.16-kubenet-addon-crashloop"
KIND = "kind-1.14-endpoints-leader-election"


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own ~/.config/kplanediag must never leak into a test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def capture(name: str) -> list[str]:
    at = json.loads((CAPTURES / "capture-times.json").read_text())[name]
    return ["--from", str(CAPTURES / f"{name}.json"), "--at", at]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    assert isinstance(exc.value.code, int)
    return exc.value.code, out, err


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def doc(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "check", "-o", "json", *args)
    return code, json.loads(out)


def test_accepting_the_critical_finding_lowers_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, plain = doc(capsys, *capture(HA))
    assert code == 2 and plain["summary"]["counts"]["accepted"] == 0 and "fit" not in plain
    rebuilt = [f for f in plain["findings"] if f["code"] == "KPD-201"]
    assert [f["subject"] for f in rebuilt] == ["k8s-master1"]
    path = config(
        tmp_path,
        """\
        default:
          accept:
            - code: KPD-201
              node: k8s-master*
              reason: master1 is being rebuilt
        """,
    )
    code, fitted = doc(capsys, *capture(HA), "--config", path)
    assert code == 1  # the warnings remain (CoreDNS 2/3, lost instances): WARNING, not CRITICAL
    assert fitted["summary"]["status"] == "warning"
    assert fitted["summary"]["counts"]["accepted"] == 1
    assert fitted["summary"]["counts"]["critical"] == 0
    assert "KPD-201" not in {f["code"] for f in fitted["findings"]}
    (accepted,) = fitted["fit"]["accepted"]
    assert (accepted["code"], accepted["subject"]) == ("KPD-201", "k8s-master1")
    assert accepted["acceptedBy"] == f"{path}:3" and accepted["reason"] == "master1 is being rebuilt"
    assert fitted["summary"]["text"].endswith("; 1 accepted finding(s) not counted")
    # what the node's failure breaks is still said: accepting is about alerting, not about facts
    assert [b["failure"] for b in fitted["blastRadius"]] == [b["failure"] for b in plain["blastRadius"]]


def test_table_footer_counts_and_v_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, "default:\n  accept: [KPD-207]\n")
    code, out, _ = run(capsys, "health", *capture(HA), "--config", path)
    assert code == 2
    assert "3 accepted finding(s) not counted (KPD-207 x3); -v lists them" in out
    assert "node k8s-master2 is cordoned" not in out  # listed only with -v
    code, out, _ = run(capsys, "health", *capture(HA), "--config", path, "-v")
    listing = out.split("== Accepted (not counted) ")[1]
    assert [line.split()[3].rstrip(":") for line in listing.splitlines() if "KPD-207" in line] == [
        "k8s-master1",
        "k8s-master2",
        "k8s-master3",
    ]
    assert listing.count(f"accepted by {path}:2") == 3


def test_ignore_for_one_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, fitted = doc(capsys, *capture(NO_CNI), "--ignore", "kpd-211", "--ignore", "KPD-302")
    assert code == 0  # both nodes' NotReady CNI findings were the only ones
    assert fitted["summary"]["counts"]["accepted"] == 2
    assert {a["acceptedBy"] for a in fitted["fit"]["accepted"]} == {"--ignore"}
    assert fitted["fit"]["stale"] == [
        {"origin": "--ignore", "entry": "accept KPD-302", "why": "no such finding in this run"}
    ]
    code, _, err = run(capsys, "check", *capture(NO_CNI), "--ignore", "KPD-999")
    assert code == 3 and "unknown finding code(s) KPD-999" in err


def test_stale_entry_is_reported_not_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(
        tmp_path,
        """\
        default:
          accept:
            - code: KPD-211
              node: node1
            - code: KPD-201
              node: node1
        """,
    )
    code, out, _ = run(capsys, "health", *capture(NO_CNI), "--config", path)
    assert code == 2  # node2's KPD-211 is still counted: the entry was narrowed to node1
    said = " ".join(out.split())  # the table wraps at 100 columns
    assert f"stale config: {path}:5: accept KPD-201 (node node1): no such finding in this run" in said
    code, fitted = doc(capsys, *capture(NO_CNI), "--config", path)
    assert [f["subject"] for f in fitted["findings"] if f["code"] == "KPD-211"] == ["node2"]
    assert [s["origin"] for s in fitted["fit"]["stale"]] == [f"{path}:5"]


def test_expected_absent_component_is_never_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, plain = doc(capsys, *capture(NO_CNI))
    assert {c["status"] for c in plain["components"] if c["name"] == "cni"} == {"down"}
    path = config(tmp_path, "default:\n  expected_absent:\n    - component: cni\n      reason: installed later\n")
    code, fitted = doc(capsys, *capture(NO_CNI), "--config", path)
    cni = [c for c in fitted["components"] if c["name"] == "cni"]
    assert [c["status"] for c in cni] == ["unknown", "unknown"]
    assert {c["detail"] for c in cni} == {f"expected absent: installed later ({path}:3)"}
    assert "cni" not in {f["component"] for f in fitted["findings"]}
    assert fitted["fit"]["expectedAbsent"] == ["cni"]
    assert code == 0 and fitted["summary"]["counts"]["accepted"] == 2  # never vanishing: counted
    # AKS kubenet: no CNI DaemonSet; the "CNI not recognised" finding is what the entry says, dropped
    _, aks = doc(capsys, *capture(AKS))
    assert "KPD-311" in {f["code"] for f in aks["findings"]}
    _, aks = doc(capsys, *capture(AKS), "--config", config(tmp_path, "default:\n  expected_absent: [cni]\n"))
    assert "KPD-311" not in {f["code"] for f in aks["findings"]}
    assert aks["summary"]["counts"]["accepted"] == 0


def test_expected_absent_but_running_is_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, "default:\n  expected_absent: [kube-proxy]\n")
    _, fitted = doc(capsys, *capture(HA), "--config", path)
    assert {c["status"] for c in fitted["components"] if c["name"] == "kube-proxy"} == {"healthy", "unknown"}
    (stale,) = fitted["fit"]["stale"]
    assert stale["entry"] == "expected absent kube-proxy" and stale["why"].startswith("observed healthy (k8s-master2")


def test_policy_override_changes_the_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, plain = doc(capsys, *capture(KIND))
    assert code == 0 and plain["summary"]["status"] == "healthy"
    path = config(tmp_path, "default:\n  policy:\n    lease_lock_since_minor: 14\n")
    code, strict = doc(capsys, *capture(KIND), "--config", path)
    assert code == 1  # 1.14 now counts as a Lease-locking version: the missing leader Leases are warned
    assert sorted(f["component"] for f in strict["findings"] if f["code"] == "KPD-122") == [
        "kube-controller-manager",
        "kube-scheduler",
    ]
    code, again = doc(capsys, *capture(KIND))  # an override holds for its own run only
    assert code == 0 and again["findings"] == plain["findings"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("default:\n  accept:\n    - code: KPD-999\n", 3, "unknown finding code 'KPD-999'"),
        ("default:\n  acept: []\n", 2, "unknown key 'acept' in section 'default'"),
        ("prod:\n  policy:\n    csr_pending: soon\n", 3, "prod.policy.csr_pending must be a number"),
        ("default:\n  policy:\n    certificate_warn_days: 1.5\n", 3, "must be a whole number"),
        ("default:\n  policy:\n    etcd_warn_ratio: 2\n", 3, "must be between 0 and 1"),
        ("default:\n\n  policy:\n    nope: 3\n", 4, "unknown policy threshold 'nope'"),
        ("default:\n  accept: [\n", 3, "not valid YAML"),
        ("default:\n  accept:\n    - code: KPD-130\n      nod: x\n", 4, "unknown key 'nod'"),
        ("default:\n  expected_absent: [kube-prox]\n", 2, "unknown component 'kube-prox'"),
        ("default: {}\ndefault: {}\n", 2, "'default' given twice"),
        ("- KPD-130\n", 1, "the file must be a mapping"),
        ("default:\n  accept: KPD-130\n", 2, "default.accept must be a list"),
        ("default:\n  accept:\n    - reason: why\n", 3, "needs a 'code'"),
        ("default:\n  links:\n    runbook: javascript:alert(1)\n", 3, "must be an http(s) URL"),
        ("default:\n  links:\n    dashboard: https://g.example/d x\n", 3, "must be an http(s) URL"),
        ("default:\n  links:\n    runbook: https://w.example/{cod}\n", 3, "unknown placeholder(s) ['cod']"),
        ("default:\n  links:\n    dashboard: https://g.example/{code}\n", 3, "(no placeholder)"),
        ("default:\n  links:\n    wiki: https://w.example/\n", 3, "unknown key 'wiki' in default.links"),
    ],
)
def test_malformed_config_is_exit_3_with_its_line(
    text: str, line: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    code, out, err = run(capsys, "check", *capture(AKS), "--config", str(path), "-o", "json")
    assert code == 3
    assert f"config {path}:{line}: " in err and message in err
    assert json.loads(out)["error"]["class"] == "configuration"


def test_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", *capture(AKS), "--config", str(tmp_path / "nope.yaml"))
    assert code == 3 and "no such file" in err
    # the default file is optional; once there, it is read
    code, _, _ = run(capsys, "check", *capture(HA))
    assert code == 2
    default = tmp_path / "xdg" / "kplanediag" / "config.yaml"
    default.parent.mkdir(parents=True)
    default.write_text("default:\n  accept: [KPD-201]\n")
    code, fitted = doc(capsys, *capture(HA))
    assert code == 1 and fitted["fit"]["source"] == f"config {default} [default]"


def test_from_uses_the_section_named_by_context(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(
        tmp_path, "default:\n  accept: [KPD-207]\nha-lab:\n  accept: [KPD-201]\nother:\n  accept: [KPD-321]\n"
    )
    _, fitted = doc(capsys, *capture(HA), "--config", path)
    assert fitted["summary"]["counts"]["accepted"] == 3  # default only: the three cordoned masters
    code, fitted = doc(capsys, *capture(HA), "--config", path, "--context", "ha-lab")
    assert code == 1 and fitted["summary"]["counts"]["accepted"] == 4
    assert fitted["fit"]["source"] == f"config {path} [default, ha-lab]"
    code, _, err = run(capsys, "check", *capture(HA), "--config", path, "--context", "ha-lb")
    assert code == 3 and "has no section 'ha-lb'" in err


def test_live_section_by_context_then_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = tmp_path / "a.yaml"
    first.write_text(
        "current-context: admin@prod\n"
        "contexts:\n- name: admin@prod\n  context: {cluster: prod-eu, user: admin}\n"
        "- name: ro@prod\n  context: {cluster: prod-eu, user: ro}\n"
    )
    second = tmp_path / "b.yaml"  # merged as kubectl does: a later file does not override a name
    second.write_text("current-context: dev\ncontexts:\n- name: admin@prod\n  context: {cluster: elsewhere}\n")
    path = Path(
        config(
            tmp_path,
            "default:\n  policy: {csr_pending: 60}\n"
            "prod-eu:\n  accept: [KPD-201]\n  policy: {csr_pending: 120}\n"
            "admin@prod:\n  accept: [KPD-207]\n  policy: {csr_pending: 300}\n",
        )
    )
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")

    def live(context: str | None) -> Source:
        return Source(None, context, 5.0, 30.0, None, None, False)

    fit = read_fit(live(None), path, ())  # current-context admin@prod, cluster prod-eu
    assert fit is not None and fit.source == f"config {path} [default, prod-eu, admin@prod]"
    assert [a.code for a in fit.accept] == ["KPD-201", "KPD-207"] and dict(fit.policy) == {"csr_pending": 300}
    fit = read_fit(live("ro@prod"), path, ("KPD-321",))  # same cluster, no section of its own
    assert fit is not None and dict(fit.policy) == {"csr_pending": 120}
    assert [(a.code, a.origin) for a in fit.accept] == [("KPD-201", f"{path}:4"), ("KPD-321", "--ignore")]
    fit = read_fit(live("unknown-context"), path, ())
    assert fit is not None and fit.source == f"config {path} [default]"
    with pytest.raises(CannotAssess, match="no such file"):
        read_fit(live(None), tmp_path / "absent.yaml", ())


@pytest.mark.timeout(60)  # CLI runs, a serve started and polled: 9 s alone, past 10 on a loaded machine
def test_accepted_findings_hold_in_wait_watch_serve_and_fleets(tmp_path: Path) -> None:
    """Findings a team accepted keep working unattended (issue 24): the lab's real silenced-worker
    snapshot with its two findings accepted by --ignore is healthy to wait, watch and serve, and a
    fleet run takes --ignore for each cluster (before, all four refused the options)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from tests.serving import start  # noqa: PLC0415
    from tests.unit.factories import DATA  # noqa: PLC0415

    silenced = str(DATA / "lab-worker-silenced.json")
    accept = ("--ignore", "KPD-201", "--ignore", "KPD-321")

    def kpd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kplanediag", *args], capture_output=True, text=True, timeout=60, check=False
        )

    waited = kpd("wait", "--from", silenced, *accept, "--timeout", "5s", "--interval", "500ms", "-o", "json")
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["summary"]["status"] == "healthy"
    assert kpd("wait", "--from", silenced, "--timeout", "1s", "--interval", "500ms").returncode == 2  # not accepted
    watched = kpd("watch", "--from", silenced, *accept, "--count", "1")
    assert watched.returncode == 0 and "2 accepted finding(s) not counted" in watched.stdout, watched.stderr
    served = start("--from", silenced, *accept, "--interval", "1s")
    try:
        served.until("the first check", lambda: served.get("/readyz")[0] == 200, 10)
        doc = json.loads(served.get("/report.json")[2])
        assert doc["summary"]["status"] == "healthy" and len(doc["fit"]["accepted"]) == 2
    finally:
        served.proc.kill()
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- {name: c, cluster: {server: 'https://127.0.0.1:1'}}\n"
        "contexts:\n- {name: a, context: {cluster: c, user: u}}\n- {name: b, context: {cluster: c, user: u}}\n"
        "users:\n- {name: u, user: {token: t}}\n"
    )
    fleet = kpd("check", "--kubeconfig", str(config), "--all-contexts", "--ignore", "KPD-100", "-o", "json",
                "--request-timeout", "1", "--no-last-known")  # fmt: skip
    docs = json.loads(fleet.stdout)
    assert [d["context"] for d in docs] == ["a", "b"], fleet.stderr
    assert all(a["acceptedBy"] == "--ignore" for d in docs for a in d["fit"]["accepted"])


def test_runbook_and_dashboard_links(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """links.runbook ({code}, {anchor}) and links.dashboard: the status page and Markdown link there, a
    later section overrides the default's, the JSON fit says them; a quote in a URL stays text."""
    path = config(
        tmp_path,
        """\
        default:
          links:
            runbook: https://runbooks.example.com/kplanediag/{code}
            dashboard: https://grafana.example.com/d/default
        prod:
          links:
            dashboard: https://grafana.example.com/d/prod?var-cluster=prod&x="y"
        """,
    )
    args = [*capture(HA), "--config", path, "--context", "prod"]
    _, page, _ = run(capsys, "check", "-o", "html", *args)
    assert '<a href="https://runbooks.example.com/kplanediag/KPD-201">KPD-201</a>' in page
    assert '<a href="https://grafana.example.com/d/prod?var-cluster=prod&amp;x=&quot;y&quot;">' in page
    assert 'href="#code-KPD-201"' not in page
    _, markdown, _ = run(capsys, "check", "-o", "markdown", *args)
    assert "| [KPD-201](https://runbooks.example.com/kplanediag/KPD-201) |" in markdown
    assert 'Dashboard: <https://grafana.example.com/d/prod?var-cluster=prod&x="y">' in markdown
    _, as_json = doc(capsys, *args)
    assert as_json["fit"]["links"] == {
        "runbook": "https://runbooks.example.com/kplanediag/{code}",
        "dashboard": 'https://grafana.example.com/d/prod?var-cluster=prod&x="y"',
    }
    # without links: the code links to its meaning on the same page
    _, plain, _ = run(capsys, "check", "-o", "html", *capture(HA))
    assert 'href="#code-KPD-201"' in plain and "runbooks.example.com" not in plain
