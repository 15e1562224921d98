"""Cluster add-ons, as data: where they run (kube-system, the distribution's and common add-ons'
namespaces) and, per known add-on, what its loss breaks and what keeps working."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kplanediag.analysis.knowledge.profiles import Profile


@dataclass(frozen=True)
class AddonKind:
    """A known add-on, recognised by a pattern (a substring, lower case) in its workload's name or in
    its pods' app labels; the first entry of ADDONS that matches wins (specific before general)."""

    name: str
    patterns: tuple[str, ...]
    breaks: str  # what stops while it is down
    keeps: str  # what keeps working
    per_node: str = ""  # DaemonSet pods: what stops on the nodes where they fail ("" = same as breaks)


OBSERVABILITY: tuple[str, ...] = (
    "kube-state-metrics",
    "node-exporter",
    "prometheus",
    "alertmanager",
    "grafana",
    "omsagent",
)
OBSERVABILITY += ("ama-logs", "ama-metrics", "cloudwatch-agent", "fluent-bit", "fluentd")
ADDONS: tuple[AddonKind, ...] = (
    AddonKind(
        "dns-autoscaler",
        ("dns-autoscaler",),  # coredns-autoscaler (AKS), kube-dns-autoscaler (GKE), dns-autoscaler, rke2's
        "CoreDNS replicas stop following the cluster's size (no scale-up as nodes and cores are added)",
        "CoreDNS itself keeps serving at its current replica count",
    ),
    AddonKind(
        "metrics-server",
        ("metrics-server",),
        "HorizontalPodAutoscalers on CPU or memory stop scaling and `kubectl top` fails (no metrics.k8s.io)",
        "running pods keep their current replica counts; autoscalers on custom or external metrics keep working",
    ),
    AddonKind(
        "kubernetes-dashboard",
        ("kubernetes-dashboard", "dashboard-metrics-scraper"),
        "the Kubernetes dashboard web UI is unavailable",
        "kubectl, the cluster and its workloads keep working (the dashboard only shows and edits them)",
    ),
    AddonKind(
        "api-tunnel",
        ("tunnelfront", "aks-link", "konnectivity-agent"),
        "the managed API server's connections to the nodes: `kubectl logs`, `exec` and `port-forward`, and the "
        "API server's calls to webhooks and aggregated APIs (metrics-server) served in the cluster",
        "running pods, Service traffic, and API reads and writes that need no connection to a node keep working",
    ),
    AddonKind(
        "snapshot-controller",
        ("snapshot-controller",),
        "VolumeSnapshots are not taken or restored",
        "existing volumes and their mounts keep working",
    ),
    AddonKind(
        "csi-driver",
        ("csi", "longhorn", "rook-ceph", "openebs", "ebs-plugin", "efs-plugin"),
        "volumes of its storage cannot be provisioned, attached or mounted: new pods that use them stay Pending "
        "or ContainerCreating",
        "running pods keep their mounted volumes",
        per_node="volumes of its storage cannot be mounted or unmounted on {nodes}: new pods there that use them "
        "stay ContainerCreating",
    ),
    AddonKind(
        "cluster-autoscaler",
        ("cluster-autoscaler", "karpenter"),
        "nodes are not added for Pending pods, nor removed when idle",
        "the current nodes and every pod on them keep running",
    ),
    AddonKind(
        "aws-load-balancer-controller",
        ("aws-load-balancer-controller",),
        "Ingresses and LoadBalancer Services are not provisioned or updated on AWS load balancers; new pods are "
        "not registered as targets",
        "existing load balancers keep routing to the targets already registered",
    ),
    AddonKind(
        "ingress-controller",
        ("ingress-nginx", "nginx-ingress", "ingress-controller", "traefik", "contour", "envoy", "haproxy-ingress"),
        "Ingress traffic through it fails or is not updated (new routes and moved pods are not programmed)",
        "Service traffic inside the cluster keeps flowing (it does not pass through the ingress)",
        per_node="Ingress traffic arriving at {nodes} fails",
    ),
    AddonKind(
        "cert-manager",
        ("cert-manager",),
        "certificates are not issued or renewed: new Certificates stay pending, expiring ones are not replaced",
        "certificates already issued keep working until they expire",
    ),
    AddonKind(
        "external-dns",
        ("external-dns",),
        "DNS records for Services and Ingresses are not created or updated in the external DNS provider",
        "existing external DNS records keep resolving; cluster DNS is not involved",
    ),
    AddonKind(
        "cni-controller",
        ("calico-kube-controllers", "calico-typha", "cilium-operator", "tigera-operator"),
        "the CNI's cluster-wide controllers stop: IP address management for new nodes and clean-up of released "
        "addresses, policy and configuration updates wait",
        "pod networking on the existing nodes keeps working (the per-node CNI agents keep their configuration)",
    ),
    AddonKind(
        "load-balancer",
        ("metallb",),
        "new LoadBalancer Services get no external IP",
        "external IPs already assigned keep being announced by the healthy speakers",
        per_node="the LoadBalancer IPs announced from {nodes} are no longer announced there",
    ),
    AddonKind(
        "rancher-agent",
        ("cattle-cluster-agent", "cattle-node-agent"),
        "Rancher cannot manage the cluster: its UI and API lose this cluster",
        "the cluster and its workloads keep working",
    ),
    AddonKind(
        "observability",
        OBSERVABILITY,
        "metrics or logs of the cluster are not collected: dashboards go blank and alerts may not fire",
        "the workloads themselves keep running",
        per_node="metrics or logs of {nodes} are not collected",
    ),
)
GENERIC = AddonKind(
    "add-on",
    (),
    "what the add-on does for the cluster is unavailable or intermittent",
    "workloads that do not depend on it keep working",
)
NAME_LABELS = ("app.kubernetes.io/name", "k8s-app", "app", "name", "component")
"""Pod labels whose values name an add-on, tried after its workload's name."""


def addon_kind(names: Iterable[str]) -> AddonKind:
    """The first known add-on a pattern of which is in one of ``names``, else GENERIC."""
    lowered = [n.lower() for n in names if n]
    return next((a for a in ADDONS if any(p in n for p in a.patterns for n in lowered)), GENERIC)


NAMESPACES = frozenset(
    {
        "kube-system",
        # common add-ons' own namespaces, installed by their standard manifests or charts
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "kube-flannel",
        "cert-manager",
        "ingress-nginx",
        "projectcontour",
        "external-dns",
        "longhorn-system",
        "rook-ceph",
        "openebs",
        "metallb-system",
        "kubernetes-dashboard",
        "cattle-system",
        "gatekeeper-system",
    }
)
PROFILE_PREFIXES: dict[str, tuple[str, ...]] = {
    "openshift": ("openshift-",),  # every OpenShift operator and operand
    "gke": ("gke-", "gmp-system"),  # GKE's managed add-ons, managed Prometheus
    "eks": ("amazon-",),  # amazon-cloudwatch, amazon-guardduty, ...
    "aks": ("aks-", "app-routing-system"),  # aks-command, AKS's managed NGINX ingress
}


def addon_namespace(namespace: str, profile: Profile) -> bool:
    """kube-system, a common add-on's namespace, or one where the profile puts its own components."""
    if namespace in NAMESPACES:
        return True
    own = {r.namespace for r in (*profile.pods, *profile.dns_pods)} | {profile.dns_service[0]}
    return namespace in own or namespace.startswith(PROFILE_PREFIXES.get(profile.name, ()))
