"""A network namespace of the lab's own, joined to this machine by a veth pair on a /30 of a reserved
test range: a non-loopback address the API accepts for an endpoint, without using the machine's own."""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from lab.labctl import LabError, log


@dataclass(frozen=True)
class Netns:
    name: str
    host_if: str  # veth end on this machine, holds host_address
    ns_if: str  # its peer, inside the namespace, holds address
    host_address: str
    address: str
    prefix: int

    def exec_args(self, *cmd: str) -> list[str]:
        return [ip_binary(), "netns", "exec", self.name, *cmd]


def ip_binary() -> str:
    found = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.access(p, os.X_OK)), None)
    if found is None:
        raise LabError("`ip` (iproute2) not found: needed to make the lab's network namespace")
    return found


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([ip_binary(), *args], capture_output=True, text=True, timeout=30, check=False)
    if check and proc.returncode != 0:
        raise LabError(f"ip {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def exists(name: str) -> bool:
    return name in (line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip())


def remove(name: str, host_if: str) -> None:
    """The namespace ``name`` (after killing, by pid, the processes still in it: a killed run's) and
    the veth ``host_if`` (its peer goes with it). Absent ones are fine."""
    if exists(name):
        for pid in (int(p) for p in ip("netns", "pids", name, check=False).stdout.split() if p.isdigit()):
            log(f"netns {name}: killing leftover process {pid}")
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        ip("netns", "delete", name, check=False)
    if ip("link", "show", host_if, check=False).returncode == 0:
        ip("link", "delete", host_if, check=False)


# ``with netns("kpd-webhook", "kpdwh0", "kpdwh1", "198.18.41.0/30") as ns:`` removes what a killed run left
# under those names, makes the namespace and the pair (host side ``ns.host_address``, namespace side
# ``ns.address``), and removes both on exit; ``ns.exec_args(cmd...)`` runs a command inside. Needs root
# (CAP_NET_ADMIN) and iproute2's ``ip``.
@contextmanager
def netns(name: str, host_if: str, ns_if: str, network: str) -> Iterator[Netns]:
    """Namespace ``name`` and veth ``host_if``/``ns_if`` with the two addresses of ``network`` (a /30)."""
    net = ipaddress.ip_network(network)
    hosts = list(net.hosts())
    if net.version != 4 or net.prefixlen != 30 or net.is_loopback:
        raise LabError(f"{network}: need a non-loopback IPv4 /30")
    ns = Netns(name, host_if, ns_if, str(hosts[0]), str(hosts[1]), net.prefixlen)
    remove(name, host_if)
    taken = ip("-o", "-4", "addr", "show", "to", network).stdout.strip()
    if taken:
        raise LabError(f"{network} is already in use on this machine: {taken}")
    try:
        try:
            ip("netns", "add", name)
        except LabError as e:
            raise LabError(f"cannot make network namespace {name} (root / CAP_NET_ADMIN needed): {e}") from e
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", name)
        ip("addr", "add", f"{ns.host_address}/{ns.prefix}", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("-n", name, "addr", "add", f"{ns.address}/{ns.prefix}", "dev", ns_if)
        ip("-n", name, "link", "set", ns_if, "up")
        ip("-n", name, "link", "set", "lo", "up")
        yield ns
    finally:
        remove(name, host_if)
