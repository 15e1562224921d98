"""No secret leaks: the bearer token, the client key and the client certificate of the kubeconfig
(or of an exec credential plugin) never appear in what kplanediag prints, even with ``-v`` and its
tracebacks, nor in a saved snapshot; and no private key is ever written to TMPDIR, not even while
a run waits, nor after it is ended by SIGTERM or SIGKILL (the key files live in memory only).

Each test is a job started, with the others, six at a time when the module starts (as in
test_faults.py); the test waits for its own and re-raises what it raised."""

from __future__ import annotations

import base64
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.broken.conftest import (
    PKI,
    TOKEN,
    FakeAPIServer,
    Reply,
    child_env,
    finish,
    json_reply,
    kubeconfig_doc,
    record,
    run_kpd,
    server_context,
    spawn_kpd,
)

EXEC = {"apiVersion": "client.authentication.k8s.io/v1", "interactiveMode": "Never"}


def secrets(pki: PKI) -> dict[str, str]:
    """Every form in which the kubeconfig carries a secret, and the PEM lines of the key."""
    found = {"token": TOKEN}
    for what, pem in (("client key", pki.client.key_pem()), ("client certificate", pki.client.cert_pem())):
        found[f"{what} (base64)"] = base64.b64encode(pem).decode()
        for i, line in enumerate(pem.decode().splitlines()):
            if not line.startswith("-----"):
                found[f"{what} (PEM line {i})"] = line
    return found


def assert_no_secret(pki: PKI, *texts: str) -> None:
    for text in texts:
        assert "PRIVATE KEY" not in text
        for what, secret in secrets(pki).items():
            assert secret not in text, f"the {what} leaked"


def key_files(where: Path) -> list[Path]:
    """Files under ``where`` holding a private key."""
    return [p for p in where.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]


def exec_plugin(where: Path, pki: PKI, answer: str = "cert") -> Path:
    """An exec credential plugin that answers a token, or a client certificate and key (as some
    plugins do; the client then writes them to "temporary files")."""
    status = (
        {"token": TOKEN}
        if answer == "token"
        else {"clientCertificateData": pki.client.cert_pem().decode(), "clientKeyData": pki.client.key_pem().decode()}
    )
    credential = {**EXEC, "kind": "ExecCredential", "status": status}
    plugin = where / "plugin"
    plugin.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(credential))})\n")
    plugin.chmod(0o755)
    return plugin


def tmpdir_of(where: Path) -> Path:
    tmpdir = where / "tmp"
    tmpdir.mkdir(exist_ok=True)
    return tmpdir


def kubeconfig_file(where: Path, pki: PKI, url: str, **options: Any) -> Path:
    path = where / "kubeconfig"
    path.write_text(json.dumps(kubeconfig_doc(url, pki, **options)))
    return path


def tls_server(pki: PKI, pair: str = "server") -> FakeAPIServer:
    return FakeAPIServer(server_context(getattr(pki, pair), pki.ca))


def verbose_run(fault: str) -> Callable[[PKI, Path], None]:
    def job(pki: PKI, where: Path) -> None:
        server = tls_server(pki, "rogue_server" if fault == "server-certificate-of-another-ca" else "server")
        try:
            if fault == "version-401":
                server.route = lambda r: json_reply({"kind": "Status", "message": "Unauthorized"}, 401)
            if fault == "lists-403":
                server.route = lambda r: None if r.path == "/version" else json_reply({"kind": "Status"}, 403)
            user = {}
            if fault == "client-key-of-another-certificate":  # the client key, with the server's certificate
                user = {"client-certificate-data": base64.b64encode(pki.server.cert_pem()).decode()}
            kubeconfig = kubeconfig_file(where, pki, server.url, auth="both", user=user)
            env = child_env(tmpdir_of(where))
            run = run_kpd(["check", "-v", "-o", "json", "--kubeconfig", str(kubeconfig)], env=env)
            record(f"secrets: -v, {fault}", run, run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "")
            assert run.code in ((0, 1, 2) if fault in ("healthy", "lists-403") else (3,)), run.stderr
            assert_no_secret(pki, run.stdout, run.stderr)
            assert key_files(tmpdir_of(where)) == []
            if fault in ("healthy", "version-401", "lists-403"):  # the credentials were really sent
                assert server.requests[0].headers.get("authorization") == f"Bearer {TOKEN}"
                assert server.client_names[:1] == ["kpd-test"]
        finally:
            server.close()

    return job


PASSWORD = "pw-in-the-url-7f3a9c"


def userinfo_in_url(pki: PKI, where: Path) -> None:
    """A server URL with a user and password (``https://ops:PASSWORD@host``): the request goes out,
    and the password, the user's name and the userinfo appear in no format, no saved snapshot, no
    error message and no last-known cache file name or content."""
    server = tls_server(pki)
    try:
        url = server.url.replace("https://", f"https://ops-user:{PASSWORD}@", 1)
        kubeconfig = kubeconfig_file(where, pki, url, auth="both")
        cache = where / "cache"
        env = child_env(tmpdir_of(where), XDG_CACHE_HOME=str(cache))
        env.pop("KPLANEDIAG_NO_LAST_KNOWN")
        texts = []
        for output in ("table", "json", "markdown", "html", "junit", "yaml"):
            run = run_kpd(["check", "-v", "-o", output, "--kubeconfig", str(kubeconfig)], env=env)
            assert run.code in (0, 1, 2), run.stderr
            texts += [run.stdout, run.stderr]
        saved = where / "saved.json"
        run = run_kpd(["snapshot", "save", str(saved), "--kubeconfig", str(kubeconfig)], env=env)
        assert run.code == 0, run.stderr
        texts.append(saved.read_text())
        cached = [p for p in cache.rglob("*") if p.is_file()]
        assert cached, "the live check kept no last-known state"
        texts += [str(p) for p in cached] + [p.read_text() for p in cached]
        server.route = lambda r: Reply(raw=b"garbage\r\n\r\n")  # an error message that names the URL
        run = run_kpd(["check", "-v", "--kubeconfig", str(kubeconfig), "--no-last-known"], env=env)
        assert run.code == 2 and "unreachable" in run.stdout, run.stderr  # a report that says so
        texts += [run.stdout, run.stderr]
        assert any(server.url.split("://", 1)[1] in t for t in texts)  # the host is shown, not hidden
        for text in texts:
            assert PASSWORD not in text and "ops-user" not in text
        assert_no_secret(pki, *texts)
    finally:
        server.close()


def echoing_server(pki: PKI, where: Path) -> None:
    """A server (or a proxy before it) whose errors echo the request's headers: the bearer token
    never reaches the report, its JSON or a saved snapshot (the other words of the error do)."""
    server = tls_server(pki)

    def echo(r: Any) -> Reply | None:
        if r.path in ("/version", "/livez", "/readyz"):
            return None
        said = "; ".join(f"{k}: {v}" for k, v in sorted(r.headers.items(), key=lambda kv: kv[0] != "authorization"))
        return json_reply({"kind": "Status", "message": f"upstream refused {r.path} ({said})"}, 502)

    server.route = echo
    try:
        kubeconfig = kubeconfig_file(where, pki, server.url, auth="token")
        texts = []
        for output in ("table", "json", "markdown"):
            run = run_kpd(["check", "-v", "-o", output, "--kubeconfig", str(kubeconfig)], env=child_env())
            assert run.code in (1, 2, 3), run.stderr
            texts += [run.stdout, run.stderr]
        saved = where / "saved.json"
        run_kpd(["snapshot", "save", str(saved), "--kubeconfig", str(kubeconfig)], env=child_env())
        texts.append(saved.read_text() if saved.exists() else "")
        assert server.requests[0].headers.get("authorization") == f"Bearer {TOKEN}"
        assert any("upstream refused" in t for t in texts)  # the server's words do arrive
        assert_no_secret(pki, *texts)
    finally:
        server.close()


def exec_credentials(answer: str) -> Callable[[PKI, Path], None]:
    def job(pki: PKI, where: Path) -> None:
        server = tls_server(pki)
        try:
            plugin = exec_plugin(where, pki, answer)
            kubeconfig = kubeconfig_file(
                where, pki, server.url, auth="none", user={"exec": {**EXEC, "command": str(plugin)}}
            )
            run = run_kpd(
                ["check", "-v", "-o", "json", "--kubeconfig", str(kubeconfig)], env=child_env(tmpdir_of(where))
            )
            assert run.code in (0, 1, 2), run.stderr
            if answer == "token":
                assert server.requests[0].headers.get("authorization") == f"Bearer {TOKEN}"
            else:
                assert server.client_names[:1] == ["kpd-test"]
            assert_no_secret(pki, run.stdout, run.stderr)
            assert key_files(tmpdir_of(where)) == []
        finally:
            server.close()

    return job


def snapshot_save(pki: PKI, where: Path) -> None:
    server = tls_server(pki)
    try:
        saved = where / "incident.json"
        kubeconfig = kubeconfig_file(where, pki, server.url, auth="both")
        run = run_kpd(["snapshot", "save", str(saved), "-v", "--kubeconfig", str(kubeconfig)])
        assert run.code == 0, run.stderr
        assert_no_secret(pki, run.stdout, run.stderr, saved.read_text())
    finally:
        server.close()


def ended_while_waiting(how: signal.Signals, credentials: str) -> Callable[[PKI, Path], None]:
    def job(pki: PKI, where: Path) -> None:
        server = tls_server(pki)
        server.route = lambda r: Reply(hang=True) if r.path == "/api/v1/pods" else None
        tmpdir = tmpdir_of(where)
        try:
            if credentials == "kubeconfig":
                kubeconfig = kubeconfig_file(where, pki, server.url, auth="cert")
            else:
                plugin = exec_plugin(where, pki)
                kubeconfig = kubeconfig_file(
                    where, pki, server.url, auth="none", user={"exec": {**EXEC, "command": str(plugin)}}
                )
            start = time.monotonic()
            proc = spawn_kpd(["check", "--kubeconfig", str(kubeconfig), "--request-timeout", "30"], child_env(tmpdir))
            assert server.wait_for("/api/v1/pods", timeout=30)
            assert key_files(tmpdir) == [], "a key file while the run waits"
            proc.send_signal(how)
            run = finish(proc, start, timeout=30)
            assert server.client_names[:1] == ["kpd-test"]  # it connected with its client certificate
            assert run.code == (3 if how == signal.SIGTERM else -signal.SIGKILL), run.stderr
            assert list(tmpdir.iterdir()) == [], f"left in TMPDIR after {how.name}"
        finally:
            server.close()

    return job


JOBS: dict[str, Callable[[PKI, Path], None]] = {
    **{
        f"verbose-{fault}": verbose_run(fault)
        for fault in (
            "healthy",
            "version-401",
            "lists-403",
            "server-certificate-of-another-ca",
            "client-key-of-another-certificate",
        )
    },
    "exec-plugin-token": exec_credentials("token"),
    "exec-plugin-client-certificate": exec_credentials("cert"),
    "snapshot-save": snapshot_save,
    "userinfo-in-server-url": userinfo_in_url,
    "server-echoing-request-headers": echoing_server,
    **{
        f"tmpdir-after-{how.name}-{credentials}": ended_while_waiting(how, credentials)
        for how in (signal.SIGTERM, signal.SIGKILL)
        for credentials in ("kubeconfig", "exec-plugin")
    },
}


@pytest.fixture(scope="module")
def jobs(
    request: pytest.FixtureRequest, pki: PKI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[None]]]:
    """The selected jobs, started at once, six at a time."""
    wanted = {
        callspec.params["name"]
        for item in request.session.items
        if item.name.startswith("test_no_secret[") and (callspec := getattr(item, "callspec", None)) is not None
    }
    pool = ThreadPoolExecutor(6)
    yield {name: pool.submit(job, pki, tmp_path_factory.mktemp(name)) for name, job in JOBS.items() if name in wanted}
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("name", JOBS)
def test_no_secret(name: str, jobs: dict[str, Future[None]]) -> None:
    jobs[name].result(timeout=55)
