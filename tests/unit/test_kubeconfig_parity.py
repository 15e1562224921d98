"""kubeconfig parity with kubectl, where no cluster is needed: $KUBECONFIG merge order, the proxy
kubectl would choose (Go's ProxyFromEnvironment rules), impersonation headers and their validation,
exec plugins' interactiveMode and provideClusterInfo, auth-provider limits, and the --as options
reaching the connection from either side of the command. ``connect`` sends no request, so each
case here is the real connection setup; what the API server does with it is e2e
(tests/e2e/test_kubeconfig_parity.py)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from kplanediag.collect import kubeconfig_files, proxy
from kplanediag.collect.errors import ConfigurationError, CredentialError
from kplanediag.collect.exec_plugin import cluster_info
from kplanediag.collect.impersonation import Impersonation
from kplanediag.collect.transport import connect

EXTRA = {"team a": ["x"]}
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", **config}))
    return path


def cluster(name: str, server: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "cluster": {"server": server, "insecure-skip-tls-verify": True, **extra}}


def context(name: str, cluster_name: str, user: str) -> dict[str, Any]:
    return {"name": name, "context": {"cluster": cluster_name, "user": user}}


def user(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "user": {"token": "t-" + name, **fields}}


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    """Two files both naming cluster ``shared``, context ``both`` and user ``u``, and each setting
    current-context: kubectl takes every one of them from the first."""
    one = write(
        tmp_path / "one",
        {
            "clusters": [cluster("shared", "https://10.0.0.1:6443")],
            "contexts": [context("both", "shared", "u"), context("first", "shared", "u")],
            "users": [user("u")],
            "current-context": "first",
        },
    )
    two = write(
        tmp_path / "two",
        {
            "clusters": [cluster("shared", "https://10.0.0.2:6443"), cluster("own", "https://10.0.0.3:6443")],
            "contexts": [context("both", "own", "u"), context("second", "own", "v")],
            "users": [user("u", token="second-file"), user("v")],
            "current-context": "second",
        },
    )
    return one, two


def test_kubeconfig_list_merged_as_kubectl_merges_it(two_files: tuple[Path, Path], tmp_path: Path) -> None:
    one, two = two_files
    empty = tmp_path / "empty"
    empty.write_text("")
    merged = kubeconfig_files.read(os.pathsep.join([str(tmp_path / "missing"), str(one), str(empty), str(two)]))
    assert merged.current_context == "first"  # the first file that sets it (the official client: the last)
    assert merged.files == (str(one), str(empty), str(two))  # a missing file skipped, an empty one read
    assert merged.cluster_of("both")["server"] == "https://10.0.0.1:6443"  # context and cluster of file one
    assert merged.cluster_of("second")["server"] == "https://10.0.0.3:6443"  # only in file two
    assert merged.user_of("second")["token"] == "t-v"
    assert merged.user_of("first")["token"] == "t-u"  # user u of the first file, not the second's
    # reversed order: everything from the other file
    back = kubeconfig_files.read(os.pathsep.join([str(two), str(one)]))
    assert back.current_context == "second" and back.cluster_of("both")["server"] == "https://10.0.0.3:6443"


def test_connect_uses_the_merged_config(two_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = two_files
    monkeypatch.setenv("KUBECONFIG", f"{one}{os.pathsep}{two}")
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    transport = connect(None, None, 5.0)  # current-context "first" of file one
    assert transport.server == "https://10.0.0.1:6443"
    assert transport._headers("application/json")["Authorization"] == "Bearer t-u"
    assert connect(None, "second", 5.0).server == "https://10.0.0.3:6443"
    with pytest.raises(ConfigurationError, match="Expected object with name zz"):
        connect(None, "zz", 5.0)
    with pytest.raises(ConfigurationError, match="none of the kubeconfig files exist"):
        kubeconfig_files.read(f"/nonexistent/a{os.pathsep}/nonexistent/b")
    with pytest.raises(ConfigurationError, match="No configuration found"):
        connect("/nonexistent/kubeconfig", None, 5.0)


def test_relative_paths_resolve_from_the_file_that_holds_the_entry(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "ca.crt").write_text(CA)
    one = write(tmp_path / "one", {"contexts": [context("x", "c", "u")], "users": [user("u")], "current-context": "x"})
    two = write(
        tmp_path / "b" / "two",
        {"clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.9", "certificate-authority": "ca.crt"}}]},
    )
    merged = kubeconfig_files.read(f"{one}{os.pathsep}{two}")
    assert merged.entries["clusters"]["c"][1] == str(two)
    info = cluster_info(merged.cluster_of("x"), str(two))
    assert base64.b64decode(info["certificate-authority-data"]).decode() == CA  # read from b/ca.crt


def test_impersonation_from_the_user_and_the_options(tmp_path: Path) -> None:
    config = write(
        tmp_path / "k",
        {
            "clusters": [cluster("c", "https://10.0.0.1:6443")],
            "contexts": [context("x", "c", "u"), context("bare", "c", "plain"), context("bad", "c", "groupsonly")],
            "users": [
                user("u", **{"as": "alice", "as-groups": ["g1", "g2"], "as-uid": "1", "as-user-extra": EXTRA}),
                user("plain"),
                user("groupsonly", **{"as-groups": ["g1"]}),
            ],
            "current-context": "x",
        },
    )  # fmt: skip
    headers = connect(str(config), None, 5.0)._headers("application/json")
    assert headers.getlist("Impersonate-User") == ["alice"]
    assert headers.getlist("Impersonate-Group") == ["g1", "g2"]  # two headers, not "g1, g2" in one
    assert headers.getlist("Impersonate-Uid") == ["1"]
    assert headers.getlist("Impersonate-Extra-team%20a") == ["x"]
    # --as and --as-group replace the user's fields; what is not given stays
    override = Impersonation(user="bob", groups=("ops",))
    headers = connect(str(config), None, 5.0, impersonate=override)._headers("application/json")
    assert headers.getlist("Impersonate-User") == ["bob"] and headers.getlist("Impersonate-Group") == ["ops"]
    assert headers.getlist("Impersonate-Uid") == ["1"]
    assert "Impersonate-User" not in connect(str(config), "bare", 5.0)._headers("application/json")
    with pytest.raises(ConfigurationError, match="requesting groups without impersonating a user"):
        connect(str(config), "bad", 5.0)
    with pytest.raises(ConfigurationError, match="requesting uid without impersonating a user"):
        connect(str(config), "bare", 5.0, impersonate=Impersonation(uid="7"))


ENV = {"HTTPS_PROXY": "http://proxy.example:3128", "HTTP_PROXY": "http://plain.example:3128"}


@pytest.mark.parametrize(
    ("server", "no_proxy", "expected"),
    [
        ("https://10.1.2.3:6443", "", "http://proxy.example:3128"),
        ("http://10.1.2.3:8080", "", "http://plain.example:3128"),  # http servers take HTTP_PROXY
        ("https://127.0.0.1:6443", "", None),  # Go never proxies loopback from the environment
        ("https://localhost:6443", "", None),
        ("https://[::1]:6443", "", None),
        ("https://10.1.2.3:6443", "10.1.2.3", None),
        ("https://10.1.2.3:6443", "10.0.0.0/8", None),  # CIDR
        ("https://10.1.2.3:6443", "10.1.2.3:443", "http://proxy.example:3128"),  # another port
        ("https://10.1.2.3:6443", "10.1.2.3:6443", None),
        ("https://api.corp.example:6443", "corp.example", None),  # the domain and its subdomains
        ("https://corp.example:6443", "corp.example", None),
        ("https://corp.example:6443", ".corp.example", "http://proxy.example:3128"),  # subdomains only
        ("https://api.corp.example:6443", "*.corp.example", None),
        ("https://notcorp.example:6443", "corp.example", "http://proxy.example:3128"),
        ("https://api.corp.example:6443", " other.example , CORP.example ", None),
        ("https://api.corp.example:6443", "*", None),
    ],
)
def test_the_proxy_kubectl_would_use(server: str, no_proxy: str, expected: str | None) -> None:
    chosen = proxy.choose(server, None, {**ENV, "NO_PROXY": no_proxy})
    assert (chosen.url if chosen else None) == expected


def test_proxy_url_wins_and_ignores_no_proxy() -> None:
    chosen = proxy.choose("https://127.0.0.1:6443", "http://127.0.0.1:9", {**ENV, "NO_PROXY": "*"})
    assert chosen == proxy.Proxy("http://127.0.0.1:9", "proxy-url")
    assert proxy.choose("https://10.1.2.3", None, {"https_proxy": "proxy.example:1"}) == proxy.Proxy(
        "http://proxy.example:1", "https_proxy"
    )  # no scheme: http, as Go parses it; lower-case names are read too
    assert proxy.choose("https://10.1.2.3", None, {"ALL_PROXY": "http://proxy.example:1"}) is None  # not Go's
    with pytest.raises(ConfigurationError, match="scheme 'ftp' is not supported"):
        proxy.choose("https://10.1.2.3", "ftp://proxy.example", {})


def test_connect_builds_the_pool_through_the_chosen_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(
        tmp_path / "k",
        {
            "clusters": [cluster("c", "https://10.0.0.1:6443", **{"proxy-url": "http://user:pa%3Ass@127.0.0.1:9"})],
            "contexts": [context("x", "c", "u")],
            "users": [user("u")],
            "current-context": "x",
        },
    )
    monkeypatch.setenv("NO_PROXY", "*")
    transport = connect(str(config), None, 5.0)
    assert transport.via == proxy.Proxy("http://user:pa%3Ass@127.0.0.1:9", "proxy-url")
    pool = transport._pool
    assert isinstance(pool, urllib3.ProxyManager)
    assert (
        pool.proxy_headers["proxy-authorization"]
        == urllib3.make_headers(proxy_basic_auth="user:pa:ss")["proxy-authorization"]
    )
    socks = yaml.safe_load(config.read_text())
    socks["clusters"][0]["cluster"]["proxy-url"] = "socks5://127.0.0.1:1080"
    config.write_text(yaml.safe_dump(socks))
    assert type(connect(str(config), None, 5.0)._pool).__name__ == "SOCKSProxyManager"


PLUGIN = """#!{python}
import json, os, sys
with open({record!r}, "w") as f:
    json.dump({{"info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]), "stdin_tty": os.isatty(0)}}, f)
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                   "status": {{"token": "from-plugin"}}}}))
"""


def exec_config(tmp_path: Path, mode: str | None, **cluster_extra: Any) -> tuple[Path, Path]:
    record = tmp_path / "record.json"
    plugin = tmp_path / "plugin"
    plugin.write_text(PLUGIN.format(python=sys.executable, record=str(record)))
    plugin.chmod(0o755)
    (tmp_path / "ca.crt").write_text(CA)
    exec_entry: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "./plugin",  # relative to the kubeconfig's directory, as kubectl resolves it
        "provideClusterInfo": True,
    }
    if mode is not None:
        exec_entry["interactiveMode"] = mode
    entry = {
        "server": "https://10.0.0.1:6443",
        "certificate-authority": "ca.crt",
        "tls-server-name": "kubernetes",
        "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "lab"}}],
        **cluster_extra,
    }
    config = write(
        tmp_path / "k",
        {
            "clusters": [{"name": "c", "cluster": entry}],
            "contexts": [context("x", "c", "p")],
            "users": [{"name": "p", "user": {"exec": exec_entry}}],
            "current-context": "x",
        },
    )
    return config, record


def test_exec_plugin_gets_the_cluster_as_kubectl_sends_it(tmp_path: Path) -> None:
    config, record = exec_config(tmp_path, "IfAvailable")
    transport = connect(str(config), None, 5.0)
    assert transport._headers("application/json")["Authorization"] == "Bearer from-plugin"
    seen = json.loads(record.read_text())
    cluster_info = seen["info"]["spec"]["cluster"]
    assert cluster_info["server"] == "https://10.0.0.1:6443" and cluster_info["tls-server-name"] == "kubernetes"
    assert cluster_info["config"] == {"audience": "lab"}
    assert "certificate-authority" not in cluster_info and "extensions" not in cluster_info  # kubectl's shape
    assert seen["info"]["kind"] == "ExecCredential"


def run_check(config: Path) -> subprocess.CompletedProcess[str]:
    """A check with the plugin's kubeconfig, its server moved to a closed port of 127.0.0.1 and
    its CA dropped (the exec runs happen before any connection)."""
    data = yaml.safe_load(config.read_text())
    entry = data["clusters"][0]["cluster"]
    entry.pop("certificate-authority")
    entry.update({"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True})
    config.write_text(yaml.safe_dump(data))
    return subprocess.run(
        [sys.executable, "-m", "kplanediag", "check", "--kubeconfig", str(config), "--request-timeout", "1"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.timeout(60)  # four CLI runs in subprocesses: a few seconds, past 10 on a loaded machine
def test_exec_interactive_modes_without_a_terminal(tmp_path: Path) -> None:
    config, record = exec_config(tmp_path, "Always")
    proc = run_check(config)
    assert proc.returncode == 3, proc.stderr
    assert "standard input is not a terminal" in proc.stderr and "Traceback" not in proc.stderr
    assert not record.exists()  # refused before the plugin ran
    for mode in ("Never", "IfAvailable"):
        config, record = exec_config(tmp_path, mode)
        proc = run_check(config)
        assert proc.returncode == 2, proc.stderr  # credentials given; nothing listens on 127.0.0.1:1
        seen = json.loads(record.read_text())
        assert seen["info"]["spec"]["interactive"] is False and seen["stdin_tty"] is False
    config, _ = exec_config(tmp_path, None)  # the v1 API requires interactiveMode, as kubectl says
    proc = run_check(config)
    assert proc.returncode == 3 and "interactiveMode must be specified" in proc.stderr, proc.stderr


def test_auth_providers_outside_the_client_are_a_clear_error(tmp_path: Path) -> None:
    def with_provider(provider: dict[str, Any]) -> Path:
        return write(
            tmp_path / "k",
            {
                "clusters": [cluster("c", "https://10.0.0.1:6443")],
                "contexts": [context("x", "c", "a")],
                "users": [{"name": "a", "user": {"auth-provider": provider}}],
                "current-context": "x",
            },
        )

    with pytest.raises(CredentialError, match=r"auth-provider 'azure' is not supported.*kubelogin"):
        connect(str(with_provider({"name": "azure", "config": {}})), None, 5.0)
    with pytest.raises(CredentialError, match="gcp auth-provider has no access-token"):
        connect(str(with_provider({"name": "gcp", "config": {}})), None, 5.0)
    token = connect(str(with_provider({"name": "gcp", "config": {"access-token": "ya29"}})), None, 5.0)
    assert token._headers("application/json")["Authorization"] == "Bearer ya29"  # the client's gcp support


@pytest.mark.parametrize("before", [True, False], ids=["group option", "command option"])
def test_as_options_reach_the_connection_from_either_side(tmp_path: Path, before: bool) -> None:
    config = write(
        tmp_path / "k",
        {
            "clusters": [cluster("c", "https://10.0.0.1:6443")],
            "contexts": [context("x", "c", "u")],
            "users": [user("u")],
            "current-context": "x",
        },
    )
    options = ["--as-group", "g", "--as-uid", "1"]
    args = [*options, "check"] if before else ["check", *options]
    proc = subprocess.run(
        [sys.executable, "-m", "kplanediag", *args, "--kubeconfig", str(config), "-o", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout)["error"]["message"].endswith(
        "requesting groups without impersonating a user (give --as, or the user's `as`)"
    )
