"""Keeps the lab cluster's control-plane processes running, as the kubelet does for static pods."""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

POLL_SECONDS = 0.5


def load_components(cluster_dir: Path) -> list[dict[str, Any]]:
    for doc in yaml.safe_load_all((cluster_dir / "kwok.yaml").read_text()):
        if isinstance(doc, dict) and doc.get("kind") == "KwokctlConfiguration":
            return list(doc.get("components") or [])
    raise SystemExit(f"no KwokctlConfiguration in {cluster_dir / 'kwok.yaml'}")


def alive(pid: int) -> bool:
    """True for a running process; False for none or a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


# kwokctl's binary runtime starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
# kwok-controller once and never restarts them, but the controller-manager and the scheduler exit about 10 s
# after they lose the API server or etcd. This daemon adopts the processes through kwokctl's pid files and
# restarts any that died, unless the component is *held*: a file ``held/<component>`` in the cluster directory
# (written by labctl's fault helpers) means "stopped on purpose", like a static-pod manifest removed from
# /etc/kubernetes/manifests.
class Supervisor:
    def __init__(self, cluster_dir: Path) -> None:
        self.dir = cluster_dir
        self.components = load_components(cluster_dir)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        (cluster_dir / "held").mkdir(exist_ok=True)
        self.log = open(cluster_dir / "logs" / "supervisor.log", "a", buffering=1)  # noqa: SIM115

    def say(self, text: str) -> None:
        self.log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n")

    def start(self, comp: dict[str, Any]) -> None:
        name = comp["name"]
        env = dict(os.environ)
        env.update({e["name"]: e["value"] for e in comp.get("envs") or []})
        with open(self.dir / "logs" / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                [comp["binary"], *comp.get("args", [])],
                cwd=comp.get("workDir") or self.dir,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.children[name] = proc
        (self.dir / "pids" / f"{name}.pid").write_text(str(proc.pid))
        self.say(f"started {name} pid {proc.pid}")

    def tick(self) -> None:
        # labctl holds this lock while it marks a component held and kills it: without it, a tick
        # that checked "held" just before could see the process die and start it again.
        with open(self.dir / "supervisor.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._tick()

    def _tick(self) -> None:
        for proc in list(self.children.values()):
            proc.poll()  # reap our own exited children so they do not linger as zombies
        for comp in self.components:
            name = comp["name"]
            if (self.dir / "held" / name).exists():
                continue
            pid = read_pid(self.dir / "pids" / f"{name}.pid")
            if pid is None or not alive(pid):
                self.say(f"{name} is not running (pid {pid}); restarting")
                self.start(comp)

    def run(self) -> None:
        self.say(f"supervising {', '.join(c['name'] for c in self.components)}")
        while True:
            self.tick()
            time.sleep(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cluster_dir", type=Path)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    (args.cluster_dir / "supervisor.pid").write_text(str(os.getpid()))
    Supervisor(args.cluster_dir).run()


if __name__ == "__main__":
    main()
