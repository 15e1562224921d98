"""kplanediag's own kubeconfig loading (collect/kubeconfig_load.py, issue 23 item 5), on kubeconfigs of
the shapes kubectl, kind, kubeadm, dex/kubelogin, GKE and a pod write: which credential each user gives,
in kubectl's precedence, the TLS files in memory, tokenFile and exec answers read again, the in-cluster
service account. ``connect`` sends no request, so each case is the real connection setup."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kplanediag.collect import auth, kubeconfig_load
from kplanediag.collect.errors import ConfigurationError, CredentialError
from kplanediag.collect.transport import Transport, connect

CA = "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBEx\n-----END CERTIFICATE-----\n"
KEY = (
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nQwOz3kS0ZqV0hYjyBQbOLWw0sU4Ne7\n-----END EC PRIVATE KEY-----\n"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def jwt(expires_in: float, **claims: Any) -> str:
    """An id-token as dex issues one (the signature is not checked by a client)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = {"iss": "https://dex.example.com", "sub": "CgVhbGljZRIFbG9jYWw", "aud": "kubernetes", "iat": now}
    body |= {"exp": int(now + expires_in), **claims}
    return f"{part({'alg': 'RS256', 'kid': 'a1b2'})}.{part(body)}.c2lnbmF0dXJl"


def kubeconfig(path: Path, user: dict[str, Any], **cluster: Any) -> Path:
    """kind's kubeconfig shape (one cluster, context and user), with ``user`` as the user entry."""
    entry = {"server": "https://127.0.0.1:40157", "certificate-authority-data": b64(CA), **cluster}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "preferences": {},
                "clusters": [{"name": "kind-lab", "cluster": entry}],
                "contexts": [{"name": "kind-lab", "context": {"cluster": "kind-lab", "user": "kind-lab"}}],
                "current-context": "kind-lab",
                "users": [{"name": "kind-lab", "user": user}],
            }
        )
    )
    return path


def authorization(transport: Transport) -> str | None:
    return transport._headers("application/json").get("Authorization")


def oidc(**config: Any) -> dict[str, Any]:
    base = {
        "client-id": "kubernetes",
        "client-secret": "ZXhhbXBsZS1hcHAtc2VjcmV0",
        "idp-issuer-url": "https://dex.example.com",
    }
    return {"auth-provider": {"name": "oidc", "config": {**base, **config}}}


def test_oidc_id_token_is_sent_while_valid(tmp_path: Path) -> None:
    token = jwt(3600)
    config = kubeconfig(tmp_path / "k", oidc(**{"id-token": token, "refresh-token": "ChlxcjN4"}))
    assert authorization(connect(str(config), None, 5.0)) == f"Bearer {token}"


@pytest.mark.parametrize("refresh", [True, False], ids=["with refresh-token", "without"])
def test_oidc_expired_id_token_is_a_credential_error(tmp_path: Path, refresh: bool) -> None:
    fields = {"id-token": jwt(-60), **({"refresh-token": "ChlxcjN4"} if refresh else {})}
    config = kubeconfig(tmp_path / "k", oidc(**fields))
    with pytest.raises(CredentialError, match=r"oidc auth-provider's id-token expired at 20\d\d-") as caught:
        connect(str(config), None, 5.0)
    assert ("kubectl oidc-login" in str(caught.value)) is refresh
    assert "log in again" in str(caught.value) or refresh


def test_oidc_expired_id_token_on_the_command_line_says_so(tmp_path: Path) -> None:
    """Before: the official client's refresh reached the stubbed ApiClient, `internal: RuntimeError`,
    and -o json printed nothing. Now a credentials error document, exit 3, no traceback."""
    config = kubeconfig(tmp_path / "k", oidc(**{"id-token": jwt(-3600), "refresh-token": "ChlxcjN4"}))
    proc = subprocess.run(
        [sys.executable, "-m", "kplanediag", "check", "--kubeconfig", str(config), "-o", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "internal" not in proc.stderr and "Traceback" not in proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["class"] == "credentials" and "kubelogin" in error["message"]
    assert "ChlxcjN4" not in proc.stdout + proc.stderr  # the refresh-token is never shown


def test_oidc_id_token_that_is_no_jwt(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "k", oidc(**{"id-token": "not-a-jwt"}))
    with pytest.raises(CredentialError, match="id-token is not valid: not a JWT"):
        connect(str(config), None, 5.0)


def gcp(**config: Any) -> dict[str, Any]:
    """GKE's pre-1.26 kubeconfig user (gcloud container clusters get-credentials)."""
    base = {"cmd-args": "config config-helper --format=json", "cmd-path": "/usr/lib/google-cloud-sdk/bin/gcloud"}
    return {"auth-provider": {"name": "gcp", "config": {**base, **config}}}


def test_gcp_access_token_while_valid_and_a_clear_error_after(tmp_path: Path) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = kubeconfig(tmp_path / "k", gcp(**{"access-token": "ya29.a0AfB_byC", "expiry": later}))
    assert authorization(connect(str(config), None, 5.0)) == "Bearer ya29.a0AfB_byC"
    earlier = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = kubeconfig(tmp_path / "k", gcp(**{"access-token": "ya29.a0AfB_byC", "expiry": earlier}))
    with pytest.raises(CredentialError, match=r"access-token expired at .*gke-gcloud-auth-plugin"):
        connect(str(config), None, 5.0)


def test_token_file_relative_trimmed_and_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets").mkdir()
    token_file = tmp_path / "secrets" / "token"
    token_file.write_text("first-token-0123\n")  # as `kubectl create token > file` leaves it
    config = kubeconfig(tmp_path / "k", {"tokenFile": "secrets/token"})
    transport = connect(str(config), None, 5.0)
    assert authorization(transport) == "Bearer first-token-0123"
    token_file.write_text("rotated-token-4567")
    assert authorization(transport) == "Bearer first-token-0123"  # read again only once a minute old
    monkeypatch.setattr(auth, "TOKEN_FILE_PERIOD", 0.0)
    assert authorization(transport) == "Bearer rotated-token-4567"
    token_file.unlink()
    assert authorization(transport) == "Bearer rotated-token-4567"  # a failed read keeps the last one


def test_token_file_missing(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "k", {"tokenFile": "gone", "token": "static-token-89"})
    assert authorization(connect(str(config), None, 5.0)) == "Bearer static-token-89"  # client-go's fallback
    config = kubeconfig(tmp_path / "k", {"tokenFile": "gone"})
    with pytest.raises(ConfigurationError, match=r"cannot use kubeconfig .*: cannot read the token file .*gone"):
        connect(str(config), None, 5.0)


def test_basic_auth(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "k", {"username": "admin", "password": "p:ss word"})
    expected = "Basic " + base64.b64encode(b"admin:p:ss word").decode()
    assert authorization(connect(str(config), None, 5.0)) == expected


def test_precedence_is_the_official_clients(tmp_path: Path) -> None:
    """auth-provider, then token, then exec (not run when a token is there), then basic auth."""
    never = {"apiVersion": "client.authentication.k8s.io/v1", "command": "/nonexistent", "interactiveMode": "Never"}
    both = {**oidc(**{"id-token": jwt(600)}), "token": "static-token-89"}
    assert (authorization(connect(str(kubeconfig(tmp_path / "k", both)), None, 5.0)) or "").startswith("Bearer eyJ")
    user = {"token": "static-token-89", "exec": never, "username": "u", "password": "p"}
    assert authorization(connect(str(kubeconfig(tmp_path / "k", user)), None, 5.0)) == "Bearer static-token-89"
    assert authorization(connect(str(kubeconfig(tmp_path / "k", {})), None, 5.0)) is None


def test_client_certificate_and_ca_stay_in_memory(tmp_path: Path) -> None:
    user = {"client-certificate-data": b64(CA), "client-key-data": b64(KEY)}
    transport = connect(str(kubeconfig(tmp_path / "k", user, **{"tls-server-name": "kubernetes"})), None, 5.0)
    tls = transport.settings.tls
    for path, content in ((tls.ca_file, CA), (tls.cert_file, CA), (tls.key_file, KEY)):
        assert path is not None and path.startswith(f"/proc/{os.getpid()}/fd/"), path
        assert Path(path).read_text() == content
    assert os.listdir(tmp_path) == ["k"]  # nothing written beside it (nor in /tmp: memfd)
    pool_kw = transport._pool.connection_pool_kw
    assert pool_kw["server_hostname"] == "kubernetes" and pool_kw["key_file"] == tls.key_file


def test_files_relative_to_their_kubeconfig_and_insecure(tmp_path: Path) -> None:
    """kubeadm's admin.conf copied with its files beside it; an http server reads no TLS files."""
    (tmp_path / "pki").mkdir()
    for name, text in (("ca.crt", CA), ("admin.crt", CA), ("admin.key", KEY)):
        (tmp_path / "pki" / name).write_text(text)
    user = {"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key"}
    config = kubeconfig(tmp_path / "k", user, **{"certificate-authority": "pki/ca.crt"})
    yaml_doc = yaml.safe_load(config.read_text())
    del yaml_doc["clusters"][0]["cluster"]["certificate-authority-data"]
    config.write_text(yaml.safe_dump(yaml_doc))
    tls = connect(str(config), None, 5.0).settings.tls
    assert (tls.ca_file, tls.key_file) == (str(tmp_path / "pki" / "ca.crt"), str(tmp_path / "pki" / "admin.key"))
    user["client-key"] = "pki/missing.key"
    with pytest.raises(ConfigurationError, match=r"File does not exist: .*pki/missing\.key"):
        connect(str(kubeconfig(tmp_path / "k", user)), None, 5.0)
    insecure = connect(str(kubeconfig(tmp_path / "k", {}, **{"insecure-skip-tls-verify": True})), None, 5.0)
    assert insecure.settings.tls.insecure and insecure._pool.connection_pool_kw["cert_reqs"] == 0
    plain = connect(str(kubeconfig(tmp_path / "k", user, server="http://127.0.0.1:8080")), None, 5.0)
    assert plain.settings.tls.ca_file is None and plain.settings.tls.key_file is None


PLUGIN = """#!{python}
import json, os, sys
with open({count!r}, "a") as f:
    f.write("run\\n")
status = {{"token": "exec-token-%d" % len(open({count!r}).readlines())}}
if {expires!r} is not None:
    status["expirationTimestamp"] = {expires!r}
if {certs!r}:
    status = {{"clientCertificateData": {cert!r}, "clientKeyData": {key!r}}}
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": status}}))
"""


def exec_kubeconfig(tmp_path: Path, expires: str | None, certs: bool = False) -> tuple[Path, Path]:
    """An EKS-style exec user (aws eks get-token) played by a script that counts its runs."""
    count, plugin = tmp_path / "runs", tmp_path / f"plugin-{len(list(tmp_path.iterdir()))}"
    plugin.write_text(
        PLUGIN.format(python=sys.executable, count=str(count), expires=expires, certs=certs, cert=CA, key=KEY)
    )
    plugin.chmod(0o755)
    entry: dict[str, Any] = {"apiVersion": "client.authentication.k8s.io/v1", "interactiveMode": "Never"}
    entry |= {"command": str(plugin), "args": ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod"]}
    return kubeconfig(tmp_path / "k", {"exec": entry}), count


def runs(count: Path) -> int:
    return len(count.read_text().splitlines()) if count.exists() else 0


def test_exec_answer_kept_until_it_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config, count = exec_kubeconfig(tmp_path, later)
    first = connect(str(config), None, 5.0)
    assert authorization(first) == "Bearer exec-token-1"
    assert authorization(connect(str(config), None, 5.0)) == "Bearer exec-token-1" and runs(count) == 1  # kept
    monkeypatch.setattr(time, "time", lambda: datetime.now(UTC).timestamp() + 15 * 60)  # 15 minutes on
    assert authorization(first) == "Bearer exec-token-2" and runs(count) == 2  # run again by the Transport


def test_exec_answer_without_expiry_is_not_kept(tmp_path: Path) -> None:
    config, count = exec_kubeconfig(tmp_path, None)
    assert authorization(connect(str(config), None, 5.0)) == "Bearer exec-token-1"
    assert authorization(connect(str(config), None, 5.0)) == "Bearer exec-token-2" and runs(count) == 2


def test_exec_client_certificate_in_memory(tmp_path: Path) -> None:
    config, _ = exec_kubeconfig(tmp_path, None, certs=True)
    transport = connect(str(config), None, 5.0)
    assert authorization(transport) is None
    assert transport.settings.tls.key_file is not None and Path(transport.settings.tls.key_file).read_text() == KEY


def test_in_cluster_service_account(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text(CA)
    (tmp_path / "token").write_text("eyJhbGciOiJSUzI1NiJ9.sa.sig")
    env = {"KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "443"}
    settings = kubeconfig_load.in_cluster(env, str(tmp_path))
    assert settings.server == "https://[fd00:10:96::1]:443" and settings.tls.ca_file == str(tmp_path / "ca.crt")
    assert settings.auth.header() == "Bearer eyJhbGciOiJSUzI1NiJ9.sa.sig"
    (tmp_path / "token").unlink()
    with pytest.raises(ConfigurationError, match="in-cluster service account: cannot read the token file"):
        kubeconfig_load.in_cluster(env, str(tmp_path))
    with pytest.raises(ConfigurationError, match="Service host/port is not set"):
        kubeconfig_load.in_cluster({}, str(tmp_path))


def test_unknown_names_and_no_current_context(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "k", {"token": "static-token-89"})
    with pytest.raises(ConfigurationError, match="Expected object with name nope in contexts list"):
        connect(str(config), "nope", 5.0)
    doc = yaml.safe_load(config.read_text())
    doc["contexts"][0]["context"]["cluster"] = "gone"
    del doc["current-context"]
    config.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigurationError, match="no context given and no current-context set"):
        connect(str(config), None, 5.0)
    with pytest.raises(ConfigurationError, match="Expected object with name gone in clusters list"):
        connect(str(config), "kind-lab", 5.0)
