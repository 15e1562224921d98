"""A throwaway control plane (etcd and kube-apiserver only, local processes from the lab's pinned
binaries) for the faults that must never touch the shared lab cluster: etcd full, a certificate expiring."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from lab.labctl import RBAC, READER, READER_NAMESPACE, LabError, cache_root, token_kubeconfig, wait_for
from lab.throwaway_pki import make_pki

# Run from ``~/.cache/kplanediag/lab/bin-dir``, with no nodes, scheduler or controller-manager:
#
# * etcd with a small ``--quota-backend-bytes`` that ``fill_until_alarm`` fills with ConfigMaps until
#   etcd raises its NOSPACE alarm ("etcdserver: mvcc: database space exceeded" on every write);
# * an API server with its own PKI (built with the ``openssl`` CLI) whose serving certificate
#   expires after ``serving_days`` (the CA lives ten years), so a TLS client sees a short notAfter.
#
# ``with throwaway("name", quota_bytes=24 << 20, serving_days=5) as t:`` starts it (state under
# ``~/.cache/kplanediag/throwaway/<name>``, free loopback ports), waits for /readyz, and always kills both
# processes and removes the directory on exit. ``python -m lab.throwaway up|down|fill|env NAME`` does the same
# by hand (``up`` leaves it running; ``down`` stops it by the pids in ``state.json``).
NOSPACE = "database space exceeded"
FILL_BYTES = 900 * 1024  # one ConfigMap's data; etcd's --max-request-bytes is 1.5 MiB


def bin_dir() -> Path:
    try:
        return Path((cache_root() / "lab" / "bin-dir").read_text().strip())
    except OSError as exc:
        raise LabError("lab binaries not built: run `make lab-build` (lab/build.sh)") from exc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Throwaway:
    root: Path
    etcd_port: int
    api_port: int
    pids: tuple[int, ...] = ()
    last_error: str = ""  # the last failed write's stderr (fill_until_alarm)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    def save(self) -> None:
        (self.root / "state.json").write_text(json.dumps({**asdict(self), "root": str(self.root)}))

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(bin_dir() / "kubectl"), "--kubeconfig", str(self.admin_kubeconfig), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise LabError(f"kubectl {' '.join(args[:3])} failed ({proc.returncode}): {proc.stderr.strip()[-600:]}")
        return proc

    def get(self, path: str, timeout: float = 10) -> tuple[int, str]:
        """GET ``path`` on the API server as the admin (client certificate): (status, body)."""
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        try:
            with urllib.request.urlopen(self.server + path, context=ctx, timeout=timeout) as resp:  # noqa: S310 - https
                return int(resp.status), resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def ready(self) -> bool:
        try:
            return self.get("/readyz", timeout=3)[0] == 200
        except OSError:  # not listening yet
            return False

    def etcd_alarms(self) -> list[dict[str, object]]:
        """etcd's alarm list, read through its gRPC gateway (``alarm list``)."""
        url = f"{self.etcd_url}/v3/maintenance/alarm"
        req = urllib.request.Request(url, data=b'{"action":"GET"}')  # noqa: S310 - http to our etcd
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - http to our etcd
            alarms: list[dict[str, object]] = json.loads(resp.read()).get("alarms", [])
            return alarms

    def reader_kubeconfig(self, duration: str = "1h") -> Path:
        """Apply deploy/rbac.yaml and write a kubeconfig with a token for kplanediag/kplanediag."""
        self.kubectl("apply", "-f", str(RBAC))
        token = self.kubectl("create", "token", READER, "-n", READER_NAMESPACE, "--duration", duration)
        return token_kubeconfig(self.admin_kubeconfig, token.stdout.strip(), READER, self.root / "reader.kubeconfig")

    def fill_until_alarm(self, namespace: str = "kpd-fill", timeout: float = 120) -> int:
        """Create ~900 KiB ConfigMaps in ``namespace`` until a write fails with "database space
        exceeded"; checks etcd then holds a NOSPACE alarm. Returns the number of objects written."""
        if self.kubectl("get", "namespace", namespace, check=False).returncode != 0:
            self.kubectl("create", "namespace", namespace)
        blob = self.root / "fill.txt"
        blob.write_text(os.urandom(FILL_BYTES // 2).hex())
        deadline, written = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            name = f"fill-{written:04d}"
            proc = self.kubectl("create", "configmap", name, "-n", namespace, f"--from-file=blob={blob}", check=False)
            if proc.returncode == 0:
                written += 1
                continue
            self.last_error = proc.stderr
            if NOSPACE not in proc.stderr:
                raise LabError(f"write {name} failed, not for space: {proc.stderr.strip()[-400:]}")
            if not any(a.get("alarm") == "NOSPACE" for a in self.etcd_alarms()):
                raise LabError(f"'{NOSPACE}' but etcd holds no NOSPACE alarm: {self.etcd_alarms()}")
            return written
        raise LabError(f"no NOSPACE after {written} objects in {timeout:.0f}s")


def write_admin_kubeconfig(t: Throwaway) -> None:
    pki = t.pki
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "throwaway", "cluster": {"server": t.server, "certificate-authority": str(pki / "ca.crt")}}
        ],
        "users": [
            {
                "name": "admin",
                "user": {"client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")},
            }
        ],
        "contexts": [{"name": "throwaway", "context": {"cluster": "throwaway", "user": "admin"}}],
        "current-context": "throwaway",
    }
    t.admin_kubeconfig.write_text(yaml.safe_dump(config))
    t.admin_kubeconfig.chmod(0o600)


def spawn(cmd: list[str], log: Path) -> int:
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True).pid


def start(root: Path, quota_bytes: int | None = None, serving_days: int = 365, timeout: float = 120) -> Throwaway:
    """Build the PKI, start etcd and kube-apiserver under ``root`` and wait for /readyz. On failure
    everything started is stopped again and ``root`` removed."""
    if (root / "state.json").exists():
        raise LabError(f"{root} holds a throwaway already: `python -m lab.throwaway down {root.name}`")
    root.mkdir(parents=True, exist_ok=True)
    b, t = bin_dir(), Throwaway(root, free_port(), free_port())
    try:
        make_pki(t.pki, serving_days)
        peer = f"http://127.0.0.1:{free_port()}"
        etcd = [str(b / "etcd"), "--name=throwaway", f"--data-dir={root / 'etcd'}", "--log-level=warn",
                f"--listen-client-urls={t.etcd_url}", f"--advertise-client-urls={t.etcd_url}",
                f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=throwaway={peer}"]  # fmt: skip
        if quota_bytes is not None:
            etcd.append(f"--quota-backend-bytes={quota_bytes}")
        t.pids = (spawn(etcd, root / "etcd.log"),)
        t.save()  # at once: stop() kills what state.json names
        p = t.pki
        api = [str(b / "kube-apiserver"), f"--etcd-servers={t.etcd_url}", f"--secure-port={t.api_port}",
               "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
               f"--tls-cert-file={p / 'serving.crt'}", f"--tls-private-key-file={p / 'serving.key'}",
               f"--client-ca-file={p / 'ca.crt'}", "--service-account-issuer=https://kubernetes.default.svc",
               f"--service-account-key-file={p / 'sa.pub'}", f"--service-account-signing-key-file={p / 'sa.key'}",
               "--service-cluster-ip-range=10.96.0.0/16", "--authorization-mode=RBAC",
               f"--cert-dir={root / 'apiserver-certs'}"]  # fmt: skip
        t.pids += (spawn(api, root / "kube-apiserver.log"),)
        t.save()
        write_admin_kubeconfig(t)
        wait_for("throwaway /readyz", t.ready, timeout)
    except BaseException:
        stop(root)
        raise
    return t


def load(root: Path) -> Throwaway:
    """The throwaway running under ``root`` (as ``start`` recorded it in ``state.json``)."""
    try:
        state = json.loads((root / "state.json").read_text())
    except OSError as exc:
        raise LabError(f"no throwaway under {root}: `python -m lab.throwaway up {root.name}`") from exc
    return Throwaway(root, state["etcd_port"], state["api_port"], tuple(state["pids"]))


def stop(root: Path) -> None:
    """Kill the throwaway's processes (only pids whose command line names ``root``), remove ``root``."""
    pids = load(root).pids if (root / "state.json").exists() else ()
    live = [pid for pid in pids if _ours(pid, root)]
    for pid in live:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while live and time.monotonic() < deadline:
        live = [pid for pid in live if _ours(pid, root)]
        time.sleep(0.2)
    for pid in live:
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)


def _ours(pid: int, root: Path) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return str(root).encode() in cmdline and status != "Z"


def default_root(name: str) -> Path:
    return cache_root() / "throwaway" / name


@contextmanager
def throwaway(
    name: str, quota_bytes: int | None = None, serving_days: int | None = None, root: Path | None = None
) -> Iterator[Throwaway]:
    """A running throwaway control plane; stopped and its directory removed on exit, whatever happens."""
    where = root or default_root(name)
    t = start(where, quota_bytes, serving_days if serving_days is not None else 365)
    try:
        yield t
    finally:
        stop(where)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.throwaway", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "fill", "env"))
    parser.add_argument("name", nargs="?", default="manual")
    parser.add_argument("--quota-bytes", type=int, default=24 << 20)
    parser.add_argument("--serving-days", type=int, default=5)
    args = parser.parse_args(argv)
    root = default_root(args.name)
    try:
        if args.action == "up":
            began = time.monotonic()
            t = start(root, args.quota_bytes, args.serving_days)
            print(f"# ready in {time.monotonic() - began:.1f}s; stop with: python -m lab.throwaway down {args.name}")
        elif args.action == "down":
            stop(root)
            return 0
        t = load(root)
        if args.action == "fill":
            print(f"{t.fill_until_alarm()} objects written; last write: {t.last_error.strip()}")
        print(f"export KUBECONFIG={t.admin_kubeconfig}  # {t.server}, etcd {t.etcd_url}")
    except LabError as exc:
        print(f"[throwaway] {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
