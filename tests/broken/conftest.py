"""Fixtures of the broken-API-server suite: a throwaway PKI made with the openssl CLI, a fake API
server (stdlib http.server, TLS by the ssl module, one thread per connection) whose every answer a
test can replace, a kubeconfig writer, and ``run_kpd``, which runs the real CLI as a subprocess.

The fake server answers like a healthy, empty cluster: /version, /livez and /readyz with ``[+]``
lines, and every list of ``kplanediag.collect.lists.LISTS`` with an empty JSON list. A test sets
``server.route`` to a function that returns a Reply for the requests it wants to break (None: the
healthy answer). Every request is counted, and no reply ever outlives the server: hanging and
trickling replies end when the test's server is closed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import pytest

from kplanediag.collect.lists import LISTS

ROOT = Path(__file__).parents[2]
VERSION = {"major": "1", "minor": "36", "gitVersion": "v1.36.2", "platform": "linux/amd64"}
HEALTHY_CHECKS = b"[+]ping ok\n[+]log ok\n[+]etcd ok\nlivez check passed\n"
LIST_KINDS = {call.path: f"{call.kind.__name__}List" for call in LISTS}
LIST_PATHS = tuple(LIST_KINDS)
PROBE_PATHS = ("/livez", "/readyz")
METRICS = "/metrics"
# a few lines of a real /metrics (the lab's v1.36.2), enough for etcd's size and an APF priority level
HEALTHY_METRICS = (
    b"# HELP apiserver_storage_size_bytes [STABLE] Size of the storage database file physically allocated in bytes.\n"
    b"# TYPE apiserver_storage_size_bytes gauge\n"
    b'apiserver_storage_size_bytes{storage_cluster_id="etcd-0"} 1.69984e+06\n'
    b'apiserver_flowcontrol_nominal_limit_seats{priority_level="workload-low"} 245\n'
)
TOKEN = "kpd-test-token-5f1e2d3c4b5a69788796a5b4c3d2e1f0"  # the bearer token the secret tests look for
GO_PLAIN_HTTP_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"


# --- PKI ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path

    def cert_pem(self) -> bytes:
        return self.cert.read_bytes()

    def key_pem(self) -> bytes:
        return self.key.read_bytes()


@dataclass(frozen=True)
class PKI:
    ca: Pair
    server: Pair  # signed by ca, for 127.0.0.1 and localhost
    client: Pair  # signed by ca, clientAuth
    rogue_ca: Pair
    rogue_server: Pair  # signed by rogue_ca: a server the kubeconfig's CA does not vouch for


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


def _ca(where: Path, name: str) -> Pair:
    pair = Pair(where / f"{name}.crt", where / f"{name}.key")
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", pair.key, "-out", pair.cert, "-days", "365", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return pair


def _leaf(where: Path, name: str, ca: Pair, subject: str, extensions: str) -> Pair:
    pair = Pair(where / f"{name}.crt", where / f"{name}.key")
    csr, ext = where / f"{name}.csr", where / f"{name}.ext"
    ext.write_text(extensions + "\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", pair.key, "-out", csr, "-subj", subject,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
        "-out", pair.cert, "-days", "365", "-extfile", ext,
    )  # fmt: skip
    return pair


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    where = tmp_path_factory.mktemp("pki")
    server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
    ca, rogue = _ca(where, "ca"), _ca(where, "rogue-ca")
    return PKI(
        ca=ca,
        server=_leaf(where, "server", ca, "/CN=kube-apiserver", server_ext),
        client=_leaf(where, "client", ca, "/O=system:masters/CN=kpd-test", "extendedKeyUsage=clientAuth"),
        rogue_ca=rogue,
        rogue_server=_leaf(where, "rogue-server", rogue, "/CN=kube-apiserver", server_ext),
    )


# --- the fake API server --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One answer of the fake server."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # > 0: the body one byte at a time, this many seconds apart
    hang: bool = False  # read the request, never answer (until the server closes)
    delay: float = 0.0  # seconds before answering
    raw: bytes | None = None  # these bytes instead of an HTTP answer, then the connection closes
    content_length: int | None = None  # a Content-Length other than the body's (then the connection closes)
    watch: float = 0.0  # > 0: a watch: the body, then the connection held this many seconds and closed
    date: str | None = None  # this answer's Date header (None: the server's)


@dataclass(frozen=True)
class Request:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # by lower-case name


Route = Callable[[Request], Reply | None]


def json_reply(doc: object, status: int = 200, **kwargs: Any) -> Reply:
    return Reply(status=status, body=json.dumps(doc).encode(), **kwargs)


def empty_list(path: str, **metadata: str) -> dict[str, Any]:
    return {"kind": LIST_KINDS.get(path, "List"), "apiVersion": "v1", "metadata": dict(metadata), "items": []}


def initial_events(request: Request) -> bytes:
    """A streaming list's initial events (sendInitialEvents=true) of the empty cluster: only the
    bookmark that ends them, as the API server sends it."""
    if request.query.get("sendInitialEvents") != "true":
        return b""
    meta = {"resourceVersion": "1", "annotations": {"k8s.io/initial-events-end": "true"}}
    kind = LIST_KINDS[request.path].removesuffix("List")
    return (
        json.dumps({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": "v1", "metadata": meta}}).encode()
        + b"\n"
    )


def healthy(request: Request) -> Reply:
    if request.path == "/version":
        return json_reply(VERSION)
    if request.path in PROBE_PATHS:
        return Reply(body=HEALTHY_CHECKS, content_type="text/plain; charset=utf-8")
    if request.path == METRICS:
        return Reply(body=HEALTHY_METRICS, content_type="text/plain; version=0.0.4; charset=utf-8")
    if request.path in LIST_KINDS and request.query.get("watch") == "true":  # nothing changes, then it ends
        return Reply(watch=float(request.query.get("timeoutSeconds", "60")), body=initial_events(request))
    if request.path in LIST_KINDS:
        return json_reply(empty_list(request.path, resourceVersion="1"))
    return json_reply({"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}, status=404)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    timeout = 60  # an idle connection does not keep its thread for ever

    def log_message(self, format: str, *args: Any) -> None:
        pass

    reply_date: str | None = None  # the Date of the answer being sent, if the reply has its own

    def date_time_string(self, timestamp: float | None = None) -> str:
        return self.reply_date or self.server.fake.date or super().date_time_string(timestamp)

    def do_GET(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(parts.path, dict(parse_qsl(parts.query)), headers)
        fake.saw(request)
        reply = (fake.route(request) if fake.route else None) or healthy(request)
        self.reply_date = reply.date
        if reply.delay:
            fake.closing.wait(reply.delay)
        if reply.hang:
            fake.closing.wait()
            self.close_connection = True
            return
        if reply.raw is not None:
            self.wfile.write(reply.raw)
            self.close_connection = True
            return
        if reply.watch:
            self._watch(reply, fake)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header(
            "Content-Length", str(len(reply.body) if reply.content_length is None else reply.content_length)
        )
        self.close_connection = reply.content_length is not None
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            if reply.trickle <= 0:
                self.wfile.write(reply.body)
                return
            for i in range(len(reply.body)):
                self.wfile.write(reply.body[i : i + 1])
                self.wfile.flush()
                if fake.closing.wait(reply.trickle):
                    self.close_connection = True
                    return
        except OSError:  # the client gave up: that is what these tests provoke
            self.close_connection = True

    def _watch(self, reply: Reply, fake: FakeAPIServer) -> None:
        """A watch answer: no length, the body (its events) at once, then silence until it ends."""
        self.close_connection = True
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(reply.body)
            self.wfile.flush()
            fake.closing.wait(reply.watch)
        except OSError:
            pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAPIServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        context = self.fake.tls
        if context is None:
            super().finish_request(request, client_address)
            return
        try:
            request.settimeout(10)
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != b"\x16":  # not a TLS handshake: answer as Go's TLS server does
                request.sendall(GO_PLAIN_HTTP_ANSWER)
                return
            wrapped = context.wrap_socket(request, server_side=True)
        except OSError:  # a failed handshake (the client refused our certificate) or a reset
            return
        subject: Any = (wrapped.getpeercert() or {}).get("subject", ())
        names = [value for rdn in subject for key, value in rdn if key == "commonName"]
        if names:
            self.fake.saw_client(names[0])
        try:
            wrapped.settimeout(None)
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is expected here


class FakeAPIServer:
    """An API server on 127.0.0.1 that answers what ``route`` says (None: healthy)."""

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        self.tls = tls
        self.route: Route | None = None
        self.date: str | None = None  # the Date header of every answer (default: now): the cluster's "now"
        self.closing = threading.Event()
        self.requests: list[Request] = []
        self.client_names: list[str] = []  # the CN of each verified client certificate, by connection
        self._lock = threading.Lock()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self.port: int = self._httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def saw_client(self, common_name: str) -> None:
        with self._lock:
            self.client_names.append(common_name)

    def saw(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(r.path for r in self.requests)

    def wait_for(self, path: str, timeout: float = 10) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.counts()[path]:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def server_context(pair: Pair, client_ca: Pair | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pair.cert, pair.key)
    if client_ca is not None:  # as kube-apiserver: a client certificate is optional, verified if sent
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(client_ca.cert)
    return context


@pytest.fixture
def make_server(pki: PKI) -> Iterator[Callable[..., FakeAPIServer]]:
    """``make_server(tls="ca"|"rogue"|None)``: a started fake API server, closed after the test."""
    servers: list[FakeAPIServer] = []

    def make(tls: str | None = "ca") -> FakeAPIServer:
        pair = {"ca": pki.server, "rogue": pki.rogue_server}.get(tls or "")
        server = FakeAPIServer(server_context(pair, pki.ca) if pair else None)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server: Callable[..., FakeAPIServer]) -> FakeAPIServer:
    """A TLS fake API server with a certificate of the test CA."""
    return make_server("ca")


# --- kubeconfig -----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_doc(
    server_url: str | None,
    pki: PKI,
    *,
    auth: str = "cert",
    cluster: Mapping[str, Any] | None = None,
    user: Mapping[str, Any] | None = None,
    context: str = "fake",
) -> dict[str, Any]:
    """A kubeconfig for ``server_url`` trusting the test CA. ``auth``: cert, token, both or none;
    ``cluster`` and ``user`` entries are merged over what that gives."""
    cluster_entry: dict[str, Any] = {"certificate-authority-data": b64(pki.ca.cert_pem())}
    if server_url is not None:
        cluster_entry["server"] = server_url
    user_entry: dict[str, Any] = {}
    if auth in ("cert", "both"):
        user_entry["client-certificate-data"] = b64(pki.client.cert_pem())
        user_entry["client-key-data"] = b64(pki.client.key_pem())
    if auth in ("token", "both"):
        user_entry["token"] = TOKEN
    cluster_entry.update(cluster or {})
    user_entry.update(user or {})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": cluster_entry}],
        "users": [{"name": "fake", "user": user_entry}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        "current-context": context,
    }


@pytest.fixture
def write_kubeconfig(tmp_path: Path, pki: PKI) -> Callable[..., Path]:
    """``write_kubeconfig(server_url, **kubeconfig_doc options)`` or ``write_kubeconfig(raw=text)``."""
    written = 0

    def write(server_url: str | None = None, *, raw: str | None = None, **options: Any) -> Path:
        nonlocal written
        written += 1
        path = tmp_path / f"kubeconfig-{written}"
        path.write_text(raw if raw is not None else json.dumps(kubeconfig_doc(server_url, pki, **options), indent=1))
        return path

    return write


# --- running the CLI ------------------------------------------------------------------------------


class Run(NamedTuple):
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_kb: int = 0  # measured only when asked for (spawn_kpd's peak)

    def json(self) -> dict[str, Any]:
        """stdout as exactly one JSON document (json.loads refuses trailing text)."""
        doc = json.loads(self.stdout)
        assert isinstance(doc, dict), self.stdout[:200]
        return doc

    def gaps(self) -> list[str]:
        return [str(g) for g in self.json().get("gaps", [])]

    def codes(self) -> list[str]:
        return [str(f["code"]) for f in self.json().get("findings", [])]


# Read once, at import, in the main thread: child_env runs in worker threads, and iterating
# os.environ there while pytest sets PYTEST_CURRENT_TEST raised KeyError (seen, 2026-12-07).
_BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "KPLANEDIAG_", "PYTEST_"))}


def child_env(tmpdir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a run: no kubeconfig or in-cluster hints leak in from the caller's."""
    env = dict(_BASE_ENV)
    env["PYTHONPATH"] = str(ROOT)
    env["KPLANEDIAG_NO_LAST_KNOWN"] = "1"  # the fake servers' snapshots are no cluster's last known state
    env.pop("PYTHONWARNINGS", None)
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    env.update(extra)
    return env


# ``python -m kplanediag`` that writes its peak RSS (VmHWM) to a file at exit. The rusage of a child
# is no measure: it counts the memory of the pytest process it was forked from.
_PEAK = r"""import atexit, re, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(out, "w") as file:
        file.write(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1))
atexit.register(peak)
sys.argv[0] = "kplanediag"
runpy.run_module("kplanediag", run_name="__main__", alter_sys=True)
"""


def spawn_kpd(args: list[str], env: Mapping[str, str] | None = None, peak: Path | None = None) -> subprocess.Popen[str]:
    """Start ``python -m kplanediag ARGS``; with ``peak``, its peak RSS in KiB is written there."""
    command = [sys.executable, "-m", "kplanediag"] if peak is None else [sys.executable, "-c", _PEAK, str(peak)]
    return subprocess.Popen(
        [*command, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(env) if env is not None else child_env(),
    )


def _kill(pid: int, killed: threading.Event) -> None:
    killed.set()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def finish(proc: subprocess.Popen[str], start: float, timeout: float) -> Run:
    """Wait for ``proc`` (killed after ``timeout``): its exit code, output and wall time."""
    out: dict[str, str] = {}

    def read(name: str, stream: Any) -> None:
        out[name] = stream.read()

    readers = [
        threading.Thread(target=read, args=(name, stream), daemon=True)
        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    killed = threading.Event()
    timer = threading.Timer(timeout, _kill, args=(proc.pid, killed))
    timer.start()
    try:
        _, status = os.waitpid(proc.pid, 0)
    finally:
        timer.cancel()
    seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(5)
    if killed.is_set():
        pytest.fail(f"kplanediag did not end within {timeout}s; stderr: {out.get('stderr', '')[-2000:]}")
    return Run(proc.returncode, out.get("stdout", ""), out.get("stderr", ""), seconds)


def run_kpd(args: list[str], timeout: float = 30, env: Mapping[str, str] | None = None) -> Run:
    """Run ``python -m kplanediag ARGS``: (code, stdout, stderr, seconds)."""
    start = time.monotonic()
    return finish(spawn_kpd(args, env), start, timeout)


# --- the closing table ----------------------------------------------------------------------------

ROWS: list[tuple[str, int, float, str, str]] = []
TABLE_ENV = "KPLANEDIAG_BROKEN_TABLE"  # a file to write "input | exit | seconds | peak | message" rows to


def record(case: str, run: Run, message: str) -> None:
    peak = f"{run.max_rss_kb / 1024:.0f}" if run.max_rss_kb else "-"
    ROWS.append((case, run.code, run.seconds, peak, message.replace("\n", " ").replace("|", "/")[:160]))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get(TABLE_ENV)
    if target and ROWS:
        lines = ["| bad input | exit | seconds | peak RSS (MiB) | message |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {c} | {code} | {secs:.2f} | {peak} | {msg} |" for c, code, secs, peak, msg in sorted(ROWS)]
        Path(target).write_text("\n".join(lines) + "\n")
