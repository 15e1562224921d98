"""``--redact`` on real captures (../shared/real-captures): every output format and ``snapshot save``
leave no node, pod, namespace, workload or Service name, IP, hostname, providerID or URL of the
input (the forbidden set is read from the input file itself), keep statuses, codes and counts, map
one name to one token, and a redacted snapshot reloads to the same verdict."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kplanediag.analysis.report import analyze
from kplanediag.cli import cli
from kplanediag.render.formats import OUTPUTS, render
from kplanediag.render.redact import Redactor
from kplanediag.render.redact_apply import redact_report, redact_run, redact_snapshot, redactor_for
from kplanediag.render.redact_policy import generated, kept_name, kept_namespace
from kplanediag.snapshot import load_bytes, load_snapshot, parse_time
from kplanediag.snapshot.writer import encode_snapshot

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "real-captures"
pytestmark = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"{CAPTURES} not present")
# Many names and addresses: OpenShift (239 pods, 6 nodes, AWS), AKS (providerID with a subscription),
# HA kubeadm (5 nodes, 401 Deployments), OKE (nodes named by IP, OCI instance ids), kURL (pods only).
CASES = (
    "openshift-4.8-aws-sdn-healthy",
    "aks-1.16-kubenet-addon-crashloop",
    "kubeadm-1.8-ha-master-kubelet-unknown",
    "oke-managed-flannel-healthy",
    "kurl-1.23-weave-3nodes",
)
NAMED_KINDS = {"Node", "Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "Service"}


def at(name: str) -> str:
    times: dict[str, str] = json.loads((CAPTURES / "capture-times.json").read_text())
    return times[name]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


def is_address(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified)


def kept_by_policy(name: str) -> bool:
    """A component/add-on name, or one with generated segments after it (coredns-5644d7b6d9-xk2bd)."""
    parts = name.split("-")
    while len(parts) > 1 and not kept_name("-".join(parts)) and generated(parts[-1]):
        parts.pop()
    return kept_name("-".join(parts))


@functools.cache
def forbidden(name: str) -> frozenset[str]:
    """Every identifying string of the input, read from the raw List (not through kplanediag)."""
    doc = json.loads((CAPTURES / f"{name}.json").read_text())
    out: set[str] = set()
    for item in doc["items"]:
        meta = item.get("metadata", {})
        namespace = meta.get("namespace", "")
        if namespace and not kept_namespace(namespace):
            out.add(namespace)
        if item.get("kind") in NAMED_KINDS and not kept_by_policy(meta.get("name", "")):
            out.add(meta["name"])
        out |= {o["name"] for o in meta.get("ownerReferences") or () if not kept_by_policy(o.get("name", ""))}
        if item.get("kind") == "Node":
            out |= {a["address"] for a in item.get("status", {}).get("addresses") or ()}
            provider = item.get("spec", {}).get("providerID", "")
            out.add(provider.split("://", 1)[-1].strip("/"))
        if item.get("kind") == "Pod":
            out.add(item.get("spec", {}).get("nodeName", ""))
    for text in strings(doc):
        if is_address(text):
            out.add(text)
        hosts = set(re.findall(r"https?://([^/\s:\"'\]]+)", text))
        out |= {h for h in hosts if not all(kept_name(x) or kept_namespace(x) for x in h.split("."))}
    return frozenset(s for s in out if s)


def leaks(text: str, names: frozenset[str]) -> list[str]:
    """The names found in ``text`` as whole DNS words: ``web`` in ``web.shop.svc`` or ``ns/web``, not
    in ``web-frontend``. One pass over the words of the text, however many names."""
    text = re.sub(r"-\n\s*", "-", text)  # the table wraps long words at hyphens
    found = {n for n in names if ":" in n and n in text}  # IPv6
    for run in re.findall(r"[A-Za-z0-9.-]+", text):
        labels = run.strip(".").split(".")
        for i in range(len(labels)):
            found |= {".".join(labels[i:j]) for j in range(i + 1, min(len(labels), i + 8) + 1)} & names
    return sorted(found)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout


def check(name: str, *args: str, source: Path | None = None) -> tuple[int, str]:
    path = source or CAPTURES / f"{name}.json"
    return invoke("check", "--from", str(path), "--at", at(name), *args)


def verdict(doc: dict[str, Any]) -> dict[str, Any]:
    """What redaction must not change: statuses, codes, severities, counts, versions."""
    return {
        "components": sorted(
            (c["name"], c["plane"], c["status"], c["version"] or "", c["role"] or "") for c in doc["components"]
        ),
        "findings": sorted((f["code"], f["severity"], f["plane"], f["component"]) for f in doc["findings"]),
        "status": doc["summary"]["status"],
        "counts": doc["summary"]["counts"],
        "blast": sorted(
            (
                b["plane"],
                b["scope"],
                b["affected"]["pods"],
                len(b["affected"]["nodes"]),
                len(b["affected"]["workloads"]),
            )
            for b in doc["blastRadius"]
        ),
        "gaps": len(doc["gaps"]),
    }


@functools.cache
def plain(name: str) -> tuple[int, str]:
    """The unredacted ``-o json`` report: exit code and text."""
    return check(name, "-o", "json")


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", CASES)
def test_every_format_leaves_no_name_address_or_url(name: str, output: str) -> None:
    names = forbidden(name)
    assert len(names) >= 8, "the capture must have names to hide"
    plain_code, plain_text = plain(name)
    assert leaks(plain_text, names), "the unredacted report shows names (else this test proves nothing)"
    code, text = check(name, "-o", output, "--redact", *(("-v",) if output == "wide" else ()))
    assert code == plain_code
    assert text.strip()
    if output in ("html", "junit"):  # the markup's own words (<main id="main">, CSS) are no names
        text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
        text = re.sub(r'\s(?:id|class|href|aria-labelledby)="[^"]*"', " ", text)
        text = re.sub(r"</?[A-Za-z][A-Za-z0-9]*", "<", text)
    assert leaks(text, names) == []


@pytest.mark.parametrize("name", CASES)
def test_statuses_codes_and_counts_are_unchanged(name: str) -> None:
    _, redacted = check(name, "-o", "json", "--redact")
    assert verdict(json.loads(redacted)) == verdict(json.loads(plain(name)[1]))
    assert re.findall(r"KPD-\d+", redacted) == re.findall(r"KPD-\d+", plain(name)[1])


@pytest.mark.parametrize("name", CASES)
def test_one_name_one_token(name: str) -> None:
    """Walking the same report field by field: each original maps to one token, each token to one
    original, and a second run (new salt) gives other tokens."""
    snap = load_snapshot(CAPTURES / f"{name}.json")
    report = analyze(snap, parse_time(at(name)))
    first = redact_report(report, redactor_for([snap]))
    pairs = set()
    for before, after in zip(report.components, first.components, strict=True):
        assert (before.name, before.status, before.plane) == (after.name, after.status, after.plane)
        if before.node:
            pairs.add((before.node, after.node))
    for b_entry, a_entry in zip(report.blast_radius, first.blast_radius, strict=True):
        pairs |= set(zip(b_entry.affected.nodes, a_entry.affected.nodes, strict=True))
        pairs |= {(b.name, a.name) for b, a in zip(b_entry.affected.workloads, a_entry.affected.workloads, strict=True)}
    assert pairs
    forward = {b: {a for x, a in pairs if x == b} for b, _ in pairs}
    backward = {a: {b for b, y in pairs if y == a} for _, a in pairs}
    assert all(len(v) == 1 for v in forward.values()), forward
    assert all(len(v) == 1 for v in backward.values()), backward
    nodes = {b for b, a in pairs if re.fullmatch(r"node-[0-9a-f]{6,}", a or "")}
    assert nodes >= {c.node for c in report.components if c.node}
    second = redact_report(report, redactor_for([snap]))
    assert {c.node for c in second.components} != {c.node for c in first.components} or not nodes


SAVED = (*CASES[:4],)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``snapshot save --redact`` of a capture, written once per module."""

    @functools.cache
    def save(name: str) -> Path:
        path = tmp_path_factory.mktemp("redacted") / f"{name}.json"
        code, _ = invoke("snapshot", "save", "--from", str(CAPTURES / f"{name}.json"), "--redact", str(path))
        assert code == 0
        return path

    return save


@pytest.mark.parametrize("name", SAVED)
def test_redacted_snapshot_hides_names_and_images(name: str, saved: Callable[[str], Path]) -> None:
    text = saved(name).read_text()
    values = re.sub(r'"(?:[^"\\]|\\.)*":', ":", text)  # JSON keys and label keys (kept: "api", "app") go
    assert leaks(values, forbidden(name)) == []
    items = json.loads((CAPTURES / f"{name}.json").read_text())["items"]
    pods = [item for item in items if item.get("kind") == "Pod"]
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    repositories = {re.split(r"[:@]", i[: i.rfind("/")] if "/" in i else i)[0] for i in images}
    assert repositories and not [r for r in repositories if f'"{r}' in text]


@pytest.mark.parametrize("name", SAVED)
def test_redacted_snapshot_reloads_to_the_same_verdict(name: str, saved: Callable[[str], Path]) -> None:
    _, reloaded = check(name, "-o", "json", source=saved(name))
    assert verdict(json.loads(reloaded)) == verdict(json.loads(plain(name)[1]))
    _, again = check(name, "-o", "markdown", "--redact", source=saved(name))
    assert leaks(again, forbidden(name)) == []


def test_tokens_are_keyed_by_the_salt() -> None:
    snap = load_snapshot(CAPTURES / "openshift-4.8-aws-sdn-healthy.json")
    one, two, other = (redactor_for([snap], salt) for salt in (b"k" * 16, b"k" * 16, b"j" * 16))
    assert one.tokens == two.tokens
    node = snap.nodes[0].name
    assert one.tokens[node] != other.tokens[node]
    owners: dict[str, list[str]] = {}
    for original, token in one.tokens.items():
        owners.setdefault(token, []).append(original)
    shared = {t: o for t, o in owners.items() if len(o) > 1}
    # no token is shared, except by a node's own spellings (short hostname, Hostname address): one machine, one token
    assert all(t.startswith("node-") for t in shared), shared


def test_text_rules_on_real_strings() -> None:
    """The address and URL rules on the shapes real objects hold: providerIDs, container runtime
    versions, a server URL, an IPv6 endpoint, a Lease holder identity, a static pod name."""
    snap = load_snapshot(CAPTURES / "aks-1.16-kubenet-addon-crashloop.json")
    r = redactor_for([snap], b"s" * 16)
    node = snap.nodes[0]
    token = r.tokens[node.name]
    assert r.text(node.status.node_info.container_runtime_version) == node.status.node_info.container_runtime_version
    assert r.text(node.spec.provider_id).startswith("azure://id-")
    assert "subscriptions" not in r.text(f"providerID {node.spec.provider_id} on {node.name}")
    assert r.text(f"{node.name}_6f1d2c3a-0b1e") == f"{token}_6f1d2c3a-0b1e"
    assert r.text(f"kube-system/kube-apiserver-{node.name}") == f"kube-system/kube-apiserver-{token}"
    served = r.text("Get https://[2001:db8::10]:443/readyz: dial tcp 10.240.0.4:443 and 127.0.0.1:2379")
    assert re.fullmatch(
        r"Get https://\[ip-[0-9a-f]{6}\]:443/readyz: dial tcp ip-[0-9a-f]{6}:443 and 127.0.0.1:2379", served
    )
    assert r.text("at 2020-06-07T08:01:15Z, v1.16.7") == "at 2020-06-07T08:01:15Z, v1.16.7"
    assert re.fullmatch(r"expected absent \(file-[0-9a-f]{6}:12\)", r.text("expected absent (/home/ana/k.yaml:12)"))
    fresh = Redactor(b"s" * 16)
    assert fresh.text("fd00::1 fd00:0::1") == f"{fresh.tokens['fd00::1']} {fresh.tokens['fd00::1']}"


def test_fleet_is_refused() -> None:
    """Several contexts: refused before any request (context names would need a policy of their own)."""
    result = CliRunner().invoke(cli, ["check", "--context", "a", "--context", "b", "--redact"])
    assert result.exit_code == 2
    assert "--redact reports one cluster" in result.stderr


REAL = Path(__file__).parent / "data" / "real"
CROSS = {
    "webhook": (
        "lab-webhook-down/fail-validating",
        ("cluster", "validatingwebhookconfigurations", "mutatingwebhookconfigurations"),
    ),
    "apiservice": ("lab-apiservice-down", ("apiservices", "services-endpointslices")),
}


@pytest.mark.parametrize("case", sorted(CROSS))
def test_cross_plane_objects_are_redacted_and_still_judged(case: str) -> None:
    """Webhook configurations, their Services, an APIService of a group of its own (the lab's real
    captures): hidden in every format, and a redacted snapshot is judged the same."""
    folder, files = CROSS[case]
    items = [i for f in files for i in json.loads((REAL / folder / f"{f}.json").read_text())["items"]]
    names = {i["metadata"].get("namespace", "") for i in items} | {i["metadata"]["name"] for i in items}
    names |= {i["spec"].get("group", "") for i in items if i["kind"] == "APIService"}
    names = {n for n in names if n and not kept_by_policy(n) and not kept_namespace(n)}
    names -= {
        i["metadata"]["name"] for i in items if i["kind"] == "APIService" and i["metadata"]["name"].endswith(".k8s.io")
    }
    assert any("kpd" in n for n in names)
    snap = load_bytes(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}).encode())
    report = analyze(snap)
    assert {f.code for f in report.findings} & {"KPD-400", "KPD-410"}
    redacted, finish = redact_run(report, [snap])
    for output in OUTPUTS:
        assert leaks(finish(render(redacted, output)), frozenset(names)) == [], output
    again = analyze(redact_snapshot(snap, redactor_for([snap])))
    assert [(f.code, f.severity, f.component) for f in again.findings] == [
        (f.code, f.severity, f.component) for f in report.findings
    ]
    assert [(c.name, c.status) for c in again.components] == [(c.name, c.status) for c in report.components]


@pytest.mark.parametrize("requester", ["sre.oncall@example.com", "oidc:alice.smith", "kwok-admin"])
def test_people_are_redacted_in_every_format_and_in_a_saved_snapshot(requester: str) -> None:
    """A CSR's requester is a person (the lab's real pending CSR, its ``spec.username`` set to an
    e-mail address, an OIDC identity and the captured admin name): hidden in every format and in
    ``snapshot save --redact``; e-mail addresses in any text are tokens too."""
    path = REAL / "lab-csr-pending" / "certificatesigningrequests.json"
    items = json.loads(path.read_text())["items"]
    items[0]["spec"]["username"] = requester
    snap = load_bytes(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}).encode())
    report = analyze(snap, now=snap.collected_at + timedelta(minutes=20))
    person = requester.rsplit(":", 1)[-1]
    assert any(person in f.message for f in report.findings if f.code == "KPD-432")  # shown unredacted
    redacted, finish = redact_run(report, [snap])
    for output in OUTPUTS:
        text = finish(render(redacted, output))
        assert person not in text and requester not in text, output
        assert "user-" in text, output
    saved = encode_snapshot(redact_snapshot(snap, redactor_for([snap]))).decode()
    assert person not in saved and requester not in saved
    r = Redactor(b"s" * 16)
    said = r.text("paged jane.doe+k8s@corp.example.org; see https://ops.example.org/x")
    assert "jane.doe" not in said and "corp.example" not in said
    assert re.fullmatch(r"paged user-[0-9a-f]{6}; see https://host-[0-9a-f]{6}/x", said)
