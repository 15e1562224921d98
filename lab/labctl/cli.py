"""The lab cluster: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) run by kwokctl, kwok playing the kubelets: its command line, ``python -m lab.labctl``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from lab.labctl.base import CONTROL_PLANE, FLAVOURS, KUBEADM, READER, Lab, LabError, default_lab, log, wait_for
from lab.labctl.cluster import build, down
from lab.labctl.faults import (
    node_ready,
    restore_all,
    restore_node,
    set_workload_ready,
    silence_node,
    start_component,
    stop_component,
)
from lab.labctl.identity import reader_kubeconfig
from lab.labctl.seeding import up


def parser() -> argparse.ArgumentParser:
    """Every subcommand and its options (the Makefile, .ci/run, the README and the tests call them)."""
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
    return parser


def dispatch(lab: Lab, args: argparse.Namespace) -> None:
    """Run one parsed subcommand on ``lab``; LabError says why it could not."""
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
            took = wait_for(f"node {args.node} to be marked not ready", lambda: not node_ready(lab, args.node), 90, 1)
            log(f"node {args.node} marked not ready by the node lifecycle controller after {took:.0f}s")
    elif args.cmd == "restore-node":
        restore_node(lab, args.node)
    else:
        set_workload_ready(lab, args.kind, args.namespace, args.name, args.cmd == "ready", args.node)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    lab = default_lab(args.flavour)
    try:
        dispatch(lab, args)
    except LabError as exc:
        print(f"[lab] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0
