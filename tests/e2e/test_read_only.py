"""kplanediag is provably read-only: the lab API server's audit log holds nothing but reads from it.

The e2e suite runs every kplanediag invocation as deploy/rbac.yaml's ServiceAccount (conftest.py),
and the lab's API server logs every request of every user but the control plane's own clients at
Metadata level (lab/labctl/base.py, AUDIT_POLICY). This test runs a full check of its own, then reads the
whole log (rotated files included): every request that identity ever made on this cluster, in this
e2e run (files run alphabetically, so this one comes last) and in every earlier one since the
cluster was created, must be a get, list or watch of a resource, or a GET of a non-resource path,
made by kplanediag (its user agent). A refused write is a write too: it fails the test as well.

A control shows that the log would show a write: a second ServiceAccount, with no rights, attempts
a server-side dry-run create, and that attempt must appear in the log as a ``create``.

The counts of this run's requests by verb and resource are printed (``-s`` or ``-rP`` shows them).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lab import labctl
from tests.e2e.conftest import Cluster

READ_VERBS = {"get", "list", "watch"}
CANARY, CANARY_NAMESPACE = "audit-canary", "default"
CANARY_USER = f"system:serviceaccount:{CANARY_NAMESPACE}:{CANARY}"
WRITE = ("create", "configmap", "audit-canary", "-n", CANARY_NAMESPACE, "--dry-run=server")


def events(paths: Iterable[Path], offset: int = 0) -> list[dict[str, Any]]:
    """The audit events of ``paths`` (oldest first), from ``offset`` of the last one."""
    out: list[dict[str, Any]] = []
    files = list(paths)
    for i, path in enumerate(files):
        with path.open("rb") as handle:
            if i == len(files) - 1:
                handle.seek(offset)
            out.extend(json.loads(line) for line in handle.read().splitlines() if line.strip())
    return out


def log_files(lab: labctl.Lab) -> list[Path]:
    """The log and the files lumberjack rotated it to (``audit-<time>.log``), oldest first."""
    rotated = sorted(lab.audit_log.parent.glob("audit-*.log"))
    return [*rotated, lab.audit_log]


def of_user(evs: Iterable[dict[str, Any]], user: str) -> list[dict[str, Any]]:
    """The events of requests made by ``user``, or by anyone impersonating it (every stage)."""
    return [
        e for e in evs if user in (e.get("user", {}).get("username"), (e.get("impersonatedUser") or {}).get("username"))
    ]


def completed(evs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One event per request: a watch also logs ResponseStarted, every request ResponseComplete (or Panic)."""
    return [e for e in evs if e.get("stage") in ("ResponseComplete", "Panic")]


def is_read(event: dict[str, Any]) -> bool:
    if event.get("objectRef"):
        return event.get("verb") in READ_VERBS
    return event.get("verb") == "get"  # a non-resource request: GET (or HEAD) of a path


def target(event: dict[str, Any]) -> str:
    ref = event.get("objectRef")
    if not ref:
        return str(urlsplit(event["requestURI"]).path)
    resource: str = ref.get("resource", "?") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    group = ref.get("apiGroup")
    resource += f".{group}" if group else ""
    return f"{resource} ({ref['namespace']})" if ref.get("namespace") else resource


def describe(evs: list[dict[str, Any]]) -> str:
    counts = Counter((e["verb"], target(e)) for e in evs)
    codes = Counter(e.get("responseStatus", {}).get("code", 0) for e in evs)
    verbs = Counter(e["verb"] for e in evs)
    reasons = Counter(
        (e.get("annotations", {}).get("authorization.k8s.io/reason") or "refused (HTTP 403)").split(" of ")[0]
        for e in evs
    )
    lines = [
        f"{len(evs)} requests; by verb {dict(verbs)}; HTTP {dict(sorted(codes.items()))}",
        *(f"  {n:5d}  {verb:5s}  {what}" for (verb, what), n in sorted(counts.items())),
        "  authorized by:",
        *(f"  {n:5d}  {reason}" for reason, n in reasons.most_common()),
    ]
    return "\n".join(lines)


def canary_write(lab: labctl.Lab, reader: Path, tmp_path: Path) -> None:
    """A ServiceAccount without rights tries a (dry-run) write: refused, and logged as a create."""
    labctl.kubectl(lab, "create", "serviceaccount", CANARY, "-n", CANARY_NAMESPACE, check=False)
    token = labctl.kubectl(lab, "create", "token", CANARY, "-n", CANARY_NAMESPACE, "--duration", "10m").stdout.strip()
    config = yaml.safe_load(reader.read_text())
    config["users"][0]["user"] = {"token": token}
    path = tmp_path / "canary-kubeconfig"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config))
    try:
        proc = labctl.run(
            [str(lab.bin / "kubectl"), "--kubeconfig", str(path), *WRITE],
            lab,
            check=False,
        )
    finally:
        path.unlink()
        labctl.kubectl(lab, "delete", "serviceaccount", CANARY, "-n", CANARY_NAMESPACE, "--wait=false", check=False)
    assert proc.returncode != 0 and "forbidden" in proc.stderr, proc.stderr


def wait_logged(lab: labctl.Lab, offset: int, user: str, verb: str) -> list[dict[str, Any]]:
    """This session's events of ``user`` once one with ``verb`` is in the log (the backend writes
    before it answers; allow for a slow disk anyway)."""
    deadline = time.monotonic() + 5
    while True:
        evs = completed(of_user(events([lab.audit_log], offset), user))
        if any(e["verb"] == verb for e in evs) or time.monotonic() > deadline:
            return evs
        time.sleep(0.2)


@pytest.fixture
def audited_lab(cluster: Cluster, request: pytest.FixtureRequest) -> labctl.Lab:
    if cluster.target != "lab":
        pytest.skip("the audit log is the lab API server's (lab/kwokctl.yaml.in); kind's API server has none")
    lab: labctl.Lab = request.getfixturevalue("lab")  # restored before and after
    return lab


def test_kplanediag_only_ever_read(cluster: Cluster, audited_lab: labctl.Lab, tmp_path: Path) -> None:
    lab = audited_lab
    assert cluster.audit_mark is not None, (
        f"the lab has no audit log {lab.audit_log}: it predates the audit policy; `make cluster-up` recreates it"
    )
    offset = cluster.audit_mark if lab.audit_log.stat().st_size >= cluster.audit_mark else 0  # rotated: whole file
    own = lab.audit_log.stat().st_size
    code, doc = cluster.report()
    assert code == 0 and doc["gaps"] == [], doc["summary"]
    canary_write(lab, cluster.reader, tmp_path)

    mine = wait_logged(lab, own, labctl.READER_USER, "list")
    assert len([e for e in mine if target(e) == "/version"]) == 1, (
        f"this test's own check is not in the log\n{describe(mine)}"
    )
    canary = completed(of_user(events([lab.audit_log], own), CANARY_USER))  # kubectl may read discovery too
    assert [(e["verb"], target(e), e["responseStatus"]["code"]) for e in canary if not is_read(e)] == [
        ("create", "configmaps (default)", 403)
    ], f"the audit log does not show the write attempt of {CANARY_USER}: {canary}"

    run = completed(of_user(events([lab.audit_log], offset), labctl.READER_USER))
    every_event = of_user(events(log_files(lab)), labctl.READER_USER)
    ever = completed(every_event)
    summary = (
        f"kplanediag's requests ({labctl.READER_USER}) in this e2e run, "
        f"{sum(1 for e in run if target(e) == '/version')} runs of kplanediag:\n{describe(run)}\n"
        f"and since the cluster was created: {len(ever)} requests, by verb {dict(Counter(e['verb'] for e in ever))}"
    )
    print(summary)

    writes = [e for e in every_event if not is_read(e)]
    assert not writes, f"kplanediag's identity made requests other than reads: {writes[:5]}\n{summary}"
    agents = Counter(str(e.get("userAgent")) for e in every_event)
    assert set(agents) == {"kplanediag"}, f"kplanediag's identity was used by other clients: {dict(agents)}"
    assert run and ever, summary


def test_the_read_check_rejects_a_write() -> None:
    """The verdict the test above applies, on a write and on the reads it must let through."""
    write: dict[str, Any] = {
        "verb": "create",
        "objectRef": {"resource": "configmaps"},
        "requestURI": "/api/v1/namespaces/x/configmaps",
    }
    patch: dict[str, Any] = {"verb": "patch", "objectRef": {"resource": "nodes"}, "requestURI": "/api/v1/nodes/n"}
    post: dict[str, Any] = {"verb": "post", "requestURI": "/livez"}
    reads: list[dict[str, Any]] = [
        {"verb": "list", "objectRef": {"resource": "pods"}, "requestURI": "/api/v1/pods?limit=2000"},
        {"verb": "get", "requestURI": "/readyz?verbose=true"},
    ]
    assert [is_read(e) for e in (write, patch, post)] == [False, False, False]
    assert all(is_read(e) for e in reads)
