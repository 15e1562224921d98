"""The lab cluster: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) run as local processes by kwokctl's binary runtime, kwok playing the kubelets.

``python -m lab.labctl up|down|status|env`` manages it; the fault helpers below (stop a process,
silence a node, make pods not ready) are used by the e2e tests and ``make demo``.

The API server keeps an audit log (``logs/audit.log`` in the cluster directory, policy
AUDIT_POLICY below): every request of every user but the control plane's own clients, at Metadata
level (who, verb, resource, answer; no bodies). The seed applies ``deploy/rbac.yaml``, and
``reader_kubeconfig`` writes a kubeconfig for its ServiceAccount ``kplanediag/kplanediag``: the
e2e suite runs kplanediag under that identity only, and reads its requests back from the log.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RBAC = HERE.parent / "deploy" / "rbac.yaml"
CLUSTER = "kplanediag-lab"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
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
class Lab:
    root: Path

    @property
    def workdir(self) -> Path:
        return self.root / "kwok"

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / CLUSTER

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


def default_lab() -> Lab:
    return Lab(cache_root() / "lab")


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


def create(lab: Lab) -> None:
    lab.root.mkdir(parents=True, exist_ok=True)
    policy = lab.root / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    config = (
        (HERE / "kwokctl.yaml.in")
        .read_text()
        .replace("@PKI@", str(lab.cluster_dir / "pki"))
        .replace("@AUDIT_POLICY@", str(policy))
    )
    (lab.root / "kwokctl.yaml").write_text(config)
    b = lab.bin
    t0 = time.monotonic()
    run(
        [
            str(b / "kwokctl"),
            "create",
            "cluster",
            "--name",
            CLUSTER,
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
    kubectl(lab, "apply", "-f", str(HERE / "seed" / "nodes.yaml"))
    wait_for("3 Ready nodes", lambda: ready_nodes(lab) == 3, 60)
    # Pods are refused until the controller-manager has created their namespace's "default"
    # ServiceAccount, moments after start: apply (idempotent) until every object is accepted.
    wait_for("the seed to be accepted", lambda: apply_ok(lab, HERE / "seed"), 60, 1)
    apply_rbac(lab)
    wait_settled(lab)
    log(f"seeded and settled in {time.monotonic() - t0:.1f}s")


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
    """Every seeded workload fully ready and both leader Leases held."""
    data = json.loads(kubectl(lab, "get", "deploy,ds,sts,lease", "-A", "-o", "json").stdout)
    for obj in data["items"]:
        st, kind = obj.get("status", {}), obj["kind"]
        if kind in ("Deployment", "StatefulSet") and st.get("readyReplicas", 0) != obj["spec"].get("replicas", 1):
            return False
        desired = st.get("desiredNumberScheduled", 0)
        if kind == "DaemonSet" and (desired == 0 or st.get("numberReady") != desired):
            return False
    fresh = {
        o["metadata"]["name"]
        for o in data["items"]
        if o["kind"] == "Lease" and o["metadata"]["namespace"] == "kube-system" and lease_fresh(o["spec"])
    }
    return {"kube-scheduler", "kube-controller-manager"} <= fresh


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
    return wait_for("the lab cluster to settle (workloads ready, leader Leases held)", lambda: settled(lab), timeout, 1)


def up(lab: Lab) -> None:
    build(lab)
    if lab.cluster_dir.exists() and not audited(lab):
        log("existing lab cluster has no audit log or another audit policy (made before it had one); recreating it")
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
            [str(lab.bin / "kwokctl"), "delete", "cluster", "--name", CLUSTER, "--kubeconfig", str(lab.kubeconfig)],
            lab,
            check=False,
        )
    log("lab cluster deleted")


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
        if name in ("kube-scheduler", "kube-controller-manager"):
            # a new instance waits for the old Lease to expire before it takes over
            wait_for(f"{name} to renew its Lease", functools.partial(lease_renewed_since, lab, name, since), 60)
    nodes = json.loads(kubectl(lab, "get", "nodes", "-o", "json").stdout)["items"]
    for node in nodes:
        if node["metadata"].get("labels", {}).get(NODE_LABEL) != "kwok":
            restore_node(lab, node["metadata"]["name"])
    reready_pods(lab)
    return wait_settled(lab, timeout)


# --- command line ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.labctl", description=__doc__.splitlines()[0])
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
    lab = default_lab()
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
