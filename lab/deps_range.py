"""The tests of each runtime dependency against the oldest (every one at its lower bound) and the
newest versions pyproject.toml allows, each in a venv of its own under build/: `make deps-range`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis", "lxml")  # what the tests below need of the test extras
# the tests that go through each runtime dependency: urllib3 and pyyaml (kubeconfig loading, the pool,
# proxies, TLS, credentials), click and durationpy (the CLI's grammar), msgspec (snapshots), protobuf
# (the wire), tabulate (tables), jinja2 (HTML), prometheus-client (/metrics)
TESTS = (
    "tests/unit/test_kubeconfig_load.py",
    "tests/unit/test_kubeconfig_parity.py",
    "tests/unit/test_credentials.py",
    "tests/unit/test_transport_errors.py",
    "tests/unit/test_kubectl_grammar.py",
    "tests/unit/test_config.py",
    "tests/unit/test_imports.py",
    "tests/unit/test_snapshot.py",
    "tests/unit/test_protobuf.py",
    "tests/unit/test_render_and_cli.py",
    "tests/unit/test_html.py",
    "tests/unit/test_metrics.py",
    "tests/broken/test_secrets.py",
)
DESELECT = ("tests/unit/test_protobuf.py::test_generated_module_is_current",)  # needs the lint extras' protoc
INSTALL_TIMEOUT = 900  # seconds


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def requirements() -> tuple[list[str], list[str]]:
    """(the runtime requirements, the test tools' requirements)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    tools = [r for r in project["optional-dependencies"]["test"] if _name(r) in TEST_TOOLS]
    tools.append("pysocks")  # a socks5 proxy-url's test (in the dev venv it comes with selenium)
    return list(project["dependencies"]), tools


def oldest(requirement: str) -> str:
    """The pin of the range's lower bound: ``urllib3>=2.0.2,<3`` gives ``urllib3==2.0.2``."""
    found = re.search(r">=\s*([0-9][0-9.]*)", requirement)
    if not found or not re.search(r"<\s*[0-9]", requirement):
        raise SystemExit(f"pyproject.toml: {requirement!r} states no range (>=A,<B)")
    return f"{_name(requirement)}=={found.group(1)}"


def _run(args: list[str], **kwargs: object) -> int:
    return subprocess.run(args, cwd=ROOT, check=False, **kwargs).returncode  # type: ignore[call-overload, no-any-return]


def installed(python: Path, names: list[str]) -> dict[str, str]:
    """The versions of ``names`` installed for ``python``."""
    script = f"import importlib.metadata as m, json; print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def install(venv: Path, wanted: list[str], upgrade: bool) -> None:
    """Create ``venv`` if needed and install ``wanted``."""
    python = venv / "bin" / "python"
    if not python.exists() and _run([sys.executable, "-m", "venv", str(venv)]) != 0:
        raise SystemExit(f"cannot create {venv}")
    pip = [str(python), "-m", "pip", "install", "--quiet", *(["--upgrade"] if upgrade else []), *wanted]
    if _run(pip, timeout=INSTALL_TIMEOUT) != 0:
        raise SystemExit(f"cannot install {' '.join(wanted)} into {venv}")


def run_tests(venv: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # the tree's kplanediag, the venv's dependencies
    deselect = [arg for test in DESELECT for arg in ("--deselect", test)]
    return _run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *deselect, *TESTS], env=env
    )


def main() -> int:
    runtime, tools = requirements()
    pins = [oldest(r) for r in runtime]
    status = 0
    # oldest: every runtime dependency at its range's lower bound; newest: all upgraded within their ranges
    for label, wanted, upgrade in (("oldest", pins, False), ("newest", runtime, True)):
        venv = ROOT / "build" / f"venv-deps-{label}"
        started = time.monotonic()
        install(venv, [*wanted, *tools], upgrade)
        versions = installed(venv / "bin" / "python", [_name(r) for r in runtime])
        if label == "oldest" and (wrong := [p for p in pins if p != f"{_name(p)}=={versions[_name(p)]}"]):
            raise SystemExit(f"{venv}: not the ranges' lower bounds: {', '.join(wrong)} wanted, {versions} installed")
        shown = " ".join(f"{name}=={version}" for name, version in versions.items())
        print(f"[deps-range] {label}: {shown} in {venv.relative_to(ROOT)}", flush=True)
        installed_at = time.monotonic()
        rc = run_tests(venv)
        print(
            f"[deps-range] {label}: install {installed_at - started:.0f}s, "
            f"tests {time.monotonic() - installed_at:.0f}s, exit {rc}",
            flush=True,
        )
        status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main())
