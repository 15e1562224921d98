"""Least privilege: deploy/rbac.yaml is enough for complete answers, and each of its rules is needed
only by the answers that depend on it.

With only that role (the ServiceAccount every e2e kplanediag run uses, see conftest.py) a check gets
the same answers as with the admin kubeconfig: no gaps, the same components, findings and blast
radius. Then, on the lab, the RBAC matrix: each rule of the ClusterRole and each Lease Role is
removed in turn (a modified copy of deploy/rbac.yaml applied; the original re-applied after every
case, in a ``finally``), and a check must name exactly the forbidden lists as gaps, leave every
answer that does not depend on them as it was, report the ones that do as unknown (or no longer
report what it cannot enumerate), never down, exit 1 (the gaps are warnings) and never print a
traceback. Each case waits, with ``kubectl auth can-i --as``, until the authorizer sees the change.

/metrics has a rule of its own (no default binding grants it): without it the report loses only
its observations of etcd's size and of API Priority and Fairness, and names the gap.

The non-resource rule (/version, /livez, /readyz) is granted on a default cluster by the
bootstrap roles ``system:discovery`` and ``system:public-info-viewer`` to every authenticated user
as well: without the rule nothing changes. Its case therefore also runs with those two default
bindings removed (and restored), where /version, /livez and /readyz become forbidden and the API
server and etcd unknown: the rule is what keeps kplanediag working on a cluster that drops them.

``-rP`` prints the matrix (rule removed, gaps, changed answers, exit code).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from kplanediag.collect.lists import LISTS
from kplanediag.snapshot.registry import KIND_SPECS, KindSpec
from lab import labctl
from tests.e2e.conftest import Cluster

DEFAULT_BINDINGS = ("system:discovery", "system:public-info-viewer")  # grant /version, /livez, /readyz
CONTROL_PLANE = frozenset({"kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager"})
NODE_LEVEL = frozenset({"kubelet", "container-runtime", "kube-proxy", "cni"})
EVERYTHING = CONTROL_PLANE | NODE_LEVEL | {"coredns", "cloud-controller-manager"}

Rule = dict[str, Any]


@dataclass(frozen=True)
class Case:
    id: str
    role: tuple[str, str | None]  # (kind, namespace) of the Role or ClusterRole in deploy/rbac.yaml
    rule: Callable[[Rule], bool]  # which of its rules is removed
    probes: tuple[tuple[str, ...], ...]  # `kubectl auth can-i` arguments the rule (alone) grants
    gaps: frozenset[str]
    may_change: frozenset[str] = frozenset()  # components whose status may change (all others: as before)
    must_lose: frozenset[str] = frozenset()  # components that must become unknown or go unreported
    default_bindings: bool = True  # False: DEFAULT_BINDINGS removed as well


def api_group(group: str) -> Callable[[Rule], bool]:
    return lambda rule: rule.get("apiGroups") == [group]


def non_resource(rule: Rule) -> bool:
    """The rule of /version, /livez and /readyz (/metrics has its own)."""
    return "/version" in rule.get("nonResourceURLs", ())


def metrics_rule(rule: Rule) -> bool:
    return rule.get("nonResourceURLs") == ["/metrics"]


def lists_case(id_: str, group: str, namespace: str | None = None, **effects: Any) -> Case:
    """The case of one list rule: the ClusterRole's rule of ``group``, or the Role in ``namespace``.
    What it grants and which gaps its removal must name come from the registry (docs/lists.md)."""

    def in_scope(s: KindSpec) -> bool:
        return s.namespaces is None if namespace is None else namespace in (s.namespaces or ())

    specs = [s for s in KIND_SPECS if s.group == group and in_scope(s)]
    where = ("-n", namespace) if namespace else ()
    probes = tuple(("list", f"{s.resource}.{group}" if group else s.resource, *where) for s in specs)
    calls = [c for c in LISTS if c.kind in {s.kind for s in specs}]
    gaps = frozenset(f"{c.label}: forbidden" for c in calls if not namespace or f"/namespaces/{namespace}/" in c.path)
    role = ("Role", namespace) if namespace else ("ClusterRole", None)
    return Case(id_, role, (lambda rule: True) if namespace else api_group(group), probes, gaps, **effects)


WITH_EFFECTS = (  # the rules whose removal changes answers (every other rule's removal only adds its gaps)
    lists_case(
        "core",
        "",
        may_change=EVERYTHING - CONTROL_PLANE,  # the control plane keeps its status (nodes: unknown)
        must_lose=frozenset({"kubelet", "container-runtime", "kube-proxy", "cni"}),
    ),
    # kube-proxy and the CNI are still found from their pods' owner references (issue 12)
    lists_case("apps", "apps", may_change=frozenset({"kube-proxy", "cni", "coredns"})),
    lists_case("endpointslices", "discovery.k8s.io", may_change=frozenset({"coredns"})),
    Case(
        "nonResourceURLs, default bindings removed too",
        ("ClusterRole", None),
        non_resource,
        (("get", "/version"), ("get", "/livez"), ("get", "/readyz")),
        frozenset({"version: forbidden", "livez: forbidden", "readyz: forbidden"}),
        may_change=frozenset({"kube-apiserver", "etcd"}),
        must_lose=frozenset({"kube-apiserver", "etcd"}),
        default_bindings=False,
    ),
    Case("nonResourceURLs", ("ClusterRole", None), non_resource, (), frozenset()),  # run right after the one above
    Case(
        "metrics",
        ("ClusterRole", None),
        metrics_rule,
        (("get", "/metrics"),),
        # the lab has no findings from /metrics: it only loses the observations (etcd size, APF queues)
        frozenset({"metrics: forbidden (etcd storage size and API Priority and Fairness state unknown)"}),
    ),
    lists_case(
        "leases (kube-system)",
        "coordination.k8s.io",
        "kube-system",
        may_change=frozenset({"kube-scheduler", "kube-controller-manager", "cloud-controller-manager"}),
        must_lose=frozenset({"kube-scheduler", "kube-controller-manager"}),
    ),
)
_HAVE = {(c.role, c.probes) for c in WITH_EFFECTS}
CLUSTER_WIDE = [s for s in KIND_SPECS if s.namespaces is None]
CASES = WITH_EFFECTS + tuple(  # every other group's rule and namespace's Role, from the registry
    case
    for case in [
        *(
            lists_case(group or "core", group)
            for group in dict.fromkeys(s.group for s in KIND_SPECS if not s.namespaces)
        ),
        *(lists_case(f"{s.resource} ({ns})", s.group, ns) for s in KIND_SPECS for ns in s.namespaces or ()),
    ]
    if (case.role, case.probes) not in _HAVE
)


@dataclass
class Row:
    case: Case
    removed: str
    code: int
    stderr: str
    doc: dict[str, Any]
    changed: dict[str, str] = field(default_factory=dict)  # component -> "before -> after"
    found: list[str] = field(default_factory=list)  # findings added
    lost: list[str] = field(default_factory=list)  # findings no longer reported

    @property
    def gaps(self) -> list[str]:
        gaps: list[str] = self.doc["gaps"]
        return gaps


# --- running a case ---------------------------------------------------------------------------------


def can(lab: labctl.Lab, probe: tuple[str, ...]) -> bool:
    """Whether kplanediag's identity may do it (`kubectl auth can-i` as the admin, impersonating)."""
    proc = labctl.kubectl(lab, "auth", "can-i", *probe, "--as", labctl.READER_USER, check=False)
    if proc.returncode not in (0, 1):
        raise labctl.LabError(f"kubectl auth can-i {' '.join(probe)}: {proc.stderr.strip()}")
    return proc.returncode == 0


def wait_authorizer(lab: labctl.Lab, probes: tuple[tuple[str, ...], ...], allowed: bool) -> None:
    """Until the authorizer's cache has the change: every probe allowed (or every one refused)."""
    labctl.wait_for(
        f"{'allowed' if allowed else 'refused'}: {probes}",
        lambda: all(can(lab, p) == allowed for p in probes),
        15,
        0.1,
    )


def without(docs: list[dict[str, Any]], case: Case) -> tuple[str, str, str]:
    """The case's Role or ClusterRole of deploy/rbac.yaml without its rule and as it is (as YAML),
    and the rule removed (as text)."""
    kind, namespace = case.role
    role = next(d for d in docs if d["kind"] == kind and d["metadata"].get("namespace") == namespace)
    removed = [r for r in role["rules"] if case.rule(r)]
    assert len(removed) == 1, f"{case.id}: {len(removed)} matching rules in {kind} {namespace}"
    modified = copy.deepcopy(role)
    modified["rules"] = [r for r in role["rules"] if not case.rule(r)]
    rule = json.dumps(removed[0], separators=(",", ":"))
    return yaml.safe_dump(modified), yaml.safe_dump(role), f"{kind}{' ' + namespace if namespace else ''} {rule}"


def saved_bindings(lab: labctl.Lab) -> Path:
    return lab.root / "e2e-default-bindings.json"


def restore_default_bindings(lab: labctl.Lab) -> None:
    """Re-create the bootstrap bindings this module removed (also after a run that was killed)."""
    saved = saved_bindings(lab)
    if saved.exists():
        labctl.kubectl(lab, "apply", "-f", str(saved))
        saved.unlink()


def remove_default_bindings(lab: labctl.Lab) -> None:
    data = json.loads(labctl.kubectl(lab, "get", "clusterrolebinding", *DEFAULT_BINDINGS, "-o", "json").stdout)
    for item in data["items"]:
        for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            item["metadata"].pop(key, None)
    saved_bindings(lab).write_text(json.dumps(data))
    labctl.kubectl(lab, "delete", "clusterrolebinding", *DEFAULT_BINDINGS)


def statuses(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Component name -> its instances' statuses (with the detail), sorted; nodes left out."""
    out: dict[str, list[str]] = {}
    for c in doc["components"]:
        out.setdefault(c["name"], []).append(c["status"] + (f" ({c['detail']})" if c["detail"] else ""))
    return {name: sorted(s) for name, s in out.items()}


def folded(items: list[str]) -> str:
    return ", ".join(f"{n}x {s}" if n > 1 else s for s, n in Counter(items).items()) if items else "not reported"


def findings(doc: dict[str, Any]) -> Counter[str]:
    return Counter(f"{f['code']} {f['message']}" for f in doc["findings"])


def compare(row: Row, base: dict[str, Any]) -> Row:
    before, after = statuses(base), statuses(row.doc)
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            row.changed[name] = f"{folded(before.get(name, []))} -> {folded(after.get(name, []))}"
    row.found = sorted((findings(row.doc) - findings(base)).elements())
    row.lost = sorted((findings(base) - findings(row.doc)).elements())
    return row


def check(cluster: Cluster, case: Case, removed: str, base: dict[str, Any]) -> Row:
    proc = cluster.kplanediag("check", "-o", "json")
    assert proc.stdout.startswith("{"), f"{case.id}: exit {proc.returncode}, no report: {proc.stderr}"
    return compare(Row(case, removed, proc.returncode, proc.stderr, json.loads(proc.stdout)), base)


def run_matrix(cluster: Cluster, lab: labctl.Lab, base: dict[str, Any]) -> dict[str, Row]:
    docs = list(yaml.safe_load_all(labctl.RBAC.read_text()))
    rows: dict[str, Row] = {}
    for case in CASES:
        if case.id == "nonResourceURLs":
            continue  # measured inside the case before it
        modified, original, removed = without(docs, case)
        try:
            labctl.apply_rbac(lab, manifest=modified)
            if not case.default_bindings:
                remove_default_bindings(lab)
            wait_authorizer(lab, case.probes, allowed=False)
            rows[case.id] = check(cluster, case, removed, base)
            if not case.default_bindings:
                # the same rule still removed, the default bindings back: what a default cluster sees
                restore_default_bindings(lab)
                wait_authorizer(lab, case.probes, allowed=True)
                plain = next(c for c in CASES if c.id == "nonResourceURLs")
                rows[plain.id] = check(cluster, plain, removed, base)
        finally:
            restore_default_bindings(lab)
            labctl.apply_rbac(lab, manifest=original)
        wait_authorizer(lab, case.probes, allowed=True)
    return rows


@pytest.fixture(scope="module")
def matrix(cluster: Cluster) -> Iterator[tuple[dict[str, Any], dict[str, Row]]]:
    """(the full role's report, one Row per case), measured once on the healthy lab."""
    if cluster.target != "lab":
        pytest.skip("the RBAC matrix's expectations are the lab's (its cluster, its default bindings)")
    lab = labctl.default_lab()
    restore_default_bindings(lab)
    labctl.apply_rbac(lab)
    labctl.restore_all(lab)
    code, base = cluster.report()
    assert code == 0 and base["gaps"] == [], base["summary"]
    try:
        yield base, run_matrix(cluster, lab, base)
    finally:
        restore_default_bindings(lab)
        labctl.apply_rbac(lab)


# --- the tests --------------------------------------------------------------------------------------


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between two runs a moment apart (Lease ages, times)."""
    text = re.sub(r"renewed -?\d+s ago", "renewed Ns ago", json.dumps(doc, sort_keys=True))
    out: dict[str, Any] = json.loads(text)
    for key in ("collectedAt", "evaluatedAt"):
        out["cluster"].pop(key, None)
    # etcd's database size is sampled by the API server every few seconds: compare the lines' shape
    out["cluster"]["observations"] = [re.sub(r"\d+(\.\d+)?", "N", o) for o in out["cluster"].get("observations", [])]
    return out


def test_the_role_alone_gives_the_admins_answers(cluster: Cluster) -> None:
    if cluster.target == "lab":
        labctl.restore_all(labctl.default_lab())
    admin_code, admin = cluster.report(kubeconfig=cluster.kubeconfig)
    code, mine = cluster.report()
    assert mine["gaps"] == [], mine["gaps"]
    assert code == admin_code
    if cluster.target == "lab":
        assert code == 0, mine["summary"]
    for part in ("components", "findings", "blastRadius", "summary", "cluster"):
        assert comparable(mine)[part] == comparable(admin)[part], part


def test_every_rule_of_deploy_rbac_has_a_case() -> None:
    rules = [
        (doc["kind"], doc["metadata"].get("namespace"), rule)
        for doc in yaml.safe_load_all(labctl.RBAC.read_text())
        if doc["kind"] in ("Role", "ClusterRole")
        for rule in doc["rules"]
    ]
    assert len(rules) == len(CASES) - 1, rules  # the non-resource rule has two cases
    uncovered = [r for r in rules if not any(c.role == r[:2] and c.rule(r[2]) for c in CASES)]
    assert not uncovered, f"rules of deploy/rbac.yaml the matrix does not remove: {uncovered}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_without_a_rule_only_its_answers_become_unknown(
    matrix: tuple[dict[str, Any], dict[str, Row]], case: Case
) -> None:
    base, rows = matrix
    row = rows[case.id]
    assert "Traceback" not in row.stderr, row.stderr
    assert set(row.gaps) == case.gaps and len(row.gaps) == len(case.gaps), row.gaps
    assert row.code == (1 if case.gaps else 0), (row.code, row.doc["summary"])
    # the only new findings say what could not be observed; none disappears (the lab is healthy)
    assert sorted(f.split(" ")[0] for f in row.found) == ["KPD-900"] * len(case.gaps), row.found
    assert all(any(g in f for f in row.found) for g in case.gaps), row.found
    assert row.lost == [], row.lost
    assert row.doc["blastRadius"] == base["blastRadius"] == []
    # only what depends on the rule changes, and only to unknown or unreported, never to down
    assert set(row.changed) <= case.may_change, row.changed
    assert case.must_lose <= set(row.changed), row.changed
    assert all(c["status"] in ("healthy", "unknown") for c in row.doc["components"]), row.changed
    for name in case.must_lose:
        assert all(c["status"] == "unknown" for c in row.doc["components"] if c["name"] == name), row.changed
    mode = row.doc["cluster"]["controlPlaneMode"]
    assert mode == ("unknown" if case.id == "core" else "self-hosted"), mode


def kubelet_evidence(row: Row) -> list[bool]:
    return [
        any(e.startswith("Lease kube-node-lease/") for e in c["evidence"])
        for c in row.doc["components"]
        if c["name"] == "kubelet"
    ]


def test_without_node_leases_nodes_are_judged_from_ready(matrix: tuple[dict[str, Any], dict[str, Row]]) -> None:
    _, rows = matrix
    row = rows["leases (kube-node-lease)"]
    kubelets = [c for c in row.doc["components"] if c["name"] == "kubelet"]
    assert len(kubelets) == 3 and all(c["status"] == "healthy" and "Ready=True" in c["evidence"] for c in kubelets)
    assert kubelet_evidence(row) == [False] * 3, "heartbeat Lease evidence without the Lease list"


@pytest.mark.parametrize("namespace", ["kube-system", "kube-node-lease"])
def test_each_lease_namespace_counts_on_its_own(matrix: tuple[dict[str, Any], dict[str, Row]], namespace: str) -> None:
    """Without kube-node-lease, the leader Leases of kube-system are still read, and the reverse."""
    _, rows = matrix
    row = rows[f"leases ({namespace})"]
    if namespace == "kube-node-lease":
        assert not set(row.changed) & {"kube-scheduler", "kube-controller-manager"}, row.changed
    else:
        assert kubelet_evidence(row) == [True] * 3, "node heartbeat Leases dropped with kube-system's"


def test_matrix_table(matrix: tuple[dict[str, Any], dict[str, Row]]) -> None:
    base, rows = matrix
    lines = [f"RBAC matrix (full role: exit 0, no gaps, {base['summary']['text']})"]
    for case in CASES:
        row = rows[case.id]
        lines.append(f"- removed: {case.id}: {row.removed}")
        lines.append(f"    exit {row.code}; gaps: {', '.join(row.gaps) or 'none'}")
        for name, change in row.changed.items():
            lines.append(f"    {name}: {change}")
        if case.id == "core":
            lines.append(f"    control-plane mode: self-hosted -> {row.doc['cluster']['controlPlaneMode']}")
        if "kube-node-lease" in case.id or "kube-system" in case.id:
            lines.append(f"    kubelet heartbeat Lease evidence kept: {kubelet_evidence(row)}")
        if not row.changed:
            lines.append("    no component changed")
        lines.append(f"    findings added: {[f.split(';')[0] for f in row.found] or 'none'}")
    print("\n".join(lines))
    assert len(rows) == len(CASES)
