"""Lab faults of admission webhooks whose Service has a ready endpoint, served by a real HTTPS server
that fails the calls: a certificate for another host, an answer too late, or slow but in time."""

from __future__ import annotations

import base64
import json
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from kubernetes import client, config

from lab.faults import apply, delete_namespace, namespace_doc
from lab.labctl import Lab, LabError, kubectl, log, wait_for
from lab.netns import Netns, netns
from lab.throwaway_pki import openssl

NAMESPACE, CONFIGURATION, SERVICE, VICTIM = "kpd-webhook-calls", "kpd-test-calls", "kpd-webhook", "kpd-victim"
# lab/faults.py has the webhook without any endpoint. Here: a certificate that names another host (every call
# fails the TLS check), an answer later than timeoutSeconds (every call times out), or an answer slower than
# the latency SLO but in time (calls succeed, slowly).
#
# The lab's API server calls a webhook at its Service's endpoints (--enable-aggregator-routing), and the API
# refuses a loopback endpoint address, so the server (lab/webhook_server.py) runs inside a network namespace
# of its own (lab/netns.py: ``kpd-webhook``, veth kpdwh0/kpdwh1 on NETWORK, a /30 of 198.18.0.0/15, reserved
# for benchmark tests by RFC 2544 and routed nowhere), and the EndpointSlice points at its namespace-side
# address: the calls never leave this machine, nor touch its own address. The webhook matches only its own
# namespace; the server, the namespace and the veth go on exit.
WRONG_NAME = "wrong-name.kpd-test.example.com"  # the certificate's only name (mode wrong-name)
RIGHT_NAME = f"{SERVICE}.{NAMESPACE}.svc"  # the name the API server checks
TIMEOUT = 2  # the webhook's timeoutSeconds
DELAY = {"wrong-name": 0.0, "timeout": TIMEOUT + 1.0, "slow": 1.2}  # the server's delay before answering
SLOW_CALLS = 120  # server-side dry-run creates made through a slow webhook, 8 at a time
Mode = Literal["wrong-name", "timeout", "slow"]
NETNS, HOST_IF, NS_IF = "kpd-webhook", "kpdwh0", "kpdwh1"
NETWORK = "198.18.41.0/30"  # RFC 2544 benchmarking range: never a real network's; .1 here, .2 the server
PORT = 8443  # the server's port inside its namespace (nothing else listens there)
SERVER = Path(__file__).with_name("webhook_server.py")


@dataclass(frozen=True)
class WebhookCallFault:
    namespace: str  # the only namespace the webhook matches (label kpd-test=<namespace>)
    configuration: str  # ValidatingWebhookConfiguration, failurePolicy Fail
    webhook: str  # the webhook's name in it
    service: str  # selectorless Service with a hand-made EndpointSlice (ready) -> address:port
    address: str
    port: int
    mode: str
    write_error: str  # kubectl's stderr for a ConfigMap create in ``namespace`` ("" when accepted)
    event: str  # a FailedCreate event's note (the ReplicaSet controller's pod create; "" when none)
    setup_seconds: float


def make_certificate(pki: Path, name: str) -> None:
    """ca.crt/ca.key and a serving certificate (serving.crt/.key) valid for ``name`` only."""
    for key in ("ca", "serving"):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{key}.key", cwd=pki)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=kpd-test-webhook-ca", "-days", "2",
            "-out", "ca.crt", cwd=pki)  # fmt: skip
    (pki / "serving.ext").write_text(
        f"basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        f"subjectAltName=DNS:{name}\n"
    )
    openssl("req", "-new", "-key", "serving.key", "-subj", f"/CN={name}", "-out", "serving.csr", cwd=pki)
    openssl("x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "serving.ext", "-out", "serving.crt", cwd=pki)  # fmt: skip


def _events(lab: Lab) -> list[str]:
    args = ("get", "events", "-n", NAMESPACE, "--field-selector", "reason=FailedCreate", "-o", "json")
    return [e.get("message", "") for e in json.loads(kubectl(lab, *args).stdout)["items"]]


EXPECTED = {"wrong-name": "x509: certificate is valid for", "timeout": "context deadline exceeded", "slow": ""}


@contextmanager
def webhook_call_fault(lab: Lab, mode: Mode = "wrong-name") -> Iterator[WebhookCallFault]:
    """ValidatingWebhookConfiguration kpd-test-calls, webhook kpd-test-<mode>.kpd-test.example.com
    (failurePolicy Fail, timeoutSeconds 2, CREATE/UPDATE of pods and configmaps in kpd-webhook-calls
    only) -> Service kpd-webhook with a ready endpoint at a live HTTPS server, its certificate signed
    by the caBundle's CA. ``wrong-name``: the certificate names WRONG_NAME, not the Service;
    ``timeout``: it answers after 3 s; ``slow``: after 1.2 s, and SLOW_CALLS dry-run creates go
    through it (most in time). In the first two modes a Deployment there makes the ReplicaSet
    controller's pod creates fail (FailedCreate events)."""
    t0 = time.monotonic()
    pki_dir = tempfile.TemporaryDirectory(prefix="kpd-webhook-calls-")
    pki = Path(pki_dir.name)
    stack = ExitStack()
    server: subprocess.Popen[str] | None = None
    hook = f"kpd-test-{mode}.kpd-test.example.com"  # one per mode: the API server counts calls by name
    try:
        make_certificate(pki, WRONG_NAME if mode == "wrong-name" else RIGHT_NAME)
        ns = stack.enter_context(netns(NETNS, HOST_IF, NS_IF, NETWORK))
        server = _start_server(ns, pki, mode)
        address, port = _serving(server, pki / "server.log")
        ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
        apply(lab, namespace_doc(NAMESPACE))
        apply(lab, _backend(address, port))
        apply(lab, _configuration(hook, ca))
        probe = kubectl(lab, "create", "configmap", "kpd-probe", "-n", NAMESPACE, "--from-literal=a=b", check=False)
        error = probe.stderr.strip() if probe.returncode else ""
        if (EXPECTED[mode] not in error) if mode != "slow" else bool(error):
            raise LabError(f"webhook {hook} ({mode}): ConfigMap create answered {error or 'ok'}")
        other = ("create", "configmap", "kpd-probe", "-n", "default", "--from-literal=a=b", "--dry-run=server")
        kubectl(lab, *other)  # the webhook must not touch any other namespace
        event = ""
        if mode == "slow":
            _dry_run_creates(lab, SLOW_CALLS)
        else:
            apply(lab, _victim())
            wait_for(f"a FailedCreate event in {NAMESPACE}", lambda: bool(_events(lab)), 60, 1)
            event = _events(lab)[0]
        took = time.monotonic() - t0
        log(f"webhook {hook} ({mode}) at {address}:{port}: ready in {took:.1f}s")
        yield WebhookCallFault(NAMESPACE, CONFIGURATION, hook, SERVICE, address, port, mode, error, event, took)
    finally:
        t1 = time.monotonic()
        kubectl(lab, "delete", "validatingwebhookconfiguration", CONFIGURATION, "--ignore-not-found", check=False)
        if server is not None:
            _stop(server)
        stack.close()  # the network namespace and the veth
        delete_namespace(lab, NAMESPACE)
        pki_dir.cleanup()
        log(f"webhook {hook} removed in {time.monotonic() - t1:.1f}s")


def _start_server(ns: Netns, pki: Path, mode: Mode) -> subprocess.Popen[str]:
    """lab/webhook_server.py inside ``ns`` on its address, PORT (stdin a pipe: it exits when we do)."""
    args = ("--mode", mode, "--cert", str(pki / "serving.crt"), "--key", str(pki / "serving.key"),
            "--address", ns.address, "--port", str(PORT), "--delay", str(DELAY[mode]))  # fmt: skip
    with (pki / "server.log").open("w") as err:
        return subprocess.Popen(
            ns.exec_args(sys.executable, str(SERVER), *args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip


def _serving(server: subprocess.Popen[str], log_file: Path, timeout: float = 20) -> tuple[str, int]:
    """The address and port from the server's ``serving ADDRESS PORT`` line."""
    out: IO[str] | None = server.stdout
    ready = out is not None and select.select([out], [], [], timeout)[0]
    line = out.readline().split() if ready and out is not None else []
    if len(line) != 3 or line[0] != "serving":
        server.kill()
        server.wait()
        raise LabError(f"webhook server did not start ({server.returncode}): {log_file.read_text().strip()[-800:]}")
    return line[1], int(line[2])


def _stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    for pipe in (server.stdin, server.stdout):
        if pipe is not None:
            pipe.close()


def _dry_run_creates(lab: Lab, n: int) -> None:
    """``n`` server-side dry-run ConfigMap creates in NAMESPACE, 8 at a time (each waits for the
    webhook); at least nine in ten must be admitted."""
    admin = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)  # type: ignore[no-untyped-call]
    api = client.CoreV1Api(admin)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="kpd-slow-"), data={"a": "b"})

    def create(_: int) -> bool:
        try:
            api.create_namespaced_config_map(NAMESPACE, body, dry_run="All")
        except client.ApiException:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        admitted = sum(pool.map(create, range(n)))
    if admitted < 0.9 * n:
        raise LabError(f"only {admitted} of {n} dry-run creates through the slow webhook were admitted")


def _backend(address: str, port: int) -> str:
    return f"""
{{apiVersion: v1, kind: Service, metadata: {{name: {SERVICE}, namespace: {NAMESPACE}}},
  spec: {{ports: [{{name: https, port: 443, targetPort: {port}}}]}}}}
---
{{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, addressType: IPv4,
  metadata: {{name: {SERVICE}-1, namespace: {NAMESPACE}, labels: {{kubernetes.io/service-name: {SERVICE}}}}},
  ports: [{{name: https, port: {port}, protocol: TCP}}],
  endpoints: [{{addresses: ["{address}"], conditions: {{ready: true}}}}]}}
"""


def _configuration(hook: str, ca: str) -> str:
    return f"""
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: {CONFIGURATION}}}
webhooks:
- name: {hook}
  clientConfig: {{service: {{namespace: {NAMESPACE}, name: {SERVICE}, path: /validate, port: 443}}, caBundle: {ca}}}
  rules: [{{operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [pods, configmaps]}}]
  namespaceSelector: {{matchLabels: {{kpd-test: {NAMESPACE}}}}}
  failurePolicy: Fail
  timeoutSeconds: 2
  sideEffects: None
  admissionReviewVersions: [v1]
"""


def _victim() -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {VICTIM}, namespace: {NAMESPACE}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {VICTIM}}}}}
  template:
    metadata: {{labels: {{app: {VICTIM}}}}}
    spec: {{containers: [{{name: app, image: "registry.k8s.io/pause:3.10"}}]}}
"""
