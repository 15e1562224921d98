"""Captures real watch responses from the lab cluster in both wire formats, for tests/unit/test_watch.py.

    make cluster-up && .venv/bin/python -m tests.unit.data.watch.capture

In its own namespace (kpd-watch-capture, deleted at the end) it watches pods as protobuf and as JSON
from the namespace's current resourceVersion with bookmarks and ``timeoutSeconds=15``, while kubectl
creates a pod, labels it and deletes it; the bodies are saved exactly as the API server sent them
(``pods.pb`` / ``pods.jsonl``, ending with the server's bookmark). Then a watch from
``resourceVersion=1`` of the node Leases (renewed every few seconds, so revision 1 has long left the
watch cache's window) saves the server's 410 answer (``gone.pb``, ``gone.jsonl``). First, with one pod
there (``present``), a streaming list of the namespace's pods (``sendInitialEvents=true``: its
ADDED events, then the bookmark that ends them) in both formats (``initial.pb``, ``initial.jsonl``).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

from kplanediag.collect.impersonation import Impersonation
from kplanediag.collect.lists import JSON, PROTOBUF, list_version
from kplanediag.collect.transport import Transport, connect
from lab import labctl

HERE = Path(__file__).parent
NS = "kpd-watch-capture"
PATH = f"/api/v1/namespaces/{NS}/pods"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
POD = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "watched", "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
    }
)


def _watch(transport: Transport, version: str, accept: str, seconds: int, path: str = PATH, **extra: str) -> bytes:
    fields = {"watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true", **extra}
    fields["timeoutSeconds"] = str(seconds)
    raw = transport.stream(path, fields, accept, 30.0)
    body: bytes = raw.read()
    raw.release_conn()
    return body


def main() -> None:
    kubeconfig = labctl.default_lab().kubeconfig
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig)]
    subprocess.run([*kubectl, "create", "namespace", NS], check=True)
    try:
        transport = connect(str(kubeconfig), None, 10.0, None, Impersonation(None, (), None))
        present = POD.replace('"watched"', '"present"')
        subprocess.run([*kubectl, "create", "-f", "-"], input=present.encode(), check=True)
        streaming = {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"}
        initial = {
            "initial.pb": _watch(transport, "1", f"{PROTOBUF}, {JSON}", 2, **streaming),
            "initial.jsonl": _watch(transport, "1", JSON, 2, **streaming),
        }
        listed = transport.get(PATH, {"limit": "10"}, PROTOBUF)
        version = list_version(listed.body, listed.content_type)
        bodies: dict[str, bytes] = dict(initial)
        threads = [
            threading.Thread(target=lambda a=accept, n=name: bodies.__setitem__(n, _watch(transport, version, a, 15)))
            for name, accept in (("pods.pb", f"{PROTOBUF}, {JSON}"), ("pods.jsonl", JSON))
        ]
        for thread in threads:
            thread.start()
        time.sleep(1)
        subprocess.run([*kubectl, "create", "-f", "-"], input=POD.encode(), check=True)
        subprocess.run([*kubectl, "-n", NS, "label", "pod", "watched", "captured=yes"], check=True)
        subprocess.run([*kubectl, "-n", NS, "delete", "pod", "watched", "--grace-period=0", "--force"], check=True)
        for thread in threads:
            thread.join()
        bodies["gone.pb"] = _watch(transport, "1", f"{PROTOBUF}, {JSON}", 2, LEASES)
        bodies["gone.jsonl"] = _watch(transport, "1", JSON, 2, LEASES)
        for name, body in bodies.items():
            (HERE / name).write_bytes(body)
            print(f"{name}: {len(body)} bytes")
    finally:
        subprocess.run([*kubectl, "delete", "namespace", NS, "--wait=false"], check=False)


if __name__ == "__main__":
    main()
