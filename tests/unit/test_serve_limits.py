"""serve's HTTP side against slow and many clients, in process (the real Server and Handler, with a
real State and CONNECTION_TIMEOUT shortened): a request trickled a byte at a time is cut off when
its time is spent, and connections past MAX_CONNECTIONS are closed at once, never queued."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kplanediag.serve import http
from kplanediag.serve.state import State


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[http.Server]:
    monkeypatch.setattr(http, "CONNECTION_TIMEOUT", 1.5)
    monkeypatch.setattr(http, "MAX_CONNECTIONS", 4)
    srv = http.make_server("127.0.0.1:0", State(interval=1.0), None, None)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def connect(srv: http.Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", int(srv.server_address[1])), timeout=5)


def test_a_trickled_request_is_cut_off_when_its_time_is_spent(server: http.Server) -> None:
    sock = connect(server)
    start = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    closed_at = None
    for byte in request:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            closed_at = time.monotonic() - start
            break
        sock.settimeout(0.3)
        try:
            if sock.recv(1) == b"":
                closed_at = time.monotonic() - start
                break
        except TimeoutError:
            pass  # still open: one more byte
    assert closed_at is not None, "the trickling client kept its connection"
    assert 1.2 < closed_at < 4.0, closed_at  # each byte came within the socket's timeout: the whole bound cut it
    sock.close()


def test_connections_past_the_bound_are_closed_and_the_server_still_answers(server: http.Server) -> None:
    idle = [connect(server) for _ in range(4)]  # each holds a thread, sending nothing
    time.sleep(0.2)
    extra = connect(server)
    extra.settimeout(2)
    assert extra.recv(1) == b"", "a connection past MAX_CONNECTIONS was kept"
    extra.close()
    for sock in idle:
        sock.close()
    time.sleep(2.0)  # the idle ones are cut off by CONNECTION_TIMEOUT at the latest
    ok = connect(server)
    ok.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ok.settimeout(5)
    assert ok.recv(100).startswith(b"HTTP/1.1 200"), "the server no longer answers"
    ok.close()
