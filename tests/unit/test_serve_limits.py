"""serve's HTTP side against slow and many clients, in process (the real Server and Handler, with a
real State and CONNECTION_TIMEOUT shortened): a request trickled a byte at a time is cut off when
its time is spent, and connections past MAX_CONNECTIONS are closed at once, never queued."""

from __future__ import annotations

import contextlib
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


def get_healthz(srv: http.Server) -> bytes:
    ok = connect(srv)
    ok.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ok.settimeout(5)
    answer = ok.recv(100)
    ok.close()
    return answer


def test_healthz_is_answered_under_a_slowloris_and_threads_stay_bounded(server: http.Server) -> None:
    """Twelve connections that never finish their request (three times the bound of four): the
    oldest waiting ones are cut off to make room, so /healthz is answered at once every time, and
    no more than the bound of connection threads ever runs."""
    before = threading.active_count()
    slow = []
    for _ in range(12):
        sock = connect(server)
        sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")  # and never the rest
        slow.append(sock)
        time.sleep(0.02)
        assert threading.active_count() - before <= 4  # one thread per connection, within the bound
    start = time.monotonic()
    assert get_healthz(server).startswith(b"HTTP/1.1 200"), "/healthz not answered under the slowloris"
    assert time.monotonic() - start < 1.0
    evicted = 0
    for sock in slow[:8]:
        sock.settimeout(1)
        with contextlib.suppress(TimeoutError, OSError):
            evicted += sock.recv(1) == b""
    assert evicted >= 7, "the oldest waiting connections were not the ones cut off"
    for sock in slow:
        sock.close()
