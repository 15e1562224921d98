"""kubeconfig parity with kubectl, against the real cluster: impersonation with real RBAC identities,
proxies (a CONNECT proxy written here, on 127.0.0.1, counting its tunnels), tls-server-name, exec
credential plugins, and $KUBECONFIG lists. Where kubectl's own behaviour is the reference (which
requests it proxies, which file wins), the lab's pinned kubectl runs with the same kubeconfig and
environment and the two must agree.

The identities are cluster objects named ``kpd-parity-*`` (a namespace, a ServiceAccount allowed to
impersonate only the test's own names, a ClusterRole with deploy/rbac.yaml's rules bound to the
user ``kpd-parity-reader`` and the group ``kpd-parity-readers``), created by the module fixture and
deleted after it. Where kubectl runs beside kplanediag with the same kubeconfig, it runs as another
ServiceAccount (``kpd-parity-kubectl`` in ``default``, its token swapped in), so that the reader's
identity stays kplanediag's alone, as test_read_only checks. The impersonator is a ServiceAccount,
not the admin, so that the lab's audit log records its requests (the admin's are not logged): every
request of a check, lists, /version, /livez, /readyz and /metrics, must carry the impersonated user
and uid.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pty
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from kplanediag.collect.certificate import parse_certificate
from lab import labctl
from tests.e2e.conftest import Cluster

NS = "kpd-parity"
LABEL = "kpd-parity=e2e"
IMPERSONATOR = "kpd-parity-impersonator"
READER, NOBODY, SOMEONE = "kpd-parity-reader", "kpd-parity-nobody", "kpd-parity-someone"
READERS, OTHERS, UID = "kpd-parity-readers", "kpd-parity-other", "kpd-parity-uid-1"


# --- the cluster as the tests see it -----------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    cluster: Cluster
    server: str  # the reader kubeconfig's server URL (https://127.0.0.1:PORT)
    ca: str  # base64 PEM of the cluster's CA
    token: str  # deploy/rbac.yaml's ServiceAccount's token
    san_name: str  # a DNS name of the serving certificate that is not localhost
    bystander: str  # the token kubectl uses beside kplanediag: another ServiceAccount's

    @property
    def port(self) -> int:
        return urlsplit(self.server).port or 443

    def kubeconfig(self, path: Path, user: dict[str, Any], server: str | None = None, **cluster: Any) -> Path:
        """A kubeconfig of one context: the cluster's CA, ``server`` (default: the real one), ``user``."""
        entry = {"server": server or self.server, "certificate-authority-data": self.ca, **cluster}
        return write(path, "kpd-parity-lab", entry, user)

    def check(
        self, config: Path, *args: str, env: dict[str, str] | None = None, stdin: int | None = subprocess.DEVNULL
    ) -> tuple[int, dict[str, Any], str]:
        """``kplanediag check -o json`` with ``config``: (exit code, the document, stderr)."""
        proc = subprocess.run(
            [sys.executable, "-m", "kplanediag", "check", "-o", "json", "--kubeconfig", str(config), *args],
            capture_output=True, text=True, timeout=90, check=False, stdin=stdin, env={**clean_env(), **(env or {})},
        )  # fmt: skip
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.stdout.startswith("{"), f"exit {proc.returncode}: {proc.stderr}"
        return proc.returncode, json.loads(proc.stdout), proc.stderr

    def kubectl(
        self, *args: str, env: dict[str, str] | None = None, kubeconfig: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kubectl_binary(), "--kubeconfig", str(kubeconfig or self.cluster.kubeconfig), *args],
            capture_output=True, text=True, timeout=60, check=False, env={**clean_env(), **(env or {})},
        )  # fmt: skip

    def kubectl_beside(
        self, config: Path, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """kubectl with a copy of ``config`` whose tokens are the bystander's: the same cluster entry,
        proxy and TLS settings, but not kplanediag's identity."""
        data = yaml.safe_load(config.read_text())
        for user in data["users"]:
            if user["user"].get("token") == self.token:
                user["user"]["token"] = self.bystander
        twin = config.with_name(config.name + ".kubectl")
        twin.touch(mode=0o600)
        twin.write_text(yaml.safe_dump(data))
        return self.kubectl(*args, env=env, kubeconfig=twin)


BYSTANDER = "kpd-parity-kubectl"


def kubectl_binary() -> str:
    return str(labctl.default_lab().bin / "kubectl")


def clean_env() -> dict[str, str]:
    """This process's environment without proxies or a KUBECONFIG of its own."""
    drop = {"KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def write(path: Path, name: str, cluster: dict[str, Any], user: dict[str, Any], context: str | None = None) -> Path:
    context = context or name
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": name, "user": name}}],
        "current-context": context,
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config))
    return path


def serving_names(server: str) -> tuple[str, ...]:
    """The DNS names of the API server's serving certificate (read without verifying it)."""
    parts = urlsplit(server)
    pem = ssl.get_server_certificate((parts.hostname or "127.0.0.1", parts.port or 443), timeout=5)
    certificate = parse_certificate(ssl.PEM_cert_to_DER_cert(pem))
    assert certificate is not None
    return certificate.dns_names


@pytest.fixture(scope="module")
def lab(cluster: Cluster) -> Iterator[Lab]:
    reader = yaml.safe_load(cluster.reader.read_text())
    entry = reader["clusters"][0]["cluster"]
    ca = (
        entry.get("certificate-authority-data")
        or base64.b64encode(Path(entry["certificate-authority"]).read_bytes()).decode()
    )
    names = [n for n in serving_names(entry["server"]) if n != "localhost" and not n.startswith("*")]
    assert names, "the serving certificate has no DNS name to test tls-server-name and proxies with"
    name = "kubernetes" if "kubernetes" in names else names[0]
    lab = Lab(cluster, entry["server"], ca, reader["users"][0]["user"]["token"], name, "")
    lab.kubectl("create", "serviceaccount", BYSTANDER, "-n", "default")  # may be left by a killed run
    try:
        bystander = lab.kubectl("create", "token", BYSTANDER, "-n", "default", "--duration", "1h").stdout.strip()
        assert bystander, f"no token for the ServiceAccount default/{BYSTANDER}"
        yield Lab(cluster, lab.server, ca, lab.token, name, bystander)
    finally:
        lab.kubectl("delete", "serviceaccount", BYSTANDER, "-n", "default", "--ignore-not-found")


# --- impersonation -----------------------------------------------------------------------------------


def identities_manifest() -> str:
    docs = list(yaml.safe_load_all(labctl.RBAC.read_text()))
    reader_rules = next(d for d in docs if d["kind"] == "ClusterRole")["rules"]
    subjects = [
        {"kind": "User", "name": READER, "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "Group", "name": READERS, "apiGroup": "rbac.authorization.k8s.io"},
    ]
    labels = {"kpd-parity": "e2e"}
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": labels}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": IMPERSONATOR, "namespace": NS}},
        role("ClusterRole", READER, None, reader_rules),
        binding("ClusterRoleBinding", READER, None, "ClusterRole", subjects),
        role(
            "ClusterRole",
            IMPERSONATOR,
            None,
            [
                {
                    "apiGroups": [""],
                    "resources": ["users"],
                    "verbs": ["impersonate"],
                    "resourceNames": [READER, NOBODY, SOMEONE],
                },
                impersonate("", "groups", READERS, OTHERS),
                impersonate("authentication.k8s.io", "uids", UID),
            ],
        ),
        binding(
            "ClusterRoleBinding", IMPERSONATOR, None, "ClusterRole",
            [{"kind": "ServiceAccount", "name": IMPERSONATOR, "namespace": NS}],
        ),
    ]  # fmt: skip
    for lease_role in (d for d in docs if d["kind"] == "Role"):
        namespace = lease_role["metadata"]["namespace"]
        out.append(role("Role", "kpd-parity-leases", namespace, lease_role["rules"]))
        out.append(binding("RoleBinding", "kpd-parity-leases", namespace, "Role", subjects))
    return yaml.safe_dump_all(out)


def impersonate(group: str, resource: str, *names: str) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": [resource], "verbs": ["impersonate"], "resourceNames": list(names)}


def role(kind: str, name: str, namespace: str | None, rules: list[dict[str, Any]]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {"kpd-parity": "e2e"}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, "rules": rules}


def binding(
    kind: str, name: str, namespace: str | None, role_kind: str, subjects: list[dict[str, Any]]
) -> dict[str, Any]:
    doc = role(kind, name, namespace, [])
    del doc["rules"]
    doc["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name}
    doc["subjects"] = subjects
    return doc


def delete_identities(lab: Lab) -> None:
    lab.kubectl("delete", "clusterrole,clusterrolebinding", "-l", LABEL, "--ignore-not-found")
    for namespace in ("kube-system", "kube-node-lease"):
        lab.kubectl("delete", "role,rolebinding", "-n", namespace, "-l", LABEL, "--ignore-not-found")
    lab.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false")


def can_i(lab: Lab, *args: str) -> bool:
    return lab.kubectl("auth", "can-i", *args).stdout.strip() == "yes"


@pytest.fixture(scope="module")
def impersonator(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A kubeconfig of the ServiceAccount that may impersonate the test's identities (and nothing else)."""
    if lab.kubectl("get", "namespace", NS).returncode == 0:
        delete_identities(lab)  # a run that was killed
        labctl.wait_for(f"namespace {NS} gone", lambda: lab.kubectl("get", "namespace", NS).returncode != 0, 60)
    applied = subprocess.run(
        [kubectl_binary(), "--kubeconfig", str(lab.cluster.kubeconfig), "apply", "-f", "-"],
        input=identities_manifest(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    try:
        sa = f"system:serviceaccount:{NS}:{IMPERSONATOR}"
        labctl.wait_for(
            "the authorizer to see the identities",
            lambda: (
                can_i(lab, "list", "nodes", "--as", READER)
                and can_i(lab, "list", "nodes", "--as", SOMEONE, "--as-group", READERS)
                and can_i(lab, "impersonate", "users/" + READER, "--as", sa)
                and not can_i(lab, "list", "nodes", "--as", NOBODY)
            ),
            30,
            0.2,
        )
        token = lab.kubectl("create", "token", IMPERSONATOR, "-n", NS, "--duration", "1h").stdout.strip()
        assert token
        yield lab.kubeconfig(tmp_path_factory.mktemp("impersonator") / "kubeconfig", {"token": token})
    finally:
        delete_identities(lab)


def list_gaps(doc: dict[str, Any]) -> list[str]:
    return [g for g in doc["gaps"] if g.endswith(": forbidden") or "forbidden (" in g]


def test_as_a_user_without_rights_every_list_is_a_forbidden_gap(lab: Lab, impersonator: Path) -> None:
    code, doc, _ = lab.check(impersonator, "--as", NOBODY)
    gaps = doc["gaps"]
    assert {"nodes: forbidden", "pods: forbidden", "leases (kube-system): forbidden"} <= set(gaps), gaps
    assert all("forbidden" in g for g in gaps), gaps  # nothing else went wrong
    assert code == 1, (code, doc["summary"])  # gaps are warnings; the API server itself answered
    # the control: the impersonator itself has no list rights either, but answers what it is
    _, own, _ = lab.check(impersonator)
    assert "nodes: forbidden" in own["gaps"]


def test_as_the_reader_the_check_is_complete(lab: Lab, impersonator: Path) -> None:
    code, doc, _ = lab.check(impersonator, "--as", READER)
    assert doc["gaps"] == [], doc["gaps"]
    reference_code, reference = lab.cluster.report()  # deploy/rbac.yaml's ServiceAccount, not impersonated
    assert sorted(c["name"] for c in doc["components"]) == sorted(c["name"] for c in reference["components"])
    assert code == reference_code


def test_each_group_is_a_header_of_its_own(lab: Lab, impersonator: Path) -> None:
    """The reader's rights come through the second of two groups: only a repeated Impersonate-Group
    header gives them (one header "a,b" would be a single group of that name)."""
    _, doc, _ = lab.check(impersonator, "--as", SOMEONE, "--as-group", OTHERS, "--as-group", READERS)
    assert doc["gaps"] == [], doc["gaps"]
    _, control, _ = lab.check(impersonator, "--as", SOMEONE, "--as-group", OTHERS)
    assert "nodes: forbidden" in control["gaps"]
    # given before the command, as kubectl users type them
    proc = subprocess.run(
        [sys.executable, "-m", "kplanediag", "--as", SOMEONE, "--as-group", READERS, "check", "-o", "json",
         "--kubeconfig", str(impersonator)],
        capture_output=True, text=True, timeout=90, check=False, env=clean_env(),
    )  # fmt: skip
    assert json.loads(proc.stdout)["gaps"] == [], proc.stderr


def test_the_kubeconfig_users_as_fields_and_the_options_over_them(lab: Lab, impersonator: Path, tmp_path: Path) -> None:
    token = yaml.safe_load(impersonator.read_text())["users"][0]["user"]["token"]
    as_nobody = lab.kubeconfig(tmp_path / "nobody", {"token": token, "as": NOBODY})
    _, doc, _ = lab.check(as_nobody)
    assert "nodes: forbidden" in doc["gaps"]
    _, doc, _ = lab.check(as_nobody, "--as", READER)  # the option replaces the user's `as`
    assert doc["gaps"] == [], doc["gaps"]
    grouped = lab.kubeconfig(tmp_path / "grouped", {"token": token, "as": SOMEONE, "as-groups": [OTHERS, READERS]})
    _, doc, _ = lab.check(grouped)
    assert doc["gaps"] == [], doc["gaps"]
    _, doc, _ = lab.check(grouped, "--as-group", OTHERS)  # --as-group replaces the whole list
    assert "nodes: forbidden" in doc["gaps"]
    # kubectl agrees on each: the same identities allowed and refused
    assert lab.kubectl("get", "nodes", "-o", "name", kubeconfig=as_nobody).returncode != 0
    assert lab.kubectl("get", "nodes", "-o", "name", kubeconfig=grouped).returncode == 0


def test_every_request_carries_the_impersonation(lab: Lab, impersonator: Path) -> None:
    """The audit log: each request of one check (lists, /version, /livez, /readyz, /metrics) was
    made by the impersonator as the reader, with the uid."""
    if lab.cluster.target != "lab":
        pytest.skip("the audit log is the lab API server's")
    log = labctl.default_lab().audit_log
    offset = log.stat().st_size
    _, doc, _ = lab.check(impersonator, "--as", READER, "--as-uid", UID)
    assert doc["gaps"] == [], doc["gaps"]
    sa = f"system:serviceaccount:{NS}:{IMPERSONATOR}"
    deadline = time.monotonic() + 10
    while True:
        with log.open("rb") as handle:
            handle.seek(offset)
            lines = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
        mine = [e for e in lines if e.get("user", {}).get("username") == sa and e.get("stage") == "ResponseComplete"]
        paths = {urlsplit(e["requestURI"]).path for e in mine}
        if {"/version", "/livez", "/readyz", "/metrics", "/api/v1/nodes"} <= paths or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert {"/version", "/livez", "/readyz", "/metrics", "/api/v1/nodes"} <= paths, sorted(paths)
    wrong = [e["requestURI"] for e in mine if (e.get("impersonatedUser") or {}).get("username") != READER]
    assert not wrong, f"requests without the impersonation: {wrong}"
    assert {(e["impersonatedUser"] or {}).get("uid") for e in mine} == {UID}
    assert len(mine) >= 10, len(mine)


# --- proxies -----------------------------------------------------------------------------------------


class TunnelProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy on 127.0.0.1 that opens tunnels to one port of 127.0.0.1 only, whatever
    host name it is asked for, and counts them (``targets``: the CONNECT target of each tunnel)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.targets: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Tunnel)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self) -> int:
        with self.lock:
            return len(self.targets)


class _Tunnel(socketserver.BaseRequestHandler):
    server: TunnelProxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        port = int(target.rsplit(":", 1)[1]) if ":" in target else 0
        if method != "CONNECT" or port != self.server.upstream_port:
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        with self.server.lock:
            self.server.targets.append(target)
        upstream = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)
        pump = threading.Thread(target=_copy, args=(upstream, self.request), daemon=True)
        pump.start()
        _copy(self.request, upstream)
        pump.join(30)

    def finish(self) -> None:
        self.request.close()


def _copy(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def tunnel(lab: Lab) -> Iterator[TunnelProxy]:
    proxy = TunnelProxy(lab.port)
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def named_server(lab: Lab) -> str:
    """The server's URL with a host name of its certificate instead of 127.0.0.1: a name no resolver
    here answers, so that a request that went around the proxy would fail, never succeed."""
    return f"https://{lab.san_name}:{lab.port}"


def test_proxy_url_routes_every_request_and_wins_over_no_proxy(lab: Lab, tunnel: TunnelProxy, tmp_path: Path) -> None:
    config = lab.kubeconfig(tmp_path / "k", {"token": lab.token}, server=named_server(lab), **{"proxy-url": tunnel.url})
    env = {"NO_PROXY": "*"}  # kubectl applies NO_PROXY to the environment's proxy only
    code, doc, _ = lab.check(config, env=env)
    assert doc["gaps"] == [], doc["gaps"]  # every request answered: each went through the proxy
    assert code in (0, 1, 2) and doc["cluster"]["server"] == named_server(lab)
    assert tunnel.count() >= 1 and set(tunnel.targets) == {f"{lab.san_name}:{lab.port}"}
    before = tunnel.count()
    assert lab.kubectl_beside(config, "get", "--raw", "/version", env=env).returncode == 0
    assert tunnel.count() == before + 1  # kubectl: the same tunnel for the same kubeconfig


def test_https_proxy_routes_every_request(lab: Lab, tunnel: TunnelProxy, tmp_path: Path) -> None:
    config = lab.kubeconfig(tmp_path / "k", {"token": lab.token}, server=named_server(lab))
    env = {"HTTPS_PROXY": tunnel.url, "NO_PROXY": "example.com,10.0.0.0/8"}
    _, doc, stderr = lab.check(config, "-v", env=env)
    assert doc["gaps"] == [], doc["gaps"]
    assert f"through the proxy {tunnel.url} (from HTTPS_PROXY)" in stderr
    assert tunnel.count() >= 1 and set(tunnel.targets) == {f"{lab.san_name}:{lab.port}"}
    before = tunnel.count()
    assert lab.kubectl_beside(config, "get", "--raw", "/version", env=env).returncode == 0
    assert tunnel.count() == before + 1


def test_no_proxy_and_loopback_bypass_the_environments_proxy(lab: Lab, tunnel: TunnelProxy, tmp_path: Path) -> None:
    """With the server at 127.0.0.1: NO_PROXY=127.0.0.1 bypasses HTTPS_PROXY; and, as Go's
    ProxyFromEnvironment never proxies a loopback address, so does no NO_PROXY, for kubectl too."""
    config = lab.kubeconfig(tmp_path / "k", {"token": lab.token})
    for env in ({"HTTPS_PROXY": tunnel.url, "NO_PROXY": "127.0.0.1"}, {"HTTPS_PROXY": tunnel.url}):
        _, doc, _ = lab.check(config, env=env)
        assert doc["gaps"] == [], doc["gaps"]
        assert lab.kubectl_beside(config, "get", "--raw", "/version", env=env).returncode == 0
        assert tunnel.count() == 0, (env, tunnel.targets)
    # named, not loopback: NO_PROXY of that name would send it directly (where it does not resolve);
    # a NO_PROXY that does not match leaves it on the proxy
    named = lab.kubeconfig(tmp_path / "n", {"token": lab.token}, server=named_server(lab))
    _, doc, _ = lab.check(named, env={"HTTPS_PROXY": tunnel.url, "NO_PROXY": "127.0.0.1,other." + lab.san_name})
    assert doc["gaps"] == [] and tunnel.count() >= 1


# --- tls-server-name ---------------------------------------------------------------------------------


def test_tls_server_name_is_the_name_the_certificate_is_verified_against(lab: Lab, tmp_path: Path) -> None:
    right = lab.kubeconfig(tmp_path / "right", {"token": lab.token}, **{"tls-server-name": lab.san_name})
    _, doc, _ = lab.check(right)
    assert doc["gaps"] == [], doc["gaps"]
    wrong = lab.kubeconfig(tmp_path / "wrong", {"token": lab.token}, **{"tls-server-name": "kpd-parity-wrong.invalid"})
    code, doc, _ = lab.check(wrong)
    assert code == 3 and doc["error"]["class"] == "tls", doc
    assert "tls-server-name 'kpd-parity-wrong.invalid'" in doc["error"]["message"], doc["error"]
    # kubectl: the same two answers
    assert lab.kubectl_beside(right, "get", "--raw", "/version").returncode == 0
    refused = lab.kubectl_beside(wrong, "get", "--raw", "/version")
    assert refused.returncode != 0 and "x509" in refused.stderr, refused.stderr
    if "localhost" not in serving_names(lab.server):  # a URL host the certificate does not name
        at_localhost = f"https://localhost:{lab.port}"
        plain = lab.kubeconfig(tmp_path / "plain", {"token": lab.token}, server=at_localhost)
        code, doc, _ = lab.check(plain)
        assert code == 3 and doc["error"]["class"] == "tls", doc
        named = lab.kubeconfig(
            tmp_path / "named", {"token": lab.token}, server=at_localhost, **{"tls-server-name": lab.san_name}
        )
        _, doc, _ = lab.check(named)
        assert doc["gaps"] == [], doc["gaps"]


# --- exec credential plugins -------------------------------------------------------------------------

PLUGIN = """#!{python}
import json, os, sys
with open({record!r}, "w") as f:
    json.dump({{"info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]), "stdin_tty": os.isatty(0)}}, f)
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                   "status": json.load(open({status!r}))}}))
"""


def plugin_kubeconfig(lab: Lab, tmp_path: Path, status: dict[str, str], mode: str) -> tuple[Path, Path]:
    record, status_file, plugin = tmp_path / "record.json", tmp_path / "status.json", tmp_path / "plugin"
    record.unlink(missing_ok=True)
    status_file.touch(mode=0o600)
    status_file.write_text(json.dumps(status))
    plugin.write_text(PLUGIN.format(python=sys.executable, record=str(record), status=str(status_file)))
    plugin.chmod(0o700)
    exec_entry = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": str(plugin),
        "interactiveMode": mode,
        "provideClusterInfo": True,
    }
    return lab.kubeconfig(tmp_path / "kubeconfig", {"exec": exec_entry}), record


def test_exec_plugin_token_with_the_cluster_info(lab: Lab, tmp_path: Path) -> None:
    config, record = plugin_kubeconfig(lab, tmp_path, {"token": lab.token}, "IfAvailable")
    _, doc, _ = lab.check(config)
    assert doc["gaps"] == [], doc["gaps"]
    seen = json.loads(record.read_text())
    cluster_info = seen["info"]["spec"]["cluster"]
    assert cluster_info["server"] == lab.server and cluster_info["certificate-authority-data"] == lab.ca
    assert seen["info"]["spec"]["interactive"] is False and seen["stdin_tty"] is False  # no terminal given
    # kubectl runs the same plugin with the same cluster info (the plugin hands it the bystander's token)
    record.unlink()
    (tmp_path / "status.json").write_text(json.dumps({"token": lab.bystander}))
    assert lab.kubectl("get", "--raw", "/version", kubeconfig=config).returncode == 0
    assert json.loads(record.read_text())["info"]["spec"]["cluster"]["server"] == cluster_info["server"]


def test_exec_plugin_client_certificate(lab: Lab, tmp_path: Path) -> None:
    admin = yaml.safe_load(lab.cluster.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    user = next(u for u in admin["users"] if u["name"] == context["user"])["user"]

    def pem(key: str) -> str | None:
        if user.get(f"{key}-data"):
            return base64.b64decode(user[f"{key}-data"]).decode()
        if user.get(key):
            base = lab.cluster.kubeconfig.parent
            return (base / str(user[key])).read_text()
        return None

    certificate, key = pem("client-certificate"), pem("client-key")
    if not (certificate and key):
        pytest.skip("the admin kubeconfig has no client certificate to hand out")
    config, _ = plugin_kubeconfig(lab, tmp_path, {"clientCertificateData": certificate, "clientKeyData": key}, "Never")
    _, doc, _ = lab.check(config)
    assert doc["gaps"] == [], doc["gaps"]


def test_exec_interactive_mode_always(lab: Lab, tmp_path: Path) -> None:
    config, record = plugin_kubeconfig(lab, tmp_path, {"token": lab.token}, "Always")
    code, doc, _ = lab.check(config)  # standard input: /dev/null
    assert code == 3 and doc["error"]["class"] == "credentials", doc
    assert "standard input is not a terminal" in doc["error"]["message"]
    assert not record.exists()  # refused before the plugin ran, as kubectl refuses
    refused = lab.kubectl("get", "--raw", "/version", kubeconfig=config)
    assert refused.returncode != 0 and "not a terminal" in refused.stderr, refused.stderr
    # on a terminal the plugin runs, told it is interactive (kplanediag itself still asks nothing)
    leader, follower = pty.openpty()
    try:
        _, doc, _ = lab.check(config, stdin=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert doc["gaps"] == [], doc["gaps"]
    seen = json.loads(record.read_text())
    assert seen["info"]["spec"]["interactive"] is True and seen["stdin_tty"] is True


# --- $KUBECONFIG lists -------------------------------------------------------------------------------


def test_kubeconfig_list_merged_as_kubectl_merges_it(lab: Lab, tmp_path: Path) -> None:
    """Two files naming the same cluster, user and context: the first file's win, and the first
    file's current-context; kubectl's ``config view --minify`` names the same server."""
    real = {"server": lab.server, "certificate-authority-data": lab.ca}
    first = write(tmp_path / "first", "kpd-parity-lab", real, {"token": lab.token}, context="kpd-parity-merged")
    closed = {"server": "https://127.0.0.1:1", "certificate-authority-data": lab.ca}
    second = write(tmp_path / "second", "kpd-parity-lab", closed, {"token": "wrong"}, context="kpd-parity-second")
    data = yaml.safe_load(second.read_text())
    data["contexts"].append({"name": "kpd-parity-merged", "context": {"cluster": "nowhere", "user": "nobody"}})
    second.write_text(yaml.safe_dump(data))
    for files, server, context in (
        ((first, second), lab.server, "kpd-parity-merged"),
        ((second, first), "https://127.0.0.1:1", "kpd-parity-second"),
    ):
        env = {"KUBECONFIG": os.pathsep.join(str(f) for f in (tmp_path / "missing", *files))}
        proc = subprocess.run(
            [sys.executable, "-m", "kplanediag", "check", "-o", "json", "--request-timeout", "2"],
            capture_output=True, text=True, timeout=90, check=False, env={**clean_env(), **env},
        )  # fmt: skip
        doc = json.loads(proc.stdout)
        assert doc["cluster"]["server"] == server, (files, proc.stderr)
        assert proc.returncode == (2 if server.endswith(":1") else doc_code(doc)), proc.stderr
        view = subprocess.run(
            [kubectl_binary(), "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"],
            capture_output=True, text=True, timeout=60, check=False, env={**clean_env(), **env},
        )  # fmt: skip
        assert view.stdout.strip() == server, view.stderr
        current = subprocess.run(
            [kubectl_binary(), "config", "current-context"],
            capture_output=True, text=True, timeout=60, check=False, env={**clean_env(), **env},
        )  # fmt: skip
        assert current.stdout.strip() == context, current.stderr
    # the first file's context of that name, even when given explicitly
    env = {"KUBECONFIG": f"{first}{os.pathsep}{second}"}
    proc = subprocess.run(
        [sys.executable, "-m", "kplanediag", "check", "-o", "json", "--context", "kpd-parity-merged"],
        capture_output=True, text=True, timeout=90, check=False, env={**clean_env(), **env},
    )  # fmt: skip
    assert json.loads(proc.stdout)["gaps"] == [], proc.stderr


def doc_code(doc: dict[str, Any]) -> int:
    """The exit code a report's summary status gives with the default --fail-on warning."""
    return {"healthy": 0, "warning": 1, "critical": 2}[doc["summary"]["status"]]
