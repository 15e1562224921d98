"""The failure classes of blast-radius entries: a fixed vocabulary, so that /metrics labels an entry
by what failed, never by a node, pod or webhook name (docs/metrics.md)."""

from __future__ import annotations

CONTROL_PLANE_DOWN = "control-plane-down"  # a whole component down (or its checks failing), API unreachable
QUORUM_LOST = "quorum-lost"  # a replicated control-plane component below its quorum
REDUNDANCY_LOST = "redundancy-lost"  # some instances of a replicated component down, enough left
ETCD_WRITES_FAILING = "etcd-writes-failing"  # etcd refusing writes (NOSPACE) although /readyz passes
ETCD_QUOTA = "etcd-quota"  # the etcd database near or at its quota
CERTIFICATE_EXPIRING = "certificate-expiring"  # the API server's serving certificate
APISERVER_SATURATED = "apiserver-saturated"  # slow or queueing (API Priority and Fairness)
WEBHOOK_REJECTING_WRITES = "webhook-rejecting-writes"  # failurePolicy Fail webhook not served
WEBHOOK_NOT_ENFORCED = "webhook-not-enforced"  # failurePolicy Ignore webhook not served: policy skipped
WEBHOOK_CALLS_FAILING = "webhook-calls-failing"  # calls to a webhook fail (TLS, timeout, refused), endpoints or not
AGGREGATED_API_UNAVAILABLE = "aggregated-api-unavailable"
NODE_FAILURE = "node-failure"  # nodes failing (kubelet: not ready, unknown, heartbeat stale)
COMPONENT_DOWN = "component-down"  # kube-proxy or the CNI down on a node
DNS_DOWN = "dns-down"  # cluster DNS down
DNS_DEGRADED = "dns-degraded"  # cluster DNS with some replicas not ready: capacity reduced
PODS_UNSCHEDULABLE = "pods-unschedulable"  # pods Pending Unschedulable past the policy's patience
DRAIN_BLOCKED = "drain-blocked"  # a cordoned node's pods held by a PodDisruptionBudget allowing no disruption
TAINT_EVICTION = "taint-eviction"  # a NoExecute taint evicting pods that have no other node to go to
NO_SCHEDULABLE_NODE = "no-schedulable-node"  # cordons and taints leave no node for new workload pods
ADDON_FAILING = "addon-failing"  # an add-on (metrics-server, a CSI driver, ...) crash-looping or restarting heavily
DRAIN = "drain"  # what-if only: a node drained (voluntary evictions), never a current failure

CLASSES = (
    CONTROL_PLANE_DOWN,
    QUORUM_LOST,
    REDUNDANCY_LOST,
    ETCD_WRITES_FAILING,
    ETCD_QUOTA,
    CERTIFICATE_EXPIRING,
    APISERVER_SATURATED,
    WEBHOOK_REJECTING_WRITES,
    WEBHOOK_NOT_ENFORCED,
    WEBHOOK_CALLS_FAILING,
    AGGREGATED_API_UNAVAILABLE,
    NODE_FAILURE,
    COMPONENT_DOWN,
    DNS_DOWN,
    DNS_DEGRADED,
    ADDON_FAILING,
    PODS_UNSCHEDULABLE,
    DRAIN_BLOCKED,
    TAINT_EVICTION,
    NO_SCHEDULABLE_NODE,
    DRAIN,
)

BETWEEN_OBJECTS = ("scheduling", "eviction")
"""The component of an entry for a fault between objects (a PodDisruptionBudget blocking a drain, taints
leaving no node): no component failed, so the entry names what stops, scheduling or eviction."""
