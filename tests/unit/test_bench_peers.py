"""bench.live --peer (issue 26): a peer tool given as NAME=COMMAND, its kubeconfig filled in, and a
bad value a clear usage error (exit 2), checked before any cluster is made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.peers import PeerError, parse_peer, peer_command


def test_a_peer_is_a_name_and_a_command() -> None:
    name, argv = parse_peer("popeye=popeye -A -o json --kubeconfig {kubeconfig}")
    assert name == "popeye" and argv == ["popeye", "-A", "-o", "json", "--kubeconfig", "{kubeconfig}"]
    cmd, env = peer_command(argv, Path("/tmp/k"))
    assert cmd[-1] == "/tmp/k" and env == {"KUBECONFIG": "/tmp/k"}
    assert parse_peer("k8sgpt='k8sgpt analyze' -o json")[1] == ["k8sgpt analyze", "-o", "json"]


@pytest.mark.parametrize("bad", ["popeye", "=popeye -A", "popeye=", "p=unclosed 'quote"])
def test_a_bad_peer_is_refused(bad: str) -> None:
    with pytest.raises(PeerError, match="--peer"):
        parse_peer(bad)


def test_the_bench_refuses_a_bad_peer_before_making_a_cluster() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.live", "--peer", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "expected NAME=COMMAND" in proc.stderr
    assert "live benchmark" not in proc.stdout
