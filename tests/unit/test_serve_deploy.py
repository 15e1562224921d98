"""deploy/serve/: the least privilege of deploy/rbac.yaml plus watch (serve keeps its lists by
watching), a locked-down pod whose probes and port
are serve's own, and a Service and NetworkPolicy that select that pod. Applied for real on kind by
tests/e2e/test_serve_kind.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kplanediag.serve.http import OPEN_PATHS
from kplanediag.serve.routes import ROUTES

ROOT = Path(__file__).parents[2] / "deploy"


def objects(*files: Path) -> list[dict[str, Any]]:
    return [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _without_watch(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "verbs": [v for v in r["verbs"] if v != "watch"]} for r in rules]


def test_the_rules_of_deploy_rbac_plus_watch() -> None:
    reader = objects(ROOT / "rbac.yaml")
    serve = objects(ROOT / "serve" / "rbac.yaml")
    serve_rules = [_without_watch(r["rules"]) for r in by_kind(serve, "ClusterRole")]
    assert serve_rules == [r["rules"] for r in by_kind(reader, "ClusterRole")]

    def roles(docs: list[dict[str, Any]]) -> dict[str, Any]:
        return {r["metadata"]["namespace"]: _without_watch(r["rules"]) for r in by_kind(docs, "Role")}

    assert roles(serve) == roles(reader) and set(roles(serve)) == {"kube-system", "kube-node-lease"}
    account = by_kind(serve, "ServiceAccount")[0]["metadata"]
    for binding in by_kind(serve, "ClusterRoleBinding") + by_kind(serve, "RoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", **account}]
    verbs = {v for d in serve if "rules" in d for r in d["rules"] for v in r["verbs"]}
    assert verbs == {"list", "watch", "get"}  # no write
    assert not any("secrets" in r.get("resources", ()) or "configmaps" in r.get("resources", ())
                   for d in serve if "rules" in d for r in d["rules"])  # fmt: skip


def test_the_pod_is_locked_down_and_probes_serves_own_paths() -> None:
    deployment = objects(ROOT / "serve" / "deployment.yaml")[0]
    pod = deployment["spec"]["template"]["spec"]
    account = by_kind(objects(ROOT / "serve" / "rbac.yaml"), "ServiceAccount")[0]["metadata"]["name"]
    assert pod["serviceAccountName"] == account
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"] and "add" not in security["capabilities"]
    assert container["args"][0] == "serve"
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"]["path"] == path and path in ROUTES and path in OPEN_PATHS
    port = container["ports"][0]
    assert container["args"][container["args"].index("--listen") + 1] == f":{port['containerPort']}"
    assert {"requests", "limits"} <= set(container["resources"])
    assert "memory" in container["resources"]["limits"]


def test_service_and_network_policy_select_the_pod() -> None:
    deployment = objects(ROOT / "serve" / "deployment.yaml")[0]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    (service,) = objects(ROOT / "serve" / "service.yaml")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["publishNotReadyAddresses"] is True  # stale metrics are still scraped
    (policy,) = objects(ROOT / "serve" / "networkpolicy.yaml")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    monitor = objects(ROOT / "serve" / "examples" / "servicemonitor.yaml")[0]
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["spec"]["selector"]["matchLabels"] == service["metadata"]["labels"]
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
