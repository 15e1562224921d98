"""docs/lists.md and deploy's two RBAC files, written from the kind registry by ``make docs``
(tests/unit/test_registry.py fails when a committed copy differs)."""

from __future__ import annotations

from kplanediag.snapshot.registry import KIND_SPECS, KindSpec

_READER_HEADER = """\
# kplanediag's least privilege: exactly what one check reads, and nothing it does not.
#   kubectl apply -f deploy/rbac.yaml
# Only the `list` verb (kplanediag makes no per-object get, no watch, no write) on the kinds it reads,
# namespaced kinds only in the namespaces it reads them in, and GET on four non-resource URLs.
# Never Secrets or ConfigMaps. Webhook configurations, APIServices and CSRs are read for failures
# that cross the planes; /metrics for etcd's database size and API Priority and Fairness queues
# (each is a named gap, never a failure, where it is not granted). Events (bounded) for the timeline.
# Every rule here is exercised by the RBAC matrix e2e test, which removes each in turn and checks
# that only the answers depending on it become "forbidden".
# Written by `make docs` from the kinds of kplanediag/snapshot/registry.py (docs/lists.md).
"""
_SERVE_HEADER = """\
# kplanediag serve's identity: its own ServiceAccount with exactly the rules of deploy/rbac.yaml
# (list on the kinds a check reads, namespaced kinds in their namespaces only, GET on four
# non-resource URLs; never Secrets or ConfigMaps; no write), plus `watch` on every kind it keeps by
# watching between checks (all but events). tests/unit/test_serve_deploy.py asserts the rules equal
# but for watch.
# Written by `make docs` from the kinds of kplanediag/snapshot/registry.py (docs/lists.md).
#   kubectl apply -f deploy/serve/
"""
_NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kplanediag\n"
_NON_RESOURCE = "  - nonResourceURLs: [/version, /livez, /readyz]\n    verbs: [get]\n" + (
    "  - nonResourceURLs: [/metrics]\n    verbs: [get]\n"
)
_RBAC = "rbac.authorization.k8s.io"


def _rules(specs: list[KindSpec], serve: bool) -> str:
    """One rule per (API group, verbs), in the registry's order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for spec in specs:
        verbs = "[list, watch]" if serve and spec.watched else "[list]"
        groups.setdefault((spec.group or '""', verbs), []).append(spec.resource)
    return "".join(
        f"  - apiGroups: [{group}]\n    resources: [{', '.join(names)}]\n    verbs: {verbs}\n"
        for (group, verbs), names in groups.items()
    )


def _role(kind: str, name: str, namespace: str | None, rules: str) -> str:
    where = f"  namespace: {namespace}\n" if namespace else ""
    return f"apiVersion: {_RBAC}/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{where}rules:\n{rules}"


def _binding(kind: str, name: str, namespace: str | None, account: str) -> str:
    where = f"  namespace: {namespace}\n" if namespace else ""
    role = "ClusterRole" if kind == "ClusterRoleBinding" else "Role"
    return (
        f"apiVersion: {_RBAC}/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{where}roleRef:\n"
        f"  apiGroup: {_RBAC}\n  kind: {role}\n  name: {name}\n"
        f"subjects:\n  - kind: ServiceAccount\n    name: {account}\n    namespace: kplanediag\n"
    )


def rbac_yaml(serve: bool = False) -> str:
    """deploy/rbac.yaml (a one-shot check: ``list``), or deploy/serve/rbac.yaml (``list, watch``)."""
    account = "kplanediag-serve" if serve else "kplanediag"
    cluster_role = "kplanediag-serve" if serve else "kplanediag-reader"
    account_doc = f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {account}\n  namespace: kplanediag\n"
    docs = [
        _NAMESPACE,
        account_doc + "automountServiceAccountToken: true\n",
        _role("ClusterRole", cluster_role, None, _rules([s for s in KIND_SPECS if s.namespaces is None], serve))
        + _NON_RESOURCE,
        _binding("ClusterRoleBinding", cluster_role, None, account),
    ]
    in_namespaces: dict[str, list[KindSpec]] = {}
    for spec in KIND_SPECS:
        for namespace in spec.namespaces or ():
            in_namespaces.setdefault(namespace, []).append(spec)
    for namespace, specs in in_namespaces.items():
        name = "-".join((account, *(s.resource for s in specs)))
        comment = f"# {', '.join(s.resource for s in specs)} in {namespace} only\n"
        docs += [comment + _role("Role", name, namespace, _rules(specs, serve))]
        docs += [_binding("RoleBinding", name, namespace, account)]
    return (_SERVE_HEADER if serve else _READER_HEADER) + "---\n".join(docs)


def _where(spec: KindSpec) -> str:
    reads = []
    for read in spec.reads:
        place = f"in `{read.namespace}`" if read.namespace else "cluster-wide"
        query = "".join(f", `{k}={v}`" for k, v in read.query)
        reads.append(place + query)
    bound = f"; at most {spec.max_pages} pages of {spec.page_size}" if spec.max_pages else ""
    return "; ".join(reads) + bound


def lists_markdown() -> str:
    """docs/lists.md: every list kplanediag reads, one row per registry entry."""
    rows = [
        f"| {i} | `{s.name}` | `{s.group + '/' if s.group else ''}{s.version}` | `{s.resource}` | {s.wire} "
        f"| {_where(s)} | {'404: none' if s.optional else 'required'} | {'watch' if s.watched else 'list'} "
        f"| `{s.category}` |"
        for i, s in enumerate(KIND_SPECS, 1)
    ]
    return (
        "# The lists kplanediag reads\n\n"
        f"kplanediag reads {len(KIND_SPECS)} kinds of object, each as paged lists: nothing else of the cluster "
        "but `/version`, `/livez`, `/readyz` and `/metrics`. One check makes one list call per read below "
        "(more pages where a list is long); `serve` keeps the watched kinds by watching them. Saved snapshots "
        "hold one array per kind under `resources`, in this order.\n\n"
        "Written by `make docs` from `kplanediag/snapshot/registry.py`, like both RBAC files "
        "(`deploy/rbac.yaml`, `deploy/serve/rbac.yaml`). Adding a list is its entry there (with its Struct) "
        "and, read as protobuf, its message in `collect/protobuf/k8s.proto` (`make proto`): "
        "[architecture.md](architecture.md#where-to-add).\n\n"
        "| # | kind | API | resource | wire | read | not served (404) | serve | `--redact` |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
