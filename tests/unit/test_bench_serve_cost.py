"""bench/serve_cost.py's counting relay and kubeconfig rewrite, on a local socket and a kubeconfig of the
lab's shape (the bench itself runs against a kwok cluster: make bench-serve)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from bench.serve_cost import FLAT_BOUND, Relay, flatness, through


def echo_server() -> tuple[socket.socket, int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data * 3)  # the answer is bigger than the request, as an API server's

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_the_relay_counts_each_way() -> None:
    listener, port = echo_server()
    relay = Relay(("127.0.0.1", port))
    with socket.create_connection(("127.0.0.1", relay.port)) as client:
        client.sendall(b"x" * 1000)
        got = b""
        while len(got) < 3000:
            got += client.recv(4096)
    end = time.monotonic() + 5
    while relay.total() < 4000 and time.monotonic() < end:
        time.sleep(0.01)
    assert (relay.up, relay.down, relay.connections) == (1000, 3000, 1)
    listener.close()


def test_through_points_the_kubeconfig_at_the_relay(tmp_path: Path) -> None:
    original = tmp_path / "kubeconfig"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": "https://127.0.0.1:32764", "certificate-authority-data": "Q0E="}}
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    original.write_text(yaml.safe_dump(doc))
    assert through(original, 4242, tmp_path / "relayed") == ("127.0.0.1", 32764)
    relayed = yaml.safe_load((tmp_path / "relayed").read_text())
    assert relayed["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:4242"
    assert (
        relayed["users"] == doc["users"] and relayed["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="
    )


def rows(rss: list[float]) -> list[dict[str, Any]]:
    return [{"rss": r, "at": 30.0 * i} for i, r in enumerate(rss)]


def test_serve_memory_is_flat_or_not() -> None:
    warming = [120e6, 128e6, 135e6, 140e6]  # the first quarter: caches filled, arenas grown
    steady = flatness(rows([*warming, 150e6, 151e6, 150e6, 152e6, 151e6, 153e6, 152e6, 153e6]))
    assert steady["flat"] and steady["underBound"]
    assert steady["minutes"] == 5.5
    assert steady["rssLastQuarter"] / steady["rssFirstQuarter"] > FLAT_BOUND  # warm-up is not a leak
    leaking = flatness(rows([120e6 + 10e6 * i for i in range(8)]))
    assert leaking["rssLastQuarter"] / leaking["rssSecondQuarter"] > FLAT_BOUND
    assert not leaking["flat"] and "FAIL" in leaking["text"]
    assert not flatness(rows([200e6 + 20e6 * i for i in range(8)]))["underBound"]
    assert flatness(rows([1.0] * 7)) == {}
