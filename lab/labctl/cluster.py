"""The kwokctl cluster itself: building the binaries, creating, supervising and deleting it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from lab.labctl.base import AUDIT_POLICY, ELECTED, HERE, Lab, LabError, kubectl, log, run, wait_for


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
    # the old path kept: configured() compares this text with the file a lab was made from
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


def binary_args(b: Path) -> list[str]:
    """kwokctl's flags for the pinned binaries in ``b`` (it never downloads one)."""
    return [
        *("--kube-apiserver-binary", str(b / "kube-apiserver")),
        *("--kube-controller-manager-binary", str(b / "kube-controller-manager")),
        *("--kube-scheduler-binary", str(b / "kube-scheduler")),
        *("--kwok-controller-binary", str(b / "kwok")),
        *("--etcd-binary", str(b / "etcd")),
    ]


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


def component_pid(lab: Lab, component: str) -> int | None:
    try:
        pid = int((lab.cluster_dir / "pids" / f"{component}.pid").read_text())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state in ("Z", "X") else pid
