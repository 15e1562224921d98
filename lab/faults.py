"""API-level faults for the lab cluster, each a context manager that sets it up, checks its effect and
removes it: an admission webhook without a backend, an unavailable aggregated APIService."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from lab.labctl import Lab, LabError, kubectl, log, wait_for

Json = dict[str, Any]
# Objects live in the fault's own namespaces or are cluster-scoped ``kpd-test-*`` ones matching only those
# namespaces or one test identity: the shared lab's other writes are never affected. Control-plane process
# faults are in lab/labctl/faults.py, an API Priority and Fairness level squeezed in lab/apf.py.


def apply(lab: Lab, manifest: str) -> None:
    kubectl(lab, "apply", "-f", "-", input_=manifest)


def namespace_doc(name: str) -> str:
    return f"{{apiVersion: v1, kind: Namespace, metadata: {{name: {name}, labels: {{kpd-test: {name}}}}}}}"


def delete_namespace(lab: Lab, name: str) -> None:
    kubectl(lab, "delete", "namespace", name, "--ignore-not-found", "--wait=true", "--timeout=120s", timeout=150)


def _endpoints(lab: Lab, namespace: str, service: str, ready: bool) -> int:
    """The Service's endpoints in its EndpointSlices (only the ready ones, if ``ready``)."""
    args = ("get", "endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={service}", "-o", "json")
    slices = json.loads(kubectl(lab, *args).stdout)["items"]
    endpoints = [e for s in slices for e in s.get("endpoints") or []]
    return sum(1 for e in endpoints if not ready or (e.get("conditions") or {}).get("ready") is not False)


# --- 1. an admission webhook with no backend ---------------------------------------------------


@dataclass(frozen=True)
class WebhookDown:
    namespace: str  # the only namespace the webhook matches (label kpd-test=<namespace>)
    configuration: str  # the Validating/MutatingWebhookConfiguration's name
    kind: str  # "validating" | "mutating"
    failure_policy: str  # "Fail" | "Ignore"
    service: str  # Service (port 443) in ``namespace``; its Deployment is scaled to 0
    write_error: str  # kubectl's stderr for a ConfigMap create in ``namespace`` ("" when accepted)
    setup_seconds: float


def _webhook_manifests(
    ns: str, name: str, svc: str, failure_policy: str, kind: Literal["validating", "mutating"]
) -> tuple[str, str]:
    """The webhook's backend (Deployment and Service in ``ns``) and its configuration, as YAML."""
    kind_name = "ValidatingWebhookConfiguration" if kind == "validating" else "MutatingWebhookConfiguration"
    spec = f"{{selector: {{app: {svc}}}, ports: [{{port: 443, targetPort: 8443, name: https}}]}}"
    manifest = f"""
{{apiVersion: apps/v1, kind: Deployment, metadata: {{name: {svc}, namespace: {ns}}}, spec: {{replicas: 1,
  selector: {{matchLabels: {{app: {svc}}}}}, template: {{metadata: {{labels: {{app: {svc}}}}}, spec: {{containers: [
    {{name: webhook, image: "registry.k8s.io/e2e-test-images/agnhost:2.53", args: [webhook],
      ports: [{{containerPort: 8443, name: https}}]}}]}}}}}}}}
---
{{apiVersion: v1, kind: Service, metadata: {{name: {svc}, namespace: {ns}}}, spec: {spec}}}
"""
    config = f"""
apiVersion: admissionregistration.k8s.io/v1
kind: {kind_name}
metadata: {{name: {name}}}
webhooks:
- name: {name}.kpd-test.example.com
  clientConfig: {{service: {{namespace: {ns}, name: {svc}, path: /{kind}, port: 443}}}}
  rules: [{{operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [pods, configmaps]}}]
  namespaceSelector: {{matchLabels: {{kpd-test: {ns}}}}}
  failurePolicy: {failure_policy}
  timeoutSeconds: 2
  sideEffects: None
  admissionReviewVersions: [v1]
"""
    return manifest, config


def _backend_scaled_to_zero(lab: Lab, ns: str, svc: str, manifest: str) -> None:
    """Apply the backend, wait until its endpoint is ready, then scale it to 0 and wait until it has none."""
    apply(lab, manifest)
    ready = ("--for=jsonpath={.status.readyReplicas}=1", "deployment", svc, "-n", ns, "--timeout=90s")
    kubectl(lab, "wait", *ready, timeout=100)
    wait_for(f"{ns}/{svc} to have a ready endpoint", lambda: _endpoints(lab, ns, svc, True) > 0, 90, 1)
    kubectl(lab, "scale", "deployment", svc, "-n", ns, "--replicas=0")
    kubectl(lab, "wait", "--for=delete", "pod", "-l", f"app={svc}", "-n", ns, "--timeout=60s", timeout=70)
    wait_for(f"{ns}/{svc} to lose its endpoints", lambda: _endpoints(lab, ns, svc, False) == 0, 60, 0.5)


@contextmanager
def webhook_down(
    lab: Lab,
    failure_policy: Literal["Fail", "Ignore"] = "Fail",
    kind: Literal["validating", "mutating"] = "validating",
) -> Iterator[WebhookDown]:
    """A webhook on CREATE/UPDATE of pods and configmaps in ``kpd-webhook-<policy>`` only, its
    Deployment scaled to 0: with Fail a ConfigMap create there is refused, with Ignore it passes.

    The lab's API server routes webhook calls to the Service's endpoints (--enable-aggregator-routing,
    lab/kwokctl.yaml.in), never to its ClusterIP (which would leave the machine: the lab has no
    kube-proxy). The webhook is registered only once its Deployment is scaled to 0, so no call is
    ever made to a (kwok, fake) pod address: with no endpoint the API server fails the call at once
    ("no endpoints available for service"). A ConfigMap create is tried and its error kept."""
    t0 = time.monotonic()
    ns, name, svc = f"kpd-webhook-{failure_policy.lower()}", f"kpd-test-{failure_policy.lower()}", "kpd-webhook"
    manifest, config = _webhook_manifests(ns, name, svc, failure_policy, kind)
    try:
        apply(lab, namespace_doc(ns))
        _backend_scaled_to_zero(lab, ns, svc, manifest)
        apply(lab, config)  # only now: never a call to a pod address
        probe = kubectl(lab, "create", "configmap", "kpd-probe", "-n", ns, "--from-literal=a=b", check=False)
        error = probe.stderr.strip() if probe.returncode else ""
        if (failure_policy == "Fail") != bool(error):
            raise LabError(f"{kind} webhook {name} ({failure_policy}): ConfigMap create answered {error or 'ok'}")
        other = ("create", "configmap", "kpd-probe", "-n", "default", "--from-literal=a=b", "--dry-run=server")
        kubectl(lab, *other)  # the webhook must not touch any other namespace
        took = time.monotonic() - t0
        log(f"{kind} webhook {name} ({failure_policy}) down in {took:.1f}s")
        yield WebhookDown(ns, name, kind, failure_policy, svc, error, took)
    finally:
        t1 = time.monotonic()
        kubectl(lab, "delete", f"{kind}webhookconfiguration", name, "--ignore-not-found", check=False)
        delete_namespace(lab, ns)
        log(f"{kind} webhook {name} removed in {time.monotonic() - t1:.1f}s")


# --- 2. an aggregated APIService with no endpoints ---------------------------------------------


@dataclass(frozen=True)
class ApiServiceDown:
    name: str  # v1beta1.kpd-test.example.com
    namespace: str
    service: str
    reason: str  # of its Available=False condition
    message: str
    setup_seconds: float


APISERVICE = "v1beta1.kpd-test.example.com"


def _available(lab: Lab) -> Json:
    obj = json.loads(kubectl(lab, "get", "apiservice", APISERVICE, "-o", "json").stdout)
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Available"), {})


@contextmanager
def apiservice_down(lab: Lab) -> Iterator[ApiServiceDown]:
    """APIService v1beta1.kpd-test.example.com served by a Service in ``kpd-apiservice`` that selects
    nothing. While it exists, discovery of the whole cluster is partial (namespace deletion anywhere
    stalls): it is deleted, and gone, before its namespace is."""
    t0 = time.monotonic()
    ns, svc = "kpd-apiservice", "kpd-test-api"
    manifest = f"""
{{apiVersion: v1, kind: Service, metadata: {{name: {svc}, namespace: {ns}}},
  spec: {{selector: {{app: kpd-test-nothing}}, ports: [{{port: 443, targetPort: 8443}}]}}}}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {{name: {APISERVICE}}}
spec: {{group: kpd-test.example.com, version: v1beta1, service: {{namespace: {ns}, name: {svc}, port: 443}},
  insecureSkipTLSVerify: true, groupPriorityMinimum: 1000, versionPriority: 15}}
"""
    try:
        apply(lab, namespace_doc(ns))
        apply(lab, manifest)
        wait_for(f"APIService {APISERVICE} to be unavailable", lambda: _available(lab).get("status") == "False", 60)
        cond = _available(lab)
        took = time.monotonic() - t0
        log(f"APIService {APISERVICE} unavailable ({cond.get('reason')}) in {took:.1f}s")
        yield ApiServiceDown(APISERVICE, ns, svc, str(cond.get("reason")), str(cond.get("message")), took)
    finally:
        t1 = time.monotonic()
        kubectl(lab, "delete", "apiservice", APISERVICE, "--ignore-not-found", check=False)
        gone = ("get", "apiservice", APISERVICE, "--ignore-not-found", "-o", "name")
        wait_for(f"APIService {APISERVICE} to be gone", lambda: not kubectl(lab, *gone).stdout.strip(), 60)
        delete_namespace(lab, ns)
        log(f"APIService {APISERVICE} removed in {time.monotonic() - t1:.1f}s")
