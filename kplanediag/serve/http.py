"""``serve``'s HTTP server: a thread per connection, each bounded in time and number, TLS when given a
certificate, a bearer token for every path but the two probes; what each path answers is routes.py."""

from __future__ import annotations

import contextlib
import hmac
import socket
import ssl
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kplanediag.serve.routes import ROUTES, TEXT
from kplanediag.serve.state import State, View
from kplanediag.serve.token import TokenFile

OPEN_PATHS = ("/healthz", "/readyz")  # kubelet probes send no token; they tell only up / ready
CONNECTION_TIMEOUT = 30.0  # seconds a request may take, from its first byte awaited to its answer sent
MAX_CONNECTIONS = 64  # open at once (a thread each); past it the one waiting longest for its request goes


def log(line: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} kplanediag serve: {line}", file=sys.stderr, flush=True)


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client never keeps the process from exiting
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: State, token: TokenFile | None, family: int) -> None:
        self.address_family = family
        self.state = state
        self.token = token
        self._cache: dict[str, tuple[int, bytes]] = {}
        self._cache_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._waiting: dict[int, socket.socket] = {}  # connections still sending a request, oldest first
        self._waiting_lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, socket.socket]] = {}  # requests under way: when each is cut
        self._closed = threading.Event()
        threading.Thread(target=self._watchdog, name="serve-watchdog", daemon=True).start()
        super().__init__(address, Handler)

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def started(self, connection: socket.socket) -> None:
        """A request begins on ``connection``: it has CONNECTION_TIMEOUT as a whole."""
        with self._waiting_lock:
            self._waiting[id(connection)] = connection
            self._deadlines[id(connection)] = (time.monotonic() + CONNECTION_TIMEOUT, connection)

    def ended(self, connection: socket.socket) -> None:
        with self._waiting_lock:
            self._waiting.pop(id(connection), None)
            self._deadlines.pop(id(connection), None)

    def _watchdog(self) -> None:
        """One thread for every request's deadline (not a timer thread each): a request past it is
        cut off, however often its client sends a byte."""
        while not self._closed.wait(min(0.25, CONNECTION_TIMEOUT / 4)):
            now = time.monotonic()
            with self._waiting_lock:
                late = [c for key, (when, c) in list(self._deadlines.items()) if when < now]
                for c in late:
                    self._deadlines.pop(id(c), None)
                    self._waiting.pop(id(c), None)
            for connection in late:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)  # the blocked read returns: the thread ends

    def answering(self, connection: socket.socket) -> None:
        """The request on ``connection`` is in: it is answered, no longer evictable."""
        with self._waiting_lock:
            self._waiting.pop(id(connection), None)

    def _evict_oldest_waiting(self) -> bool:
        """Cut off the connection that has waited longest for its request: under a slowloris the
        slow ones are the old ones, and a real client's request arrives in milliseconds."""
        with self._waiting_lock:
            if not self._waiting:
                return False
            connection = self._waiting.pop(next(iter(self._waiting)))
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
        return True

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection while fewer than MAX_CONNECTIONS are open; past that, the
        connection waiting longest for its request is cut off to make room (else this one is closed)."""
        if not self._slots.acquire(blocking=False) and not (
            self._evict_oldest_waiting() and self._slots.acquire(timeout=1.0)
        ):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        log(f"request from {client_address[0] if client_address else '?'} failed: {type(exc).__name__}: {exc}")

    def rendered(self, path: str, view: View, render: Any) -> bytes:
        """The answer for ``path`` at this generation, rendered once."""
        with self._cache_lock:
            hit = self._cache.get(path)
            if hit is not None and hit[0] == view.generation:
                return hit[1]
        body: bytes = render()
        with self._cache_lock:
            self._cache[path] = (view.generation, body)
        return body


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    timeout = CONNECTION_TIMEOUT
    server_version = "kplanediag"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per check is logged; a line per scrape would drown it

    def handle_one_request(self) -> None:
        """One request within CONNECTION_TIMEOUT as a whole: a client that trickles its request a
        byte at a time (each read within the socket's timeout) is cut off when it is spent."""
        self.server.started(self.connection)
        try:
            super().handle_one_request()
        finally:
            self.server.ended(self.connection)

    def do_HEAD(self) -> None:
        self.server.answering(self.connection)  # the request is in: no longer evictable
        self.answer(head=True)

    def do_GET(self) -> None:
        self.server.answering(self.connection)
        self.answer(head=False)

    def authorised(self) -> bool:
        if self.server.token is None or self.path.split("?", 1)[0] in OPEN_PATHS:
            return True
        token = self.server.token.current()
        given = self.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token)

    def answer(self, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        if not self.authorised():
            self.send(401, TEXT, b"unauthorized: send Authorization: Bearer <token>\n", head, auth=True)
            return
        route = ROUTES.get(path)
        if route is None:
            self.send(404, TEXT, b"not found: /, /metrics, /report.json, /healthz, /readyz\n", head)
            return
        try:
            status, content_type, body, extra = route(self.server, self.server.state.view())
        except Exception as exc:  # a page that cannot be rendered is a 500, never a dead server
            log(f"{path} could not be rendered: {type(exc).__name__}: {exc}")
            self.send(500, TEXT, f"internal error: {type(exc).__name__}\n".encode(), head)
            return
        self.send(status, content_type, body, head, headers=extra)

    def send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        head: bool,
        auth: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if auth:
            self.send_header("WWW-Authenticate", 'Bearer realm="kplanediag"')
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def parse_listen(listen: str) -> tuple[str, int, int]:
    """``:8080``, ``0.0.0.0:8080``, ``127.0.0.1:0``, ``[::]:8080``: (host, port, address family)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{listen!r} is not HOST:PORT (e.g. :8080, 127.0.0.1:9000, [::]:8080)")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return host, int(port), family


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def make_server(listen: str, state: State, token: TokenFile | None, tls: ssl.SSLContext | None) -> Server:
    host, port, family = parse_listen(listen)
    server = Server((host, port), state, token, family)
    if tls is not None:
        # the handshake happens in the request's own thread (at its first read), not in accept()
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def url(server: Server, tls: bool) -> str:
    address = server.server_address
    host, port = str(address[0]), int(address[1])
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"
