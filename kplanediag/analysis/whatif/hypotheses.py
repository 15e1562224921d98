"""What-if hypotheses as typed values, each resolved against the cluster (naming what exists when it
names what does not)."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.distribution import Distribution
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.words import some

# The forms: ``node/NAME``, ``drain/NAME``, ``cordon/NAME``, ``zone/ZONE``, ``webhook/NAME``,
# ``COMPONENT@NODE`` (one control-plane instance), a component cluster-wide (``kube-scheduler``, ``coredns``,
# ``cni``, ``kube-proxy``, ...) and ``control-plane`` as a whole.
ZONE_LABEL = "topology.kubernetes.io/zone"
OLD_ZONE_LABEL = "failure-domain.beta.kubernetes.io/zone"
CONTROL = ("etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "cloud-controller-manager")
CLUSTER_WIDE = (*CONTROL, "coredns", "cni", "kube-proxy", "control-plane")
SHORT = {
    "apiserver": "kube-apiserver",
    "api-server": "kube-apiserver",
    "scheduler": "kube-scheduler",
    "controller-manager": "kube-controller-manager",
    "kcm": "kube-controller-manager",
    "ccm": "cloud-controller-manager",
    "dns": "coredns",
    "kube-dns": "coredns",
}
KINDS = ("node", "drain", "cordon", "zone", "webhook")
FORMS = "node/NAME, drain/NAME, cordon/NAME, zone/ZONE, webhook/NAME, COMPONENT@NODE, " + ", ".join(CLUSTER_WIDE)


class HypothesisError(ValueError):
    """A hypothesis that does not parse or names what the cluster does not have (exit 3)."""


@dataclass(frozen=True)
class Hypothesis:
    kind: str  # node | drain | cordon | zone | webhook | instance | component
    target: str  # the node, zone, webhook configuration or component
    node: str = ""  # instance: the node it runs on
    text: str = ""  # as given

    def describe(self) -> str:
        if self.kind == "instance":
            return f"{self.target} on {self.node} fails"
        if self.kind == "component":
            return (
                "the whole control plane is down (an upgrade window, a provider outage)"
                if (self.target == "control-plane")
                else f"{self.target} fails cluster-wide"
            )
        verbs = {"node": "fails (kubelet silent)", "drain": "is drained", "cordon": "is cordoned",
                 "zone": "fails (every node in it)", "webhook": "is not served"}  # fmt: skip
        what = {"zone": "zone", "webhook": "webhook configuration"}.get(self.kind, "node")
        return f"{what} {self.target} {verbs[self.kind]}"


def parse(text: str) -> Hypothesis:
    raw = text.strip()
    kind, slash, target = raw.partition("/")
    if slash and kind.lower() in KINDS and target:
        return Hypothesis(kind.lower(), target, text=raw)
    name, at, node = raw.partition("@")
    component = SHORT.get(name.lower(), name.lower())
    if at:
        if component not in CONTROL or not node:
            raise HypothesisError(f"{raw!r}: COMPONENT@NODE takes one of {', '.join(CONTROL)} and a node")
        return Hypothesis("instance", component, node, raw)
    if component in CLUSTER_WIDE:
        return Hypothesis("component", component, text=raw)
    raise HypothesisError(f"{raw!r} is not a hypothesis: {FORMS}")


def zone_of(labels: dict[str, str] | object) -> str:
    get = getattr(labels, "get", None)
    if get is None:
        return ""
    return str(get(ZONE_LABEL) or get(OLD_ZONE_LABEL) or "")


def zones(idx: ClusterIndex) -> dict[str, list[str]]:
    """Zone -> its nodes, from the nodes' topology labels (empty when no node has one)."""
    out: dict[str, list[str]] = {}
    for name, node in sorted(idx.nodes.items()):
        zone = zone_of(node.labels)
        if zone:
            out.setdefault(zone, []).append(name)
    return out


def resolve(h: Hypothesis, idx: ClusterIndex, dist: Distribution) -> list[str]:
    """The nodes the hypothesis takes down (drain and cordon: the node; a component: none); raises
    HypothesisError naming what exists when it names what does not."""
    if h.kind in ("node", "drain", "cordon"):
        if h.target not in idx.nodes:
            raise HypothesisError(f"no node {h.target!r}; the nodes: {some(sorted(idx.nodes), 20)}")
        return [h.target]
    if h.kind == "zone":
        found = zones(idx)
        if not found:
            raise HypothesisError(
                f"no node has a zone label ({ZONE_LABEL}): zone hypotheses cannot be evaluated on this cluster"
            )
        if h.target not in found:
            raise HypothesisError(f"no zone {h.target!r}; the zones: {', '.join(sorted(found))}")
        return found[h.target]
    if h.kind == "webhook":
        names = sorted({w.name for w in (*idx.snapshot.validating_webhooks,
                                          *idx.snapshot.mutating_webhooks)})  # fmt: skip
        if h.target not in names:
            raise HypothesisError(f"no webhook configuration {h.target!r}; those read: {some(names, 20) or 'none'}")
        return []
    if h.kind == "instance":
        pods = [p for p in dist.pods.get(h.target, []) if p.spec.node_name == h.node]
        if not pods:
            where = sorted({p.spec.node_name for p in dist.pods.get(h.target, []) if p.spec.node_name})
            seen = f"it runs on {', '.join(where)}" if where else f"no {h.target} instance is visible on this cluster"
            raise HypothesisError(f"no {h.target} instance on node {h.node!r}: {seen}")
        return []
    return []
