"""API Priority and Fairness on the lab: a burst of one test ServiceAccount's requests queued and
rejected (429) at a tiny priority level of its own, while every other client is served."""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml

from lab.faults import apply, delete_namespace, namespace_doc
from lab.labctl import Lab, kubectl, log, wait_for


def _connect(lab: Lab, token: str | None, timeout: float = 60) -> http.client.HTTPSConnection:
    """A connection to the lab kubeconfig's server, with its CA and, without ``token``, its admin
    client certificate."""
    cfg = yaml.safe_load(lab.kubeconfig.read_text())
    context = next(c for c in cfg["contexts"] if c["name"] == cfg["current-context"])["context"]
    cluster = next(c for c in cfg["clusters"] if c["name"] == context["cluster"])["cluster"]
    user = next(u for u in cfg["users"] if u["name"] == context["user"])["user"]
    tls = ssl.create_default_context(cafile=cluster["certificate-authority"])
    if token is None:
        tls.load_cert_chain(user["client-certificate"], user["client-key"])
    host, _, port = cluster["server"].removeprefix("https://").rstrip("/").rpartition(":")
    return http.client.HTTPSConnection(host, int(port), context=tls, timeout=timeout)


def _fetch(conn: http.client.HTTPSConnection, path: str, token: str | None) -> tuple[http.client.HTTPResponse, str]:
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    answer = conn.getresponse()
    return answer, answer.read().decode()


@dataclass
class BurstResult:
    requests: int
    codes: Counter[int]  # HTTP status -> count (0: connection error)
    seconds: float
    observed: list[Any] = field(default_factory=list)  # what ``during`` returned, in order


@dataclass(frozen=True)
class Squeeze:
    lab: Lab
    namespace: str
    service_account: str
    priority_level: str
    flow_schema: str
    token: str
    setup_seconds: float

    def burst(
        self,
        seconds: float,
        parallel: int = 16,
        path: str = "/api/v1/pods?limit=500",
        during: Callable[[], Any] | None = None,
    ) -> BurstResult:
        """GET ``path`` as the ServiceAccount from ``parallel`` threads (one keep-alive connection
        each) for ``seconds``; ``during`` is called over and over in this thread meanwhile."""
        codes: Counter[int] = Counter()
        lock, stop = threading.Lock(), threading.Event()

        def worker() -> None:
            conn = _connect(self.lab, self.token)
            while not stop.is_set():
                try:
                    code = _fetch(conn, path, self.token)[0].status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn, code = _connect(self.lab, self.token), 0
                with lock:
                    codes[code] += 1
            conn.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(parallel)]
        result, t0 = BurstResult(0, codes, 0.0), time.monotonic()
        for t in threads:
            t.start()
        while time.monotonic() - t0 < seconds:
            if during:
                result.observed.append(during())
            else:
                time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(70)
        result.seconds = time.monotonic() - t0
        result.requests = sum(codes.values())
        return result


# kplanediag included, every other client is served at its own level. A context manager that removes
# everything on exit, as lab/faults.py's.
@contextmanager
def squeeze(lab: Lab) -> Iterator[Squeeze]:
    """PriorityLevelConfiguration kpd-test-squeeze (1 share, no borrowing, 1 queue of 1) and
    FlowSchema kpd-test-burst (precedence 500) for ServiceAccount kpd-apf/burst only, which may
    list pods cluster-wide (ClusterRole and binding kpd-test-apf-burst)."""
    t0 = time.monotonic()
    ns, sa, level, schema, role = "kpd-apf", "burst", "kpd-test-squeeze", "kpd-test-burst", "kpd-test-apf-burst"
    rbac, fc = "rbac.authorization.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1"
    manifest = f"""
{{apiVersion: v1, kind: ServiceAccount, metadata: {{name: {sa}, namespace: {ns}}}}}
---
{{apiVersion: {rbac}, kind: ClusterRole, metadata: {{name: {role}}},
  rules: [{{apiGroups: [""], resources: [pods], verbs: [get, list]}}]}}
---
{{apiVersion: {rbac}, kind: ClusterRoleBinding, metadata: {{name: {role}}},
  roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}},
  subjects: [{{kind: ServiceAccount, name: {sa}, namespace: {ns}}}]}}
---
{{apiVersion: {fc}, kind: PriorityLevelConfiguration, metadata: {{name: {level}}}, spec: {{type: Limited,
  limited: {{nominalConcurrencyShares: 1, lendablePercent: 0, borrowingLimitPercent: 0,
    limitResponse: {{type: Queue, queuing: {{queues: 1, handSize: 1, queueLengthLimit: 1}}}}}}}}}}
---
apiVersion: {fc}
kind: FlowSchema
metadata: {{name: {schema}}}
spec:
  priorityLevelConfiguration: {{name: {level}}}
  matchingPrecedence: 500
  distinguisherMethod: {{type: ByUser}}
  rules:
  - subjects: [{{kind: ServiceAccount, serviceAccount: {{name: {sa}, namespace: {ns}}}}}]
    resourceRules:
    - {{verbs: ["*"], apiGroups: ["*"], resources: ["*"], clusterScope: true, namespaces: ["*"]}}
    nonResourceRules: [{{verbs: ["*"], nonResourceURLs: ["*"]}}]
"""
    try:
        apply(lab, namespace_doc(ns))
        apply(lab, manifest)
        token = kubectl(lab, "create", "token", sa, "-n", ns, "--duration", "1h").stdout.strip()
        uid = kubectl(lab, "get", "prioritylevelconfiguration", level, "-o", "jsonpath={.metadata.uid}").stdout

        def classified() -> bool:  # APF names the priority level that served a request in a header
            with closing(_connect(lab, token, 10)) as conn:
                answer = _fetch(conn, "/api/v1/pods?limit=1", token)[0]
            return answer.status == 200 and answer.getheader("X-Kubernetes-PF-PriorityLevel-UID") == uid

        wait_for(f"{ns}/{sa}'s requests to be served at priority level {level}", classified, 30)
        took = time.monotonic() - t0
        log(f"APF squeeze {level} for {ns}/{sa} set up in {took:.1f}s")
        yield Squeeze(lab, ns, sa, level, schema, token, took)
    finally:
        t1 = time.monotonic()
        objects = (f"flowschema/{schema}", f"prioritylevelconfiguration/{level}", f"clusterrolebinding/{role}")
        kubectl(lab, "delete", *objects, f"clusterrole/{role}", "--ignore-not-found", check=False)
        delete_namespace(lab, ns)
        log(f"APF squeeze removed in {time.monotonic() - t1:.1f}s")
