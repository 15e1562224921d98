"""The kubeconfig and credential tests against the oldest and the newest official client that
pyproject.toml allows, each in a venv of its own under build/: `make deps-range`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "kubernetes"
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis")  # what the tests below need of the test extras
# every test that goes through the live path's kubeconfig loading: contexts, merging, exec plugins,
# OIDC and gcp auth-providers, in-cluster, tls-server-name, proxies, impersonation, memory-only keys
TESTS = (
    "tests/unit/test_client_surface.py",
    "tests/unit/test_kubeconfig_parity.py",
    "tests/unit/test_credentials.py",
    "tests/unit/test_transport_errors.py",
    "tests/unit/test_kubectl_grammar.py",
    "tests/unit/test_config.py",
    "tests/unit/test_imports.py",
    "tests/broken/test_secrets.py",
)
INSTALL_TIMEOUT = 900  # seconds


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def requirements() -> tuple[str, list[str], list[str]]:
    """(the kubernetes requirement, the other runtime requirements, the test tools' requirements)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = list(project["dependencies"])
    client = [r for r in runtime if _name(r) == PACKAGE]
    if len(client) != 1:
        raise SystemExit(f"pyproject.toml: expected one {PACKAGE} requirement, found {client}")
    tools = [r for r in project["optional-dependencies"]["test"] if _name(r) in TEST_TOOLS]
    tools.append("pysocks")  # a socks5 proxy-url's test (in the dev venv it comes with selenium)
    return client[0], [r for r in runtime if _name(r) != PACKAGE], tools


def oldest(requirement: str) -> str:
    """The pin of the range's lower bound: ``kubernetes>=30.1.0,<38`` gives ``kubernetes==30.1.0``."""
    found = re.search(r">=\s*([0-9][0-9.]*)", requirement)
    if not found or not re.search(r"<\s*[0-9]", requirement):
        raise SystemExit(f"pyproject.toml: {requirement!r} states no range (>=A,<B)")
    return f"{_name(requirement)}=={found.group(1)}"


def _run(args: list[str], **kwargs: object) -> int:
    return subprocess.run(args, cwd=ROOT, check=False, **kwargs).returncode  # type: ignore[call-overload, no-any-return]


def install(venv: Path, wanted: list[str], upgrade: bool) -> str:
    """Create ``venv`` if needed and install ``wanted``; the installed client's version."""
    python = venv / "bin" / "python"
    if not python.exists() and _run([sys.executable, "-m", "venv", str(venv)]) != 0:
        raise SystemExit(f"cannot create {venv}")
    pip = [str(python), "-m", "pip", "install", "--quiet", *(["--upgrade"] if upgrade else []), *wanted]
    if _run(pip, timeout=INSTALL_TIMEOUT) != 0:
        raise SystemExit(f"cannot install {' '.join(wanted)} into {venv}")
    version = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({PACKAGE!r}))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return version.stdout.strip()


def run_tests(venv: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # the tree's kplanediag, the venv's dependencies
    return _run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS], env=env)


def main() -> int:
    client, runtime, tools = requirements()
    status = 0
    # oldest: the client pinned at its lower bound, the rest as pip resolves it; newest: all upgraded in range
    plans = (("oldest", [oldest(client), *runtime], False), ("newest", [client, *runtime], True))
    for label, wanted, upgrade in plans:
        venv = ROOT / "build" / f"venv-deps-{label}"
        started = time.monotonic()
        version = install(venv, [*wanted, *tools], upgrade)
        if label == "oldest" and wanted[0] != f"{PACKAGE}=={version}":
            raise SystemExit(f"{venv}: {PACKAGE} {version} installed, not the range's lower bound {wanted[0]}")
        installed = time.monotonic()
        print(f"[deps-range] {label}: {PACKAGE} {version} in {venv.relative_to(ROOT)}", flush=True)
        rc = run_tests(venv)
        print(
            f"[deps-range] {label} {PACKAGE} {version}: install {installed - started:.0f}s, "
            f"tests {time.monotonic() - installed:.0f}s, exit {rc}",
            flush=True,
        )
        status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main())
