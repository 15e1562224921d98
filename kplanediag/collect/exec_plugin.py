"""Running an exec credential plugin as kubectl runs it (it replaces the official client's runner).

- ``interactiveMode`` (client-go exec.go): Never gives the plugin no terminal; IfAvailable gives it
  one when standard input is a terminal; Always needs one, and without it is an error before the
  plugin runs. The v1 API requires the field; v1beta1 defaults to IfAvailable. kplanediag itself
  never prompts: only the plugin may, on the terminal it was given.
- ``provideClusterInfo``: KUBERNETES_EXEC_INFO's ``spec.cluster`` is the cluster as kubectl sends
  it (server, tls-server-name, insecure-skip-tls-verify, certificate-authority-data read from the
  CA file if needed, proxy-url, disable-compression, and the exec extension as ``config``), not
  the raw kubeconfig entry the official client sends.
- A relative ``command`` with a path separator is found from the kubeconfig file that holds the
  user; the plugin runs in the current directory (the official client runs it in the file's).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any

MODES = ("Never", "IfAvailable", "Always")
V1 = "client.authentication.k8s.io/v1"
_CLUSTER_FIELDS = ("server", "tls-server-name", "insecure-skip-tls-verify", "proxy-url", "disable-compression")


def _exception() -> type[Exception]:
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415

    return ConfigException


def stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def interactive(mode: str | None, api_version: str) -> bool:
    """Whether the plugin gets the terminal, by its interactiveMode; raises when it cannot run."""
    if mode is None:
        if api_version == V1:
            raise _exception()(f"exec: interactiveMode must be specified for {V1} (Never, IfAvailable or Always)")
        mode = "IfAvailable"
    if mode not in MODES:
        raise _exception()(f"exec: interactiveMode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "Never":
        return False
    terminal = stdin_is_terminal()
    if mode == "Always" and not terminal:
        raise _exception()(
            "exec plugin cannot support interactive mode: standard input is not a terminal "
            "(its interactiveMode is Always; kplanediag never prompts; run it on a terminal, or log in "
            "with the plugin first so that it has cached credentials)"
        )
    return terminal


def cluster_info(cluster: Any) -> dict[str, Any]:
    """The ExecCredential ``spec.cluster`` kubectl sends for a kubeconfig cluster entry (a ConfigNode)."""
    value: dict[str, Any] = dict(cluster.value)
    info: dict[str, Any] = {key: value[key] for key in _CLUSTER_FIELDS if key in value}
    data = value.get("certificate-authority-data")
    if not data and value.get("certificate-authority"):
        path = os.path.join(os.path.dirname(cluster.path or ""), str(value["certificate-authority"]))
        with open(os.path.expanduser(path), "rb") as handle:
            data = base64.b64encode(handle.read()).decode()
    if data:
        info["certificate-authority-data"] = data
    for extension in value.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("name") == "client.authentication.k8s.io/exec":
            info["config"] = extension.get("extension")
            break
    return info


class ExecPlugin:
    """Stands in for ``kubernetes.config.exec_provider.ExecProvider`` (same constructor and ``run``)."""

    def __init__(self, exec_config: Any, cwd: str | None, cluster: Any = None) -> None:
        for key in ("command", "apiVersion"):
            if key not in exec_config:
                raise _exception()(f"exec: malformed request. missing key {key!r}")
        self.api_version = str(exec_config["apiVersion"])
        command = str(exec_config["command"])
        # kubectl: a relative command with a path separator is relative to the kubeconfig file of the
        # user entry; a bare name is looked up in $PATH; the plugin runs in kplanediag's own directory
        home = getattr(exec_config, "path", None) or (os.path.join(cwd, "kubeconfig") if cwd else None)
        if os.sep in command and not os.path.isabs(command) and home:
            command = os.path.join(os.path.dirname(os.path.abspath(home)), command)
        self.args = [command, *[str(a) for a in exec_config.safe_get("args") or []]]
        self.env = dict(os.environ)
        for item in exec_config.safe_get("env") or []:
            self.env[str(item["name"])] = str(item["value"])
        self.mode = exec_config.safe_get("interactiveMode")
        self.cluster = cluster if exec_config.safe_get("provideClusterInfo") else None

    def run(self, previous_response: Any = None) -> Any:
        error = _exception()
        tty = interactive(self.mode, self.api_version)
        spec: dict[str, Any] = {"interactive": tty}
        if previous_response:
            spec["response"] = previous_response
        if self.cluster is not None:
            spec["cluster"] = cluster_info(self.cluster)
        self.env["KUBERNETES_EXEC_INFO"] = json.dumps(
            {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec}
        )
        try:
            process = subprocess.run(
                self.args,
                stdin=None if tty else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=None if tty else subprocess.PIPE,
                env=self.env,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise error(f"exec: cannot run the credential plugin: {exc}") from exc
        if process.returncode != 0:
            message = f"exec: process returned {process.returncode}"  # the official client's words
            if process.stderr and process.stderr.strip():
                message += f". {process.stderr.strip()[-500:]}"
            raise error(message)
        if process.stderr and process.stderr.strip():
            sys.stderr.write(process.stderr)  # kubectl shows what a plugin says on stderr
        try:
            data = json.loads(process.stdout)
        except ValueError as exc:
            raise error(f"exec: {self.args[0]}'s output is not an ExecCredential (not JSON: {exc})") from exc
        if not isinstance(data, dict):
            raise error(f"exec: {self.args[0]}'s output is not an ExecCredential object")
        for key in ("apiVersion", "kind", "status"):
            if key not in data:
                raise error(f"exec: malformed response from {self.args[0]}: missing key {key!r}")
        if data["apiVersion"] != self.api_version:
            raise error(f"exec: plugin api version {data['apiVersion']} does not match {self.api_version}")
        return data["status"]
