"""The lab's ground: its paths, flavours and identities, running kubectl in it, waiting on it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # lab/
RBAC = HERE.parent / "deploy" / "rbac.yaml"
CLUSTER = "kplanediag-lab"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
ELECTED = ("kube-scheduler", "kube-controller-manager")  # leader-elected where the flavour elects
NODE_LABEL = "kplanediag.lab/kubelet"  # kwok heartbeats only nodes with kplanediag.lab/kubelet=kwok
READER_NAMESPACE, READER = "kplanediag", "kplanediag"  # deploy/rbac.yaml's ServiceAccount
READER_USER = f"system:serviceaccount:{READER_NAMESPACE}:{READER}"
# Every component (controller-manager, scheduler, kwok) and every admin kubectl, the tests' fault
# helpers included, use kwokctl's admin certificate (CN kwok-admin); system:apiserver is the API
# server's loopback client. They make nearly all requests and are not logged; everyone else is, at
# Metadata level: user, verb, resource or path, answer code, user agent, no bodies.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [kwok-admin, "system:apiserver"]
- level: Metadata
"""


class LabError(RuntimeError):
    """The lab cluster cannot be built, started or changed; the message says what is missing."""


def cache_root() -> Path:
    env = os.environ.get("KPLANEDIAG_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kplanediag"
    return base


@dataclass(frozen=True)
class Flavour:
    """How one lab cluster is run: its kwokctl name, its folder under the cache, its seed, and how
    kwokctl.yaml.in is changed for it."""

    name: str
    cluster: str
    cache: str  # folder under cache_root()
    seed: Path  # applied in full; its nodes.yaml first
    leader_elect: bool = True  # False: scheduler and controller-manager run with --leader-elect=false
    extra_args: tuple[tuple[str, str, str], ...] = ()  # (component, flag, value) appended


KUBEADM = Flavour("kubeadm", CLUSTER, "lab", HERE / "seed")
# k3s (pkg/daemons/control): with sqlite/kine there is one server, and it runs the scheduler and the
# controller-manager without leader election; Services come from 10.43.0.0/16 (CoreDNS at .10).
K3S = Flavour(
    "k3s",
    "kplanediag-k3s",
    "lab-k3s",
    HERE / "seed-k3s",
    leader_elect=False,
    extra_args=(("kube-apiserver", "service-cluster-ip-range", "10.43.0.0/16"),),
)
FLAVOURS = {f.name: f for f in (KUBEADM, K3S)}


@dataclass(frozen=True)
class Lab:
    root: Path
    flavour: Flavour = field(default=KUBEADM, kw_only=True)

    @property
    def workdir(self) -> Path:
        return self.root / "kwok"

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / self.flavour.cluster

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        """The API server's audit log (lumberjack rotates it to ``audit-<time>.log`` beside it)."""
        return self.cluster_dir / "logs" / "audit.log"

    @property
    def audit_policy(self) -> Path:
        """The policy kwokctl copied into the cluster at its creation (absent on an older lab)."""
        return self.cluster_dir / "audit.yaml"

    @property
    def bin_file(self) -> Path:
        return self.root / "bin-dir"

    @property
    def bin(self) -> Path:
        try:
            return Path(self.bin_file.read_text().strip())
        except OSError as exc:
            raise LabError("lab binaries not built: run `make lab-build` (lab/build.sh)") from exc

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KWOK_WORKDIR"] = str(self.workdir)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env


def default_lab(flavour: str = KUBEADM.name) -> Lab:
    """The lab cluster of that flavour (``kubeadm``: the lab the e2e suite and ``make demo`` use)."""
    try:
        chosen = FLAVOURS[flavour]
    except KeyError:
        raise LabError(f"unknown lab flavour {flavour!r}: one of {', '.join(FLAVOURS)}") from None
    return Lab(cache_root() / chosen.cache, flavour=chosen)


def log(text: str) -> None:
    print(f"[lab] {text}", file=sys.stderr, flush=True)


def run(
    cmd: Sequence[str], lab: Lab, *, check: bool = True, input_: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(cmd), env=lab.env(), capture_output=True, text=True, input=input_, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc


def kubectl(
    lab: Lab, *args: str, check: bool = True, input_: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return run(
        [str(lab.bin / "kubectl"), "--kubeconfig", str(lab.kubeconfig), *args],
        lab,
        check=check,
        input_=input_,
        timeout=timeout,
    )


def wait_for(what: str, probe: Callable[[], bool], timeout: float, interval: float = 0.5) -> float:
    """Poll ``probe`` until true; returns the seconds it took, raises LabError on timeout."""
    start = time.monotonic()
    while True:
        try:
            if probe():
                return time.monotonic() - start
        except (LabError, subprocess.TimeoutExpired):
            pass
        if time.monotonic() - start > timeout:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def wait_for_quietly(probe: Callable[[], bool], timeout: float) -> bool:
    try:
        wait_for("", probe, timeout)
    except LabError:
        return False
    return True
