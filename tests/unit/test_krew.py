"""The krew plugin manifest (deploy/krew/planediag.yaml) against the fields and formats krew's own
validation requires, and the archive `make krew` builds: installed the way krew installs it (the
manifest's file operations, bin linked from another directory), its `kubectl-planediag` runs
`--version`, an offline check of a real capture and a live check's imports.

The archive test needs `make krew` (CI runs it first); without dist/krew it skips locally and fails
in CI (CI=true)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from kplanediag import __version__

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "krew" / "planediag.yaml"
BUILT = ROOT / "dist" / "krew" / "planediag.yaml"
CAPTURES = ROOT.parent / "shared" / "real-captures"

# krew's Plugin type (pkg/index/types.go) is decoded strictly: no other field is accepted
PLUGIN_KEYS = {"apiVersion", "kind", "metadata", "spec"}
SPEC_KEYS = {"version", "shortDescription", "description", "caveats", "homepage", "platforms"}
PLATFORM_KEYS = {"uri", "sha256", "selector", "files", "bin"}
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SEMVER = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
SHA256 = re.compile(r"^[a-f0-9]{64}$")


def validate(doc: dict[str, Any], filename: str) -> list[str]:
    """What krew's validation (pkg/index/validation) would refuse; [] when none."""
    errors = [f"unknown field {k}" for k in set(doc) - PLUGIN_KEYS]
    if doc.get("apiVersion") != "krew.googlecontainertools.github.com/v1alpha2":
        errors.append(f"apiVersion {doc.get('apiVersion')!r}")
    if doc.get("kind") != "Plugin":
        errors.append(f"kind {doc.get('kind')!r}")
    name = doc.get("metadata", {}).get("name", "")
    if not NAME.match(name) or name.startswith("kubectl"):
        errors.append(f"plugin name {name!r}")
    if f"{name}.yaml" != filename:
        errors.append(f"plugin name {name!r} does not match the file name {filename}")
    spec = doc.get("spec", {})
    errors += [f"unknown spec field {k}" for k in set(spec) - SPEC_KEYS]
    if not SEMVER.match(str(spec.get("version", ""))):
        errors.append(f"version {spec.get('version')!r} is not a semantic version with a v")
    if not spec.get("shortDescription"):
        errors.append("no shortDescription")
    if not spec.get("platforms"):
        errors.append("no platforms")
    for entry in spec.get("platforms", []):
        errors += [f"unknown platform field {k}" for k in set(entry) - PLATFORM_KEYS]
        labels = entry.get("selector", {}).get("matchLabels", {})
        if not labels.get("os") or not labels.get("arch"):
            errors.append(f"selector without os and arch: {entry.get('selector')}")
        if not str(entry.get("uri", "")).startswith("https://"):
            errors.append(f"uri {entry.get('uri')!r} is not https")
        if not SHA256.match(str(entry.get("sha256", ""))):
            errors.append(f"sha256 {entry.get('sha256')!r}")
        bin_ = str(entry.get("bin", ""))
        if not bin_ or bin_.startswith("/") or ".." in Path(bin_).parts:
            errors.append(f"bin {bin_!r} is not a path inside the installation")
        for op in entry.get("files", []):
            if set(op) != {"from", "to"} or not op["from"] or not op["to"]:
                errors.append(f"file operation {op}")
    return errors


def test_the_manifest_is_a_krew_plugin_for_linux_and_darwin() -> None:
    doc = yaml.safe_load(TEMPLATE.read_text())
    assert validate(doc, TEMPLATE.name) == []
    assert doc["metadata"]["name"] == "planediag"  # kubectl planediag
    assert doc["spec"]["version"] == f"v{__version__}"
    found = {
        (e["selector"]["matchLabels"]["os"], e["selector"]["matchLabels"]["arch"]) for e in doc["spec"]["platforms"]
    }
    assert found == {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")}
    for entry in doc["spec"]["platforms"]:
        assert entry["bin"] == "kubectl-planediag"  # the entry point pyproject also installs
        os_, arch = entry["selector"]["matchLabels"]["os"], entry["selector"]["matchLabels"]["arch"]
        assert entry["uri"].endswith(f"/v{__version__}/kplanediag-{os_}-{arch}.tar.gz")


def test_validation_refuses_what_krew_refuses() -> None:
    doc = yaml.safe_load(TEMPLATE.read_text())
    doc["spec"]["platforms"][0]["sha256"] = "not-a-digest"
    doc["spec"]["version"] = "0.1"
    doc["spec"]["extra"] = 1
    errors = validate(doc, "other.yaml")
    assert len(errors) == 4, errors


def host_platform() -> str:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), ""
    )
    return f"{platform.system().lower()}-{arch}"


@pytest.fixture
def built() -> dict[str, Any]:
    if not BUILT.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{BUILT} missing: CI runs `make krew` before the tests", pytrace=False)
        pytest.skip(f"{BUILT} missing (run `make krew`)")
    doc: dict[str, Any] = yaml.safe_load(BUILT.read_text())
    return doc


def install_like_krew(entry: dict[str, Any], archive: Path, tmp: Path) -> Path:
    """krew's install: unpack, apply the file operations into the plugin's directory, link bin."""
    unpacked, store, bindir = tmp / "unpacked", tmp / "store", tmp / "bin"
    for d in (unpacked, store, bindir):
        d.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    for op in entry["files"]:
        for source in unpacked.glob(op["from"]):
            target = store / op["to"] / source.name if op["to"] == "." else store / op["to"]
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
    link = bindir / "kubectl-planediag"
    link.symlink_to(store / entry["bin"])
    return link


@pytest.mark.timeout(180)
def test_the_built_archive_installs_and_runs(built: dict[str, Any], tmp_path: Path) -> None:
    assert validate(built, BUILT.name) == []
    assert built["spec"]["version"] == f"v{__version__}"
    for entry in built["spec"]["platforms"]:
        archive = BUILT.parent / entry["uri"].rsplit("/", 1)[1]
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == entry["sha256"], archive
    host = host_platform()
    entries = [e for e in built["spec"]["platforms"] if "-".join(e["selector"]["matchLabels"].values()) == host]
    if not entries:
        pytest.skip(f"no archive built for this machine ({host})")
    entry = entries[0]
    plugin = install_like_krew(entry, BUILT.parent / entry["uri"].rsplit("/", 1)[1], tmp_path)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}  # no PYTHONPATH, no venv

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(plugin), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False
        )

    version = run("--version")
    assert version.returncode == 0, version.stderr
    baked = (tmp_path / "store" / "lib" / "common" / "kplanediag" / "_build_info.py").read_text()
    commit = re.search(r"COMMIT = '([0-9a-f]{12}(-dirty)?)'", baked)
    assert commit, baked
    assert version.stdout.strip() == f"kplanediag {__version__} (commit {commit.group(1)})"

    capture = CAPTURES / "kubeadm-1.8-ha-master-kubelet-unknown.json"
    at = json.loads((CAPTURES / "capture-times.json").read_text())[capture.stem]
    offline = run("components", "-o", "json", "--from", str(capture), "--at", at)
    assert offline.returncode == 2, offline.stderr  # the real failure: master1's kubelet is down
    kubelets = {c["node"]: c["status"] for c in json.loads(offline.stdout)["components"] if c["name"] == "kubelet"}
    assert kubelets["k8s-master1"] == "down"

    kubeconfig = tmp_path / "kubeconfig"  # a closed port on this machine: the live path, its imports
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    live = run("check", "-o", "json", "--kubeconfig", str(kubeconfig))
    assert live.returncode == 2, live.stderr
    assert "KPD-100" in live.stdout and "Error" not in live.stderr
