"""Running an exec credential plugin as kubectl runs it (interactiveMode, provideClusterInfo, the
kubeconfig-relative command), bounded by the run's deadline, its expiring answers kept per process."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import Any

from kplanediag.collect.errors import CredentialError

MODES = ("Never", "IfAvailable", "Always")
V1 = "client.authentication.k8s.io/v1"
_CLUSTER_FIELDS = ("server", "tls-server-name", "insecure-skip-tls-verify", "proxy-url", "disable-compression")
EXPIRY_MARGIN = 10.0  # seconds: an answer that expires within this is run again (client-go's leeway)
_CACHE: dict[str, tuple[dict[str, Any], float]] = {}  # the plugin's request -> (status, expiry as time.time())
_CACHE_LOCK = threading.Lock()


class ExecError(CredentialError):
    """The plugin could not give credentials; the message is kubectl's or the plugin's."""


def stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def interactive(mode: str | None, api_version: str) -> bool:
    """Whether the plugin gets the terminal, by its interactiveMode (client-go exec.go: Never gives it
    none, IfAvailable one when stdin is a terminal, Always needs one); raises when it cannot run."""
    if mode is None:
        if api_version == V1:
            raise ExecError(f"exec: interactiveMode must be specified for {V1} (Never, IfAvailable or Always)")
        mode = "IfAvailable"
    if mode not in MODES:
        raise ExecError(f"exec: interactiveMode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "Never":
        return False
    terminal = stdin_is_terminal()
    if mode == "Always" and not terminal:
        raise ExecError(
            "exec plugin cannot support interactive mode: standard input is not a terminal "
            "(its interactiveMode is Always; kplanediag never prompts; run it on a terminal, or log in "
            "with the plugin first so that it has cached credentials)"
        )
    return terminal


def cluster_info(cluster: dict[str, Any], cluster_file: str | None) -> dict[str, Any]:
    """The ExecCredential ``spec.cluster`` kubectl sends for a kubeconfig cluster entry: its connection
    fields, the CA as data (read from its file if need be), the exec extension as ``config``."""
    info: dict[str, Any] = {key: cluster[key] for key in _CLUSTER_FIELDS if key in cluster}
    data = cluster.get("certificate-authority-data")
    if not data and cluster.get("certificate-authority"):
        path = os.path.join(os.path.dirname(cluster_file or ""), str(cluster["certificate-authority"]))
        with open(os.path.expanduser(path), "rb") as handle:
            data = base64.b64encode(handle.read()).decode()
    if data:
        info["certificate-authority-data"] = data
    for extension in cluster.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("name") == "client.authentication.k8s.io/exec":
            info["config"] = extension.get("extension")
            break
    return info


def expiry_of(status: dict[str, Any]) -> float | None:
    """The answer's ``expirationTimestamp`` as a time.time() value; None: it does not expire."""
    stamp = status.get("expirationTimestamp")
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise ExecError(f"exec: the plugin's expirationTimestamp {stamp!r} is not a time") from exc


class ExecPlugin:
    """One user's ``exec`` entry: ``run`` gives its ExecCredential status, from the process cache while
    an earlier answer has not expired (client-go keeps them so; one without expiry is not kept)."""

    def __init__(
        self, config: dict[str, Any], user_file: str | None, cluster: dict[str, Any], cluster_file: str | None
    ) -> None:
        for key in ("command", "apiVersion"):
            if key not in config:
                raise ExecError(f"exec: malformed request. missing key {key!r}")
        self.api_version = str(config["apiVersion"])
        command = str(config["command"])
        # kubectl: a relative command with a path separator is relative to the kubeconfig file of the
        # user entry; a bare name is looked up in $PATH; the plugin runs in kplanediag's own directory
        if os.sep in command and not os.path.isabs(command) and user_file:
            command = os.path.join(os.path.dirname(os.path.abspath(user_file)), command)
        self.args = [command, *[str(a) for a in config.get("args") or []]]
        self.env = {str(item["name"]): str(item["value"]) for item in config.get("env") or []}
        self.mode = config.get("interactiveMode")
        self.cluster = cluster_info(cluster, cluster_file) if config.get("provideClusterInfo") else None

    def _key(self) -> str:
        return json.dumps([self.api_version, self.args, sorted(self.env.items()), self.cluster], default=str)

    def run(self, timeout: float | None = None) -> dict[str, Any]:
        """The credential's status (token, or clientCertificateData and clientKeyData)."""
        key = self._key()
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is not None and cached[1] - EXPIRY_MARGIN > time.time():
            return cached[0]
        status = self._run(timeout)
        expiry = expiry_of(status)
        if expiry is not None:
            with _CACHE_LOCK:
                _CACHE[key] = (status, expiry)
        return status

    def _run(self, timeout: float | None) -> dict[str, Any]:
        tty = interactive(self.mode, self.api_version)
        spec: dict[str, Any] = {"interactive": tty}
        if self.cluster is not None:
            spec["cluster"] = self.cluster
        request = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec}
        env = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": json.dumps(request)}
        try:
            process = subprocess.run(
                self.args,
                stdin=None if tty else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=None if tty else subprocess.PIPE,
                env=env,
                text=True,
                check=False,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise ExecError(
                f"the exec credential plugin did not answer within {timeout or 0:.1f}s "
                "(what was left of the run's deadline)"
            ) from exc
        except OSError as exc:
            raise ExecError(f"exec: cannot run the credential plugin: {exc}") from exc
        return self._status(process)

    def _status(self, process: subprocess.CompletedProcess[str]) -> dict[str, Any]:
        if process.returncode != 0:
            message = f"exec: process returned {process.returncode}"  # the official client's words
            if process.stderr and process.stderr.strip():
                message += f". {process.stderr.strip()[-500:]}"
            raise ExecError(message)
        if process.stderr and process.stderr.strip():
            sys.stderr.write(process.stderr)  # kubectl shows what a plugin says on stderr
        try:
            data = json.loads(process.stdout)
        except ValueError as exc:
            raise ExecError(f"exec: {self.args[0]}'s output is not an ExecCredential (not JSON: {exc})") from exc
        if not isinstance(data, dict):
            raise ExecError(f"exec: {self.args[0]}'s output is not an ExecCredential object")
        for key in ("apiVersion", "kind", "status"):
            if key not in data:
                raise ExecError(f"exec: malformed response from {self.args[0]}: missing key {key!r}")
        if data["apiVersion"] != self.api_version:
            raise ExecError(f"exec: plugin api version {data['apiVersion']} does not match {self.api_version}")
        status = data["status"]
        if not isinstance(status, dict) or not (status.get("token") or status.get("clientCertificateData")):
            raise ExecError("exec: missing token or clientCertificateData field in plugin output")
        if status.get("clientCertificateData") and not status.get("clientKeyData"):
            raise ExecError("exec: missing clientKeyData field in plugin output")
        return status
