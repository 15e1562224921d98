"""The lab cluster: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) run as local processes by kwokctl's binary runtime, kwok playing the kubelets.

``python -m lab.labctl up|down|status|env`` manages it; the fault helpers below (stop a process,
silence a node, make pods not ready) are used by the e2e tests and ``make demo``.

The API server keeps an audit log (``logs/audit.log`` in the cluster directory, policy
AUDIT_POLICY below): every request of every user but the control plane's own clients, at Metadata
level (who, verb, resource, answer; no bodies). The seed applies ``deploy/rbac.yaml``, and
``reader_kubeconfig`` writes a kubeconfig for its ServiceAccount ``kplanediag/kplanediag``: the
e2e suite runs kplanediag under that identity only, and reads its requests back from the log.

Two flavours of the lab, separate clusters that can run side by side (``--flavour``, or
``LAB_FLAVOUR`` in the environment; FLAVOURS below):

* ``kubeadm`` (the default): cluster ``kplanediag-lab`` in ``~/.cache/kplanediag/lab``, laid out as
  kind/kubeadm lay a cluster out (lab/seed): static control-plane pods, kube-proxy and kindnet
  DaemonSets, leader-elected scheduler and controller-manager (Leases in kube-system).
* ``k3s``: cluster ``kplanediag-k3s`` in ``~/.cache/kplanediag/lab-k3s``, the same binaries run the
  way a single k3s server with its sqlite (kine) datastore runs them (lab/seed-k3s): scheduler and
  controller-manager with ``--leader-elect=false`` (no leader Lease), no static pods, no kube-proxy
  or CNI DaemonSet (k3s embeds both), k3s's packaged add-ons, nodes labelled and versioned as k3s
  labels them (``v1.36.2+k3s1``), Services in k3s's 10.43.0.0/16. Real k3s cannot be built here.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
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


# --- building and lifecycle -----------------------------------------------------------------------


def build(lab: Lab) -> Path:
    proc = subprocess.run([str(HERE / "build.sh")], stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise LabError("lab/build.sh failed (see the messages above)")
    bin_dir = Path(proc.stdout.strip().splitlines()[-1])
    lab.root.mkdir(parents=True, exist_ok=True)
    lab.bin_file.write_text(str(bin_dir))
    return bin_dir


def supervisor_pid(lab: Lab) -> int | None:
    try:
        pid = int((lab.cluster_dir / "supervisor.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def api_ready(lab: Lab) -> bool:
    return kubectl(lab, "get", "--raw", "/readyz", check=False, timeout=10).returncode == 0


def kwokctl_config(lab: Lab, policy: Path) -> str:
    """lab/kwokctl.yaml.in filled in, then changed as the flavour says."""
    text = (
        (HERE / "kwokctl.yaml.in")
        .read_text()
        .replace("@PKI@", str(lab.cluster_dir / "pki"))
        .replace("@AUDIT_POLICY@", str(policy))
    )
    flavour = lab.flavour
    if flavour.leader_elect and not flavour.extra_args:
        return text
    doc = yaml.safe_load(text)
    patches: list[dict[str, object]] = doc["componentsPatches"]

    def args_of(component: str) -> list[dict[str, object]]:
        patch = next((p for p in patches if p["name"] == component), None)
        if patch is None:  # one patch per component: kwokctl reads only the first of a name in places
            patch = {"name": component, "extraArgs": []}
            patches.append(patch)
        extra = patch.setdefault("extraArgs", [])
        assert isinstance(extra, list)
        return extra

    if not flavour.leader_elect:
        for component in ELECTED:
            extra = args_of(component)
            extra[:] = [a for a in extra if not str(a["key"]).startswith("leader-elect")]
            extra.append({"key": "leader-elect", "value": "false"})
    for component, key, value in flavour.extra_args:
        args_of(component).append({"key": key, "value": value})
    header = f"# made by lab/labctl.py from lab/kwokctl.yaml.in for the {flavour.name} flavour\n"
    return header + yaml.safe_dump(doc, sort_keys=False)


def create(lab: Lab) -> None:
    lab.root.mkdir(parents=True, exist_ok=True)
    policy = lab.root / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    (lab.root / "kwokctl.yaml").write_text(kwokctl_config(lab, policy))
    b = lab.bin
    t0 = time.monotonic()
    run(
        [
            str(b / "kwokctl"),
            "create",
            "cluster",
            "--name",
            lab.flavour.cluster,
            "--config",
            str(lab.root / "kwokctl.yaml"),
            *binary_args(b),
            "--kubeconfig",
            str(lab.kubeconfig),
            "--wait",
            "90s",
        ],
        lab,
        timeout=180,
    )
    log(f"control plane created and ready in {time.monotonic() - t0:.1f}s")
    start_supervisor(lab)


def start_supervisor(lab: Lab) -> None:
    if supervisor_pid(lab):
        return
    out = open(lab.cluster_dir / "logs" / "supervisor.out", "ab")  # noqa: SIM115 - handed to the daemon
    subprocess.Popen(
        [sys.executable, str(HERE / "supervise.py"), str(lab.cluster_dir)],
        stdout=out,
        stderr=out,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for("the supervisor to start", lambda: supervisor_pid(lab) is not None, 10)


def seed(lab: Lab) -> None:
    t0 = time.monotonic()
    seed_dir = lab.flavour.seed
    nodes = sum(1 for d in yaml.safe_load_all((seed_dir / "nodes.yaml").read_text()) if d and d["kind"] == "Node")
    kubectl(lab, "apply", "-f", str(seed_dir / "nodes.yaml"))
    wait_for(f"{nodes} Ready nodes", lambda: ready_nodes(lab) == nodes, 60)
    # Pods are refused until the controller-manager has created their namespace's "default"
    # ServiceAccount, moments after start: apply (idempotent) until every object is accepted.
    wait_for("the seed to be accepted", lambda: apply_ok(lab, seed_dir), 60, 1)
    publish_load_balancers(lab)
    apply_rbac(lab)
    wait_settled(lab)
    log(f"seeded and settled in {time.monotonic() - t0:.1f}s")


def publish_load_balancers(lab: Lab) -> None:
    """Give every LoadBalancer Service the node address as its ingress, as k3s's servicelb does
    (nothing else would: no cloud provider). The lab's nodes all answer on 127.0.0.1."""
    services = json.loads(kubectl(lab, "get", "services", "-A", "-o", "json").stdout)["items"]
    ingress = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}}})
    for svc in services:
        if svc["spec"].get("type") == "LoadBalancer" and not svc.get("status", {}).get("loadBalancer"):
            meta = svc["metadata"]
            args = ("patch", "service", meta["name"], "-n", meta["namespace"], "--subresource=status")
            kubectl(lab, *args, "--type=merge", "-p", ingress)


def apply_ok(lab: Lab, path: Path) -> bool:
    return kubectl(lab, "apply", "-f", str(path), check=False).returncode == 0


# --- kplanediag's own identity ----------------------------------------------------------------------


def binary_args(b: Path) -> list[str]:
    """kwokctl's flags for the pinned binaries in ``b`` (it never downloads one)."""
    return [
        *("--kube-apiserver-binary", str(b / "kube-apiserver")),
        *("--kube-controller-manager-binary", str(b / "kube-controller-manager")),
        *("--kube-scheduler-binary", str(b / "kube-scheduler")),
        *("--kwok-controller-binary", str(b / "kwok")),
        *("--etcd-binary", str(b / "etcd")),
    ]


def apply_rbac(lab: Lab, admin: Path | None = None, manifest: str | None = None) -> None:
    """Apply deploy/rbac.yaml (or ``manifest``, a modified copy) with the admin kubeconfig."""
    text = RBAC.read_text() if manifest is None else manifest
    run([str(lab.bin / "kubectl"), "--kubeconfig", str(admin or lab.kubeconfig), "apply", "-f", "-"], lab, input_=text)


def reader_kubeconfig(lab: Lab, dest: Path, admin: Path | None = None, duration: str = "2h") -> Path:
    """Write to ``dest`` a kubeconfig for deploy/rbac.yaml's ServiceAccount: the admin kubeconfig's
    server and CA, and a token minted for the account (``kubectl create token``), nothing else."""
    admin = admin or lab.kubeconfig
    apply_rbac(lab, admin)
    create = ("create", "token", READER, "-n", READER_NAMESPACE, "--duration", duration)
    token = run(
        [str(lab.bin / "kubectl"), "--kubeconfig", str(admin), *create],
        lab,
    ).stdout.strip()
    return token_kubeconfig(admin, token, READER, dest)


def token_kubeconfig(admin: Path, token: str, user: str, dest: Path) -> Path:
    """Write to ``dest`` (mode 600) a kubeconfig with the admin kubeconfig's server and CA and
    ``token`` for ``user``, nothing else."""
    config = yaml.safe_load(admin.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
    entry = next(c for c in config["clusters"] if c["name"] == context["cluster"])
    reader = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [entry],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": entry["name"], "user": user}}],
        "current-context": user,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.touch(mode=0o600)
    dest.chmod(0o600)
    dest.write_text(yaml.safe_dump(reader))
    return dest


def ready_nodes(lab: Lab) -> int:
    nodes = json.loads(kubectl(lab, "get", "nodes", "-o", "json").stdout)["items"]
    return sum(
        1 for n in nodes for c in n["status"].get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"
    )


def settled(lab: Lab) -> bool:
    """Every seeded workload fully ready and both leader Leases held; in a flavour without leader
    election, both processes running and no such Lease (one would mean the flavour is not applied)."""
    data = json.loads(kubectl(lab, "get", "deploy,ds,sts,lease", "-A", "-o", "json").stdout)
    for obj in data["items"]:
        st, kind = obj.get("status", {}), obj["kind"]
        if kind in ("Deployment", "StatefulSet") and st.get("readyReplicas", 0) != obj["spec"].get("replicas", 1):
            return False
        desired = st.get("desiredNumberScheduled", 0)
        if kind == "DaemonSet" and (desired == 0 or st.get("numberReady") != desired):
            return False
    leases = [o for o in data["items"] if o["kind"] == "Lease" and o["metadata"]["namespace"] == "kube-system"]
    if not lab.flavour.leader_elect:
        elected = {o["metadata"]["name"] for o in leases} & set(ELECTED)
        return not elected and all(component_pid(lab, name) for name in ELECTED)
    fresh = {o["metadata"]["name"] for o in leases if lease_fresh(o["spec"])}
    return set(ELECTED) <= fresh


def lease_renewed_since(lab: Lab, name: str, since: float) -> bool:
    lease = json.loads(kubectl(lab, "get", "lease", "-n", "kube-system", name, "-o", "json").stdout)
    renew = lease["spec"].get("renewTime")
    return isinstance(renew, str) and datetime.fromisoformat(renew).timestamp() > since


def lease_fresh(spec: dict[str, object]) -> bool:
    """Held, and renewed within its leaseDurationSeconds (the lab runs on this machine's clock)."""
    renew, duration = spec.get("renewTime"), spec.get("leaseDurationSeconds")
    if not spec.get("holderIdentity") or not isinstance(renew, str) or not isinstance(duration, int):
        return False
    age = time.time() - datetime.fromisoformat(renew).timestamp()
    return age <= duration


def wait_settled(lab: Lab, timeout: float = 120) -> float:
    what = "leader Leases held" if lab.flavour.leader_elect else "scheduler and controller-manager running"
    return wait_for(
        f"the {lab.flavour.cluster} cluster to settle (workloads ready, {what})", lambda: settled(lab), timeout, 1
    )


def component_ready(lab: Lab, component: str) -> bool:
    """The scheduler's /readyz or the controller-manager's /healthz answers ok on its secure port
    (kwokctl lets anyone read them; the serving certificate is the process's own self-signed one)."""
    port = next(
        (
            arg.split("=", 1)[1]
            for doc in yaml.safe_load_all((lab.cluster_dir / "kwok.yaml").read_text())
            if isinstance(doc, dict) and doc.get("kind") == "KwokctlConfiguration"
            for comp in doc.get("components") or []
            if comp["name"] == component
            for arg in comp.get("args") or []
            if arg.startswith("--secure-port=")
        ),
        None,
    )
    if port is None:
        raise LabError(f"no --secure-port for {component} in {lab.cluster_dir / 'kwok.yaml'}")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # loopback, the component's throwaway self-signed certificate
    path = "/readyz" if component == "kube-scheduler" else "/healthz"
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context, timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def up(lab: Lab) -> None:
    build(lab)
    if lab.cluster_dir.exists() and not audited(lab):
        log("existing lab cluster has no audit log or another audit policy (made before it had one); recreating it")
        down(lab)
    if lab.cluster_dir.exists() and not configured(lab):
        log("existing lab cluster was made from another lab/kwokctl.yaml.in; recreating it")
        down(lab)
    if lab.cluster_dir.exists():
        start_supervisor(lab)
        if wait_for_quietly(lambda: api_ready(lab), 30):
            log("lab cluster already exists; restoring it")
            restore_all(lab)
            apply_rbac(lab)
            log(f"kubeconfig: {lab.kubeconfig}")
            return
        log("existing lab cluster does not answer; recreating it")
        down(lab)
    create(lab)
    seed(lab)
    log(f"kubeconfig: {lab.kubeconfig}")


def audited(lab: Lab) -> bool:
    """The cluster's API server was created with the current audit policy."""
    try:
        return lab.audit_policy.read_text() == AUDIT_POLICY
    except OSError:
        return False


def configured(lab: Lab) -> bool:
    """The cluster was created from the kwokctl configuration this checkout would write."""
    try:
        used = (lab.root / "kwokctl.yaml").read_text()
    except OSError:
        return False
    return used == kwokctl_config(lab, lab.root / "audit-policy.yaml")


def wait_for_quietly(probe: Callable[[], bool], timeout: float) -> bool:
    try:
        wait_for("", probe, timeout)
    except LabError:
        return False
    return True


def down(lab: Lab) -> None:
    pid = supervisor_pid(lab)
    if pid:
        os.kill(pid, signal.SIGTERM)
    if lab.cluster_dir.exists():
        for held in (lab.cluster_dir / "held").glob("*"):
            held.unlink()
        run(
            [
                *(str(lab.bin / "kwokctl"), "delete", "cluster", "--name", lab.flavour.cluster),
                *("--kubeconfig", str(lab.kubeconfig)),
            ],
            lab,
            check=False,
        )
    log(f"lab cluster {lab.flavour.cluster} deleted")


# --- fault injection ------------------------------------------------------------------------------


def component_pid(lab: Lab, component: str) -> int | None:
    try:
        pid = int((lab.cluster_dir / "pids" / f"{component}.pid").read_text())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state in ("Z", "X") else pid


def stop_component(lab: Lab, component: str, sig: signal.Signals = signal.SIGKILL) -> None:
    """Stop a control-plane process and keep it stopped (the supervisor leaves held components alone).

    SIGKILL leaves a leader Lease with its old holder and a frozen renewTime; SIGTERM makes the
    scheduler and controller-manager release it (empty holder).
    """
    if component not in CONTROL_PLANE:
        raise LabError(f"unknown control-plane component {component!r}: one of {', '.join(CONTROL_PLANE)}")
    (lab.cluster_dir / "held").mkdir(exist_ok=True)
    with open(lab.cluster_dir / "supervisor.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the supervisor's tick takes it too (lab/supervise.py)
        (lab.cluster_dir / "held" / component).touch()
        pid = component_pid(lab, component)
        if pid:
            os.kill(pid, sig)
    if pid:
        wait_for(f"{component} (pid {pid}) to exit", lambda: component_pid(lab, component) is None, 30, 0.2)
    log(f"stopped {component} with {sig.name}")


def start_component(lab: Lab, component: str) -> None:
    """Let the supervisor start a held component again; waits until its process runs."""
    (lab.cluster_dir / "held" / component).unlink(missing_ok=True)
    start_supervisor(lab)
    wait_for(f"{component} to be restarted", lambda: component_pid(lab, component) is not None, 15, 0.2)
    log(f"started {component}")


def silence_node(lab: Lab, node: str) -> None:
    """Stop the node's kubelet heartbeat: kwok stops renewing its Lease and posting its status, so
    the real node lifecycle controller marks it Unknown after the grace period."""
    kubectl(lab, "label", "node", node, f"{NODE_LABEL}-")
    log(f"silenced node {node}")


def restore_node(lab: Lab, node: str) -> None:
    """Resume the node's heartbeat, then re-post its pods as ready, as a returning kubelet does
    (kwok does not: the pods the node lifecycle controller marked not ready would stay so)."""
    kubectl(lab, "label", "--overwrite", "node", node, f"{NODE_LABEL}=kwok")
    wait_for(f"node {node} to be Ready", lambda: node_ready(lab, node), 30)
    reready_pods(lab, node)
    log(f"restored node {node}")


def node_ready(lab: Lab, node: str) -> bool:
    obj = json.loads(kubectl(lab, "get", "node", node, "-o", "json").stdout)
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"].get("conditions", []))


def reready_pods(lab: Lab, node: str | None = None) -> None:
    """Mark every running pod that is not ready (on ``node``, if given) ready again."""
    pods = json.loads(kubectl(lab, "get", "pods", "-A", "-o", "json").stdout)["items"]
    for pod in pods:
        st = pod.get("status", {})
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))
        if st.get("phase") == "Running" and not ready and node in (None, pod["spec"].get("nodeName")):
            set_pod_ready(lab, pod["metadata"]["namespace"], pod["metadata"]["name"], True)


def _pods(lab: Lab, namespace: str, selector: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads(
        kubectl(lab, "get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    )["items"]
    return items


def _selector(lab: Lab, kind: str, namespace: str, name: str) -> str:
    obj = json.loads(kubectl(lab, "get", kind, name, "-n", namespace, "-o", "json").stdout)
    labels = obj["spec"]["selector"].get("matchLabels", {})
    return ",".join(f"{k}={v}" for k, v in labels.items())


def set_pod_ready(lab: Lab, namespace: str, pod: str, ready: bool) -> None:
    """Set a pod's Ready condition and container readiness through the status subresource."""
    obj = json.loads(kubectl(lab, "get", "pod", pod, "-n", namespace, "-o", "json").stdout)
    value = "True" if ready else "False"
    status = obj["status"]
    for cond in status.get("conditions", []):
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = value
            cond["reason"] = "" if ready else "LabFault"
    for cs in status.get("containerStatuses", []):
        cs["ready"] = ready
    patch = json.dumps(
        {
            "status": {
                "conditions": status.get("conditions", []),
                "containerStatuses": status.get("containerStatuses", []),
            }
        }
    )
    kubectl(lab, "patch", "pod", pod, "-n", namespace, "--subresource=status", "--type=merge", "-p", patch)


def set_workload_ready(
    lab: Lab, kind: str, namespace: str, name: str, ready: bool, node: str | None = None
) -> list[str]:
    """Make a Deployment's or DaemonSet's pods (only those on ``node``, if given) ready or not ready."""
    changed = []
    for pod in _pods(lab, namespace, _selector(lab, kind, namespace, name)):
        meta, spec = pod["metadata"], pod["spec"]
        assert isinstance(meta, dict) and isinstance(spec, dict)
        if node is None or spec.get("nodeName") == node:
            set_pod_ready(lab, namespace, str(meta["name"]), ready)
            changed.append(str(meta["name"]))
    if not changed:
        raise LabError(f"{kind} {namespace}/{name} has no pods{' on ' + node if node else ''}")
    log(f"{kind} {namespace}/{name}: pods {', '.join(changed)} ready={ready}")
    return changed


def restore_all(lab: Lab, timeout: float = 120) -> float:
    """Undo every fault: release held components, re-label nodes, re-ready pods; wait until settled."""
    restarted = [held.name for held in (lab.cluster_dir / "held").glob("*")]
    since = time.time()
    for name in restarted:
        start_component(lab, name)
    wait_for("the API server to be ready", lambda: api_ready(lab), 120)
    for name in restarted:
        if name in ELECTED and lab.flavour.leader_elect:
            # a new instance waits for the old Lease to expire before it takes over
            wait_for(f"{name} to renew its Lease", functools.partial(lease_renewed_since, lab, name, since), 60)
        elif name in ELECTED:  # no Lease to watch: until it says it is ready
            wait_for(f"{name} to be ready", functools.partial(component_ready, lab, name), 60)
    nodes = json.loads(kubectl(lab, "get", "nodes", "-o", "json").stdout)["items"]
    for node in nodes:
        if node["metadata"].get("labels", {}).get(NODE_LABEL) != "kwok":
            restore_node(lab, node["metadata"]["name"])
    reready_pods(lab)
    return wait_settled(lab, timeout)


# --- command line ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.labctl", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--flavour",
        choices=tuple(FLAVOURS),
        default=os.environ.get("LAB_FLAVOUR") or KUBEADM.name,
        help="which lab cluster (default: $LAB_FLAVOUR, else kubeadm)",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build or reuse the pinned binaries")
    sub.add_parser("up", help="build, create, seed and wait (idempotent; restores a running cluster)")
    sub.add_parser("down", help="delete the cluster")
    sub.add_parser("restore", help="undo every injected fault and wait until settled")
    sub.add_parser("kubeconfig", help="print the kubeconfig path")
    sub.add_parser(
        "reader-kubeconfig", help="write a kubeconfig for deploy/rbac.yaml's ServiceAccount (2 h token); print its path"
    )
    for name in ("stop", "start"):
        p = sub.add_parser(name, help=f"{name} a control-plane process")
        p.add_argument("component", choices=CONTROL_PLANE)
        if name == "stop":
            p.add_argument("--signal", choices=("KILL", "TERM"), default="KILL")
    p = sub.add_parser("silence-node", help="stop a node's kubelet heartbeat")
    p.add_argument("node")
    p.add_argument("--wait", action="store_true", help="until the node lifecycle controller marks it")
    sub.add_parser("restore-node", help="resume a node's heartbeat and re-ready its pods").add_argument("node")
    for name in ("unready", "ready"):
        p = sub.add_parser(name, help=f"make a Deployment's or DaemonSet's pods {name}")
        p.add_argument("kind", choices=("deployment", "daemonset"))
        p.add_argument("namespace")
        p.add_argument("name")
        p.add_argument("--node")
    args = parser.parse_args(argv)
    lab = default_lab(args.flavour)
    try:
        if args.cmd == "build":
            print(build(lab))
        elif args.cmd == "up":
            up(lab)
            print(lab.kubeconfig)
        elif args.cmd == "down":
            down(lab)
        elif args.cmd == "restore":
            restore_all(lab)
        elif args.cmd == "kubeconfig":
            print(lab.kubeconfig)
        elif args.cmd == "reader-kubeconfig":
            print(reader_kubeconfig(lab, lab.root / f"kubeconfig-{READER}"))
        elif args.cmd == "stop":
            stop_component(lab, args.component, signal.Signals[f"SIG{args.signal}"])
        elif args.cmd == "start":
            start_component(lab, args.component)
        elif args.cmd == "silence-node":
            silence_node(lab, args.node)
            if args.wait:
                took = wait_for(
                    f"node {args.node} to be marked not ready", lambda: not node_ready(lab, args.node), 90, 1
                )
                log(f"node {args.node} marked not ready by the node lifecycle controller after {took:.0f}s")
        elif args.cmd == "restore-node":
            restore_node(lab, args.node)
        else:
            set_workload_ready(lab, args.kind, args.namespace, args.name, args.cmd == "ready", args.node)
    except LabError as exc:
        print(f"[lab] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
