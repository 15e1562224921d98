"""What ``--redact`` keeps as it is: the words that identify components and system places rather
than a cluster (docs/output.md, "Redaction"). Derived from the analysis's own knowledge where it has
it, so a name the analysis recognises a component by is never hashed away."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from kplanediag.analysis.dataplane.addons import CNIS, KUBE_PROXY_LABELS
from kplanediag.analysis.dataplane.dns import DNS_LABEL
from kplanediag.analysis.knowledge.components import COMPONENTS
from kplanediag.analysis.knowledge.profiles import PROFILES
from kplanediag.analysis.model import Plane, Severity, Status

SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "openshift"})
# Prefixes reserved for the platform: Kubernetes reserves kube-*, OpenShift refuses user projects
# named openshift-* (and kube-*), so these namespaces hold the platform's components, not a team's.
RESERVED_NAMESPACE_PREFIXES = ("kube-", "openshift-")

# Well-known add-on workload/Service names: they name software, not a cluster or a team.
ADDONS = frozenset(
    {
        "kubernetes",  # the default/kubernetes Service
        "openshift",  # OpenShift's default/openshift Service
        "kube-dns",
        "coredns",
        "kube-proxy",
        "metrics-server",
        "kubernetes-dashboard",
        "dashboard-metrics-scraper",
        "coredns-autoscaler",
        "kube-dns-autoscaler",
        "dns-autoscaler",
        "node-local-dns",
        "nodelocaldns",
        "konnectivity-agent",
        "tunnelfront",
        "cluster-autoscaler",
        "calico-kube-controllers",
        "calico-typha",
        "calico-etcd",
        "local-path-provisioner",
        "dns-default",
        "node-resolver",
        "haproxy",
        "keepalived",
    }
)

# Report vocabulary: a "name" equal to one of these is a word of the report, never replaced.
REPORT_WORDS = frozenset(
    {s.value for s in Status}
    | {s.value for s in Severity}
    | {p.value for p in Plane}
    | {"healthy", "warning", "critical", "ok", "leader", "standby", "management", "node", "cluster"}
    | {"io", "com", "net", "org", "local", "cluster", "svc", "internal", "k8s", "localhost"}
)

# Schemes of version strings (containerRuntimeVersion): kept. http(s) is a URL; any other scheme is
# a providerID (aws:///zone/instance, azure:///subscriptions/...), whose scheme alone is kept.
RUNTIME_SCHEMES = frozenset({"docker", "containerd", "cri-o", "crio", "remote", "cri-dockerd", "frakti"})
URL_SCHEMES = frozenset({"http", "https", "ws", "wss", "grpc", "grpcs", "tcp", "unix"})

# One segment of a generated name suffix: ReplicaSet pod-template hashes, pod and Job suffixes
# (Kubernetes' "safe" alphabet has no vowels, so no word can be spelt), StatefulSet ordinals,
# CronJob schedule times. These identify nothing and are kept: web-7d9f8-xk2bd -> deploy-3f2a1c-7d9f8-xk2bd.
_GENERATED = re.compile(r"[0-9bcdfghjklmnpqrstvwxz]{1,10}")


def generated(segment: str) -> bool:
    return bool(_GENERATED.fullmatch(segment))


def generated_suffix(suffix: str) -> bool:
    """``-7d9f8-xk2bd``: one or more generated segments, each after a hyphen."""
    parts = suffix.split("-")
    return len(parts) > 1 and parts[0] == "" and all(generated(p) for p in parts[1:])


def kept_namespace(namespace: str) -> bool:
    return (
        namespace in SYSTEM_NAMESPACES
        or namespace.startswith(RESERVED_NAMESPACE_PREFIXES)
        or namespace in _profile_namespaces()
    )


def kept_name(name: str) -> bool:
    """A component, add-on or report word: never replaced (namespaces: see ``kept_namespace``)."""
    return name in _vocabulary()


@cache
def _profile_namespaces() -> frozenset[str]:
    found: set[str] = set()
    for p in PROFILES:
        found |= {s.value for s in p.signals if s.field == "namespace"}
        found |= {r.namespace for r in (*p.pods, *p.dns_pods)}
        found.add(p.dns_service[0])
    return frozenset(found)


@cache
def _table_words() -> frozenset[str]:
    """The plain words of kplanediag's own texts (codes.table, components.table: "queue", "api",
    "cache"): a workload named so is a word of the report ("no request waiting in queue"), not a
    secret worth making the report unreadable for."""
    knowledge = resources.files("kplanediag.analysis.knowledge")
    text = "\n".join(
        line
        for table in ("codes.table", "components.table")
        for line in knowledge.joinpath(table).read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    )
    return frozenset(re.findall(r"\b[a-z]{3,}\b", text))


@cache
def _vocabulary() -> frozenset[str]:
    words: set[str] = set(ADDONS) | set(COMPONENTS) | set(REPORT_WORDS) | _table_words()
    for cni in CNIS:
        words |= {cni.name, *cni.daemonsets, *(value for _, value in cni.labels)}
    words |= {value for _, value in KUBE_PROXY_LABELS} | {DNS_LABEL[1]}
    for p in PROFILES:
        words |= {s.value for s in p.signals if s.field == "daemon"}
        words.add(p.dns_service[1])
        for rule in (*p.pods, *p.dns_pods):
            words |= {rule.component, *(value for _, value in rule.labels)}
    return frozenset(words)


LABEL_WORDS = frozenset(
    {"true", "false", "", "master", "control-plane", "worker", "node", "linux", "windows"}
    | {"amd64", "arm64", "arm", "ppc64le", "s390x"}
)


def kept_label_value(value: str) -> bool:
    """A label value a saved snapshot keeps: the analysis matches on it, or it says nothing."""
    return (
        value in LABEL_WORDS or kept_name(value) or kept_namespace(value) or all(generated(p) for p in value.split("-"))
    )
