"""Admission webhooks (configured in the control plane, served by pods in the data plane), each
judged by its Service's ready endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from kplanediag.analysis.crossplane.serving import Backends, backends
from kplanediag.analysis.dataplane.nodes import NodeState
from kplanediag.analysis.index import ClusterIndex
from kplanediag.analysis.knowledge.codes import finding
from kplanediag.analysis.model import Component, Finding, Plane, Status
from kplanediag.snapshot.api_kinds import Webhook
from kplanediag.snapshot.kinds import LabelSelector

NAME_LABEL = "kubernetes.io/metadata.name"  # every namespace carries its own name (1.21+)


@dataclass(frozen=True)
class WebhookState:
    kind: str  # "validating" | "mutating"
    configuration: str
    webhook: Webhook
    backends: Backends | None  # None: called by URL

    @property
    def subject(self) -> str:
        return f"{self.configuration}/{self.webhook.name}"

    @property
    def failing(self) -> bool:
        b = self.backends
        return b is not None and b.known and not b.external and b.serving == 0

    @property
    def fail_closed(self) -> bool:
        return self.webhook.failure_policy != "Ignore"

    def operations(self) -> str:
        """What it intercepts, in words: "CREATE, UPDATE of pods, configmaps in every namespace"."""
        rules = self.webhook.rules
        ops = sorted({op for r in rules for op in r.operations}) or ["no operation"]
        resources = sorted({res for r in rules for res in r.resources}) or ["no resource"]
        verbs = "every operation" if "*" in ops else ", ".join(ops)
        kinds = "every resource" if "*" in resources else ", ".join(resources)
        scope = namespaces_text(self.webhook.namespace_selector)
        objects = self.webhook.object_selector
        only = f" (only objects with {selector_text(objects)})" if objects and not empty(objects) else ""
        return f"{verbs} of {kinds} {scope}{only}"

    def blocks_own_pods(self) -> bool:
        """Whether, failing closed, it also rejects the pods that would bring it back."""
        b, ref = self.backends, self.webhook.client_config.service
        if b is None or ref is None or not self.fail_closed:
            return False
        covers_pods = any(
            ("pods" in r.resources or "*" in r.resources) and ("CREATE" in r.operations or "*" in r.operations)
            for r in self.webhook.rules
        )
        return covers_pods and namespace_matches(self.webhook.namespace_selector, ref.namespace) is True


def empty(sel: LabelSelector) -> bool:
    return not sel.match_labels and not sel.match_expressions


def selector_text(sel: LabelSelector) -> str:
    parts = [f"{k}={v}" for k, v in sorted(sel.match_labels.items())]
    parts += [
        f"{e.key} {e.operator} ({', '.join(e.values)})" if e.values else f"{e.key} {e.operator}"
        for e in sel.match_expressions
    ]
    return ", ".join(parts)


def namespaces_text(sel: LabelSelector | None) -> str:
    if sel is None or empty(sel):
        return "in every namespace"
    if not sel.match_labels and all(e.key == NAME_LABEL for e in sel.match_expressions):
        names = [v for e in sel.match_expressions if e.operator == "In" for v in e.values]
        excluded = [v for e in sel.match_expressions if e.operator == "NotIn" for v in e.values]
        if names and not excluded:
            return f"in namespace(s) {', '.join(names)}"
        if excluded and not names:
            return f"in every namespace except {', '.join(excluded)}"
    if set(sel.match_labels) == {NAME_LABEL} and not sel.match_expressions:
        return f"in namespace {sel.match_labels[NAME_LABEL]}"
    return f"in namespaces with {selector_text(sel)}"


def namespace_matches(sel: LabelSelector | None, namespace: str) -> bool | None:
    """Whether a namespace matches, when only its name label decides; None when other labels do."""
    if sel is None or empty(sel):
        return True
    labels = {NAME_LABEL: namespace}
    if any(k != NAME_LABEL for k in sel.match_labels) or any(e.key != NAME_LABEL for e in sel.match_expressions):
        return None
    if any(labels.get(k) != v for k, v in sel.match_labels.items()):
        return False
    for e in sel.match_expressions:
        inside = namespace in e.values
        if (e.operator == "In" and not inside) or (e.operator == "NotIn" and inside):
            return False
    return True


def webhook_states(idx: ClusterIndex, nodes: dict[str, NodeState]) -> list[WebhookState]:
    states = []
    snap = idx.snapshot
    configs = [("validating", c) for c in snap.validating_webhooks] + [("mutating", c) for c in snap.mutating_webhooks]
    for kind, config in configs:
        for hook in config.webhooks:
            ref = hook.client_config.service
            states.append(WebhookState(kind, config.metadata.name, hook, backends(idx, ref, nodes) if ref else None))
    return states


# With failurePolicy Fail and none serving, the writes it intercepts fail (KPD-400), with Ignore its policy is
# silently skipped (KPD-401). Webhooks called by URL cannot be verified from inside the API (KPD-402).
def assess_webhooks(states: list[WebhookState]) -> tuple[list[Component], list[Finding]]:
    components: list[Component] = []
    findings: list[Finding] = []
    by_config: dict[tuple[str, str], list[WebhookState]] = {}
    for state in states:
        by_config.setdefault((state.kind, state.configuration), []).append(state)
        policy = "Fail" if state.fail_closed else "Ignore"
        if state.backends is None or state.backends.external:
            url = state.webhook.client_config.url or (state.backends.external if state.backends else "")
            findings.append(
                finding(
                    "KPD-402",
                    state.subject,
                    f"{state.kind} webhook {state.subject} (failurePolicy {policy}) is called at {url}, outside "
                    "the cluster: whether it answers cannot be verified from the API",
                )
            )
        elif state.failing:
            code, effect = (
                ("KPD-400", "these requests are rejected")
                if state.fail_closed
                else ("KPD-401", "these requests are admitted without its checks")
            )
            findings.append(
                finding(
                    code,
                    state.subject,
                    f"{state.kind} webhook {state.subject} (failurePolicy {policy}) is not served: "
                    f"{state.backends.describe()}; it intercepts {state.operations()}: {effect}",
                    component=f"{state.kind}-webhook",
                )
            )
    for (kind, config), hooks in sorted(by_config.items()):
        known = [h for h in hooks if h.backends is not None and h.backends.known and not h.backends.external]
        failing = [h for h in known if h.failing]
        if failing:
            status = Status.DOWN if any(h.fail_closed for h in failing) else Status.DEGRADED
        else:
            status = Status.HEALTHY if known and len(known) == len(hooks) else Status.UNKNOWN
        evidence = tuple(
            f"{h.webhook.name}: "
            + (h.backends.describe() if h.backends else f"URL {h.webhook.client_config.url} (not verifiable)")
            for h in hooks
        )
        components.append(
            Component(
                name=f"{kind}-webhook",
                plane=Plane.CROSS,
                status=status,
                evidence=evidence,
                detail=f"{config}: {len(hooks)} webhook(s)" + (f", {len(failing)} not served" if failing else ""),
            )
        )
    return components, findings
