"""Distribution profiles, as data: how each distribution is recognised, where its components live,
how their health is observed, which are expected absent (docs/profiles.md is generated from it)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Expect(StrEnum):
    """What the absence of a component's pods means on a profile."""

    REQUIRED = "required"  # absent is a finding
    EMBEDDED = "embedded"  # runs inside another process: unknown (not visible), never a warning
    OPTIONAL = "optional"  # may legitimately be absent or replaced: unknown, never a warning


class Leases(StrEnum):
    """Whether a scheduler/controller-manager leader Lease must exist in kube-system."""

    BY_VERSION = "by-version"  # from Kubernetes 1.20 (Lease locks), with leader election on
    IF_ETCD_ROLE = "if-etcd-role"  # k3s: leader election only with embedded etcd (HA)
    NOT_EXPECTED = "not-expected"  # locks elsewhere, or leader election off: judged by effects


@dataclass(frozen=True)
class Signal:
    """One way to recognise a profile; ``field`` says what ``value`` is matched against."""

    field: str  # kubelet-version provider-id node-label node-label-prefix os-image namespace daemon static-pods
    value: str


@dataclass(frozen=True)
class PodRule:
    """Where one control-plane component's pods are: a namespace and labels they all carry."""

    component: str
    namespace: str
    labels: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return f"{self.namespace} pods {','.join(f'{k}={v}' for k, v in self.labels)}"


# The first profile whose signals match wins; "unknown" is the cautious default. A unit test keeps
# docs/profiles.md (``make docs``) equal to this table.
@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    mode: str  # "self-hosted" | "managed" ("unknown": decided from evidence)
    signals: tuple[Signal, ...]
    control_plane: str  # where the control plane lives, in words
    pods: tuple[PodRule, ...] = ()
    leader_leases: Leases = Leases.BY_VERSION
    cloud_controller: bool = False  # runs one even where none is seen
    kube_proxy: Expect = Expect.REQUIRED
    cni: Expect = Expect.OPTIONAL
    dns: Expect = Expect.REQUIRED
    dns_pods: tuple[PodRule, ...] = ()
    dns_service: tuple[str, str] = ("kube-system", "kube-dns")
    notes: str = ""
    etcd_quota: int | None = None  # bytes; None: not known or no etcd (the database size is then not judged)
    certificates: str = ""  # how the API server's certificates are renewed here, for the expiry finding
    rotated: bool = False  # the provider renews certificates itself: a near expiry is info, not a warning

    def hidden(self, component: str) -> str:
        """Why a component is not visible on this profile ('' if it should be)."""
        if self.mode == "managed":
            return f"not visible on {self.title} (managed control plane)"
        if component in {r.component for r in self.pods}:
            return ""
        return f"not visible on {self.title} ({self.control_plane})"


CONTROL_PLANE = ("kube-apiserver", "etcd", "kube-scheduler", "kube-controller-manager", "cloud-controller-manager")
KUBE_DNS = (PodRule("cluster-dns", "kube-system", (("k8s-app", "kube-dns"),)),)


def _static(label: str = "component", tier: bool = True, etcd: str = "etcd") -> tuple[PodRule, ...]:
    extra = (("tier", "control-plane"),) if tier else ()
    return tuple(PodRule(c, "kube-system", ((label, etcd if c == "etcd" else c), *extra)) for c in CONTROL_PLANE)


OPENSHIFT_PODS = (
    PodRule("kube-apiserver", "openshift-kube-apiserver", (("apiserver", "true"),)),
    PodRule("etcd", "openshift-etcd", (("app", "etcd"), ("etcd", "true"))),
    PodRule("kube-scheduler", "openshift-kube-scheduler", (("app", "openshift-kube-scheduler"),)),
    PodRule("kube-controller-manager", "openshift-kube-controller-manager", (("kube-controller-manager", "true"),)),
)


GIB = 2**30
KUBEADM_CERTS = (
    "kubeadm issues the API server, etcd, front-proxy and component kubeconfig certificates together, for one "
    "year: `kubeadm certs check-expiration` on a control-plane node lists them, `kubeadm certs renew all` "
    "(then a restart of the control-plane static pods) renews them; `kubeadm upgrade` renews them too"
)
RANCHER_CERTS = (
    "{} renews its certificates when it starts and they expire within 90 days (120 on recent releases): "
    "restart the {} service on each server, or run `{} certificate rotate`"
)


def _managed(
    name: str,
    title: str,
    signals: tuple[Signal, ...],
    notes: str,
    dns: Expect = Expect.REQUIRED,
    etcd_quota: int | None = None,
) -> Profile:
    return Profile(
        name,
        title,
        "managed",
        signals,
        "run by the provider, outside the cluster",
        leader_leases=Leases.NOT_EXPECTED,
        cloud_controller=True,
        kube_proxy=Expect.OPTIONAL,
        dns=dns,
        notes=notes,
        etcd_quota=etcd_quota,
        certificates=f"{title} renews the control plane's certificates itself",
        rotated=True,
    )


PROFILES: tuple[Profile, ...] = (
    Profile(
        "openshift",
        "OpenShift/OKD",
        "self-hosted",
        (Signal("namespace", "openshift-kube-apiserver"), Signal("node-label", "node.openshift.io/os_id")),
        "static pods in openshift-kube-apiserver, openshift-etcd, openshift-kube-scheduler, "
        "openshift-kube-controller-manager",
        pods=OPENSHIFT_PODS,
        leader_leases=Leases.NOT_EXPECTED,
        kube_proxy=Expect.EMBEDDED,
        dns_pods=(PodRule("cluster-dns", "openshift-dns", (("dns.operator.openshift.io/daemonset-dns", "default"),)),),
        dns_service=("openshift-dns", "dns-default"),
        etcd_quota=8 * GIB,
        certificates="the OpenShift operators rotate the control plane's certificates themselves",
        rotated=True,
        notes="Leader locks are ConfigMaps or Leases in the openshift-* namespaces depending on the version: "
        "judged by effects. openshift-sdn and OVN-Kubernetes proxy Services (no kube-proxy). "
        "DNS is CoreDNS as the DaemonSet openshift-dns/dns-default.",
    ),
    Profile(
        "k3s",
        "k3s",
        "self-hosted",
        (Signal("kubelet-version", "+k3s"), Signal("provider-id", "k3s://")),
        "embedded in the k3s server process (no pods)",
        leader_leases=Leases.IF_ETCD_ROLE,
        cloud_controller=True,
        kube_proxy=Expect.EMBEDDED,
        cni=Expect.EMBEDDED,
        certificates=RANCHER_CERTS.format("k3s", "k3s", "k3s"),
        notes="With its default sqlite/kine datastore k3s runs the scheduler and controller-manager without "
        "leader election (no leader Leases); with embedded etcd (node role etcd) it elects leaders with "
        "Leases. kube-proxy, flannel and a cloud-controller-manager run inside the k3s process.",
    ),
    Profile(
        "rke2",
        "RKE2",
        "self-hosted",
        (Signal("kubelet-version", "+rke2"), Signal("provider-id", "rke2://")),
        "static pods in kube-system (tier=control-plane)",
        pods=_static(),
        cloud_controller=True,
        etcd_quota=2 * GIB,
        certificates=RANCHER_CERTS.format("RKE2", "rke2-server", "rke2"),
        notes="kube-proxy is a static pod (component=kube-proxy); CNI canal, calico or cilium; etcd a static pod.",
    ),
    Profile(
        "k0s",
        "k0s",
        "self-hosted",
        (Signal("kubelet-version", "+k0s"),),
        "k0s controller processes, usually not nodes at all",
        notes="Controllers are not nodes unless --enable-worker: their components are seen by /readyz and "
        "their leader Leases only.",
    ),
    Profile(
        "microk8s",
        "MicroK8s",
        "self-hosted",
        (Signal("node-label", "microk8s.io/cluster"),),
        "embedded in kubelite (one process per node)",
        leader_leases=Leases.NOT_EXPECTED,
        kube_proxy=Expect.EMBEDDED,
        notes="kubelite runs the API server, scheduler, controller-manager, kubelet and kube-proxy in one "
        "process; the datastore is dqlite.",
    ),
    Profile(
        "talos",
        "Talos",
        "self-hosted",
        (Signal("os-image", "Talos"),),
        "static pods in kube-system; etcd a Talos system service (not a pod)",
        pods=tuple(r for r in _static(label="k8s-app", tier=False) if r.component != "etcd"),
        notes="etcd is a system service of the Talos OS, never a pod: seen through /readyz only.",
    ),
    Profile(
        "kops",
        "kOps",
        "self-hosted",
        (Signal("node-label", "kops.k8s.io/instancegroup"),),
        "static pods in kube-system (k8s-app=<component>; etcd as etcd-manager pods)",
        pods=_static(label="k8s-app", tier=False, etcd="etcd-manager-main"),
        notes="kube-proxy runs as static pods (k8s-app=kube-proxy).",
    ),
    _managed(
        "eks",
        "EKS",
        (
            Signal("node-label", "eks.amazonaws.com/nodegroup"),
            Signal("node-label", "eks.amazonaws.com/compute-type"),
            Signal("kubelet-version", "-eks-"),
        ),
        "Nodes of EKS Auto Mode have no kube-proxy or aws-node DaemonSet (built into the node). etcd's "
        "database is limited to 8 GiB.",
        etcd_quota=8 * GIB,
    ),
    _managed(
        "gke",
        "GKE",
        (Signal("node-label", "cloud.google.com/gke-nodepool"), Signal("kubelet-version", "-gke.")),
        "kube-proxy runs as static pods, or not at all with Dataplane V2 (anetd, Cilium); DNS is kube-dns, "
        "or Cloud DNS with no in-cluster DNS pods.",
        dns=Expect.OPTIONAL,
    ),
    _managed(
        "aks",
        "AKS",
        (Signal("node-label", "kubernetes.azure.com/cluster"), Signal("node-label", "kubernetes.azure.com/agentpool")),
        "kubenet has no CNI pods; Azure CNI powered by Cilium replaces kube-proxy.",
    ),
    _managed(
        "oke",
        "OKE",
        (Signal("node-label-prefix", "oke.oraclecloud.com/"),),
        "Oracle Container Engine: flannel or VCN-native pod networking.",
    ),
    Profile(
        "minikube",
        "minikube",
        "self-hosted",
        (Signal("node-label", "minikube.k8s.io/name"),),
        "static pods in kube-system (tier=control-plane)",
        pods=_static(),
        etcd_quota=2 * GIB,
        certificates=KUBEADM_CERTS,
    ),
    Profile(
        "kind",
        "kind",
        "self-hosted",
        (Signal("provider-id", "kind://"), Signal("daemon", "kindnet")),
        "static pods in kube-system (tier=control-plane)",
        pods=_static(),
        etcd_quota=2 * GIB,
        certificates=KUBEADM_CERTS,
        notes="kubeadm inside Docker containers; kindnet as CNI.",
    ),
    Profile(
        "kubeadm",
        "kubeadm",
        "self-hosted",
        (
            Signal("static-pods", "tier=control-plane"),
            Signal("node-label", "node.kubernetes.io/exclude-from-external-load-balancers"),
        ),
        "static pods in kube-system (tier=control-plane)",
        pods=_static(),
        etcd_quota=2 * GIB,
        certificates=KUBEADM_CERTS,
    ),
)
UNKNOWN = Profile(
    "unknown",
    "an unrecognised distribution",
    "unknown",
    (),
    "not recognised",
    pods=_static(),
    leader_leases=Leases.NOT_EXPECTED,
    kube_proxy=Expect.OPTIONAL,
    dns=Expect.OPTIONAL,
    notes="Cautious: static pods are looked for the kubeadm way; a missing Lease, kube-proxy, CNI or DNS is "
    "unknown, never a finding.",
)
