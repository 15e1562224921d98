"""Builds the krew plugin archives of ``kubectl planediag`` and their manifest (``make krew``).

    python deploy/krew/make_archives.py --wheel dist/kplanediag-X-py3-none-any.whl \\
        --manifest deploy/krew/planediag.yaml --out dist/krew [--platforms linux-amd64,...]

One ``kplanediag-<os>-<arch>.tar.gz`` per platform of the manifest: the launcher
``kubectl-planediag`` (a Python script run by the machine's python3), and under ``lib/`` the wheel
with every dependency unpacked, resolved by pip for that platform: ``lib/common`` what every
supported CPython shares, ``lib/cpXY`` what one CPython needs (compiled extensions: msgspec, PyYAML,
...). The tarballs are deterministic for the
same inputs (sorted, fixed times and owners). The manifest is written to ``--out`` with each
platform's sha256, uri and the wheel's version.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

PYTHONS = ("3.11", "3.12", "3.13", "3.14", "3.15")
PLATFORM_TAGS = {  # pip --platform values; pip adds the older manylinux / macOS tags itself
    "linux-amd64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
    "linux-arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "darwin-amd64": ("macosx_12_0_x86_64",),
    "darwin-arm64": ("macosx_12_0_arm64",),
}
MTIME = 315532800  # 1980-01-01: a fixed time for every member (reproducible archives)
LAUNCHER = Path(__file__).with_name("kubectl-planediag")


def download(wheel: Path, platform: str, python: str, dest: Path) -> set[Path]:
    """The wheel and its dependencies as pip resolves them for ``platform`` and CPython ``python``."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python, "--dest", str(dest)]
    for tag in PLATFORM_TAGS[platform]:
        command += ["--platform", tag]
    proc = subprocess.run([*command, str(wheel)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"pip download for {platform} CPython {python} failed:\n{proc.stderr}")
    return set(dest.glob("*.whl"))


def unpack(wheel: Path, into: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            name = member.filename
            if name.endswith("/") or ".." in Path(name).parts or name.startswith("/"):
                continue
            parts = Path(name).parts
            if len(parts) > 2 and parts[0].endswith(".data") and parts[1] in ("purelib", "platlib"):
                name = str(Path(*parts[2:]))  # what the installer moves into site-packages
            elif parts[0].endswith(".data"):
                continue  # scripts, headers, data: not needed to import the package
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))


def tree(platform: str, wheels: dict[str, set[Path]], root: Path) -> None:
    """The archive's files: the launcher, lib/common (wheels every CPython resolved alike), lib/cpXY."""
    root.mkdir(parents=True)
    (root / "kubectl-planediag").write_bytes(LAUNCHER.read_bytes())
    names = {python: {w.name: w for w in found} for python, found in wheels.items()}
    common = set.intersection(*(set(n) for n in names.values()))
    done: set[str] = set()
    for python, found in names.items():
        tag = "cp" + python.replace(".", "")
        for name, wheel in sorted(found.items()):
            if name in common:
                if name not in done:
                    unpack(wheel, root / "lib" / "common")
                    done.add(name)
            else:
                unpack(wheel, root / "lib" / tag)
    (root / "lib" / "PLATFORM").write_text(f"{platform}\n")


def tarball(root: Path, out: Path) -> str:
    """A reproducible .tar.gz of ``root``'s contents; returns its sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(root)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
            info.mode = 0o755 if path.is_dir() or path.name == "kubectl-planediag" else 0o644
            if path.is_file():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    with out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buffer.getvalue())
    return hashlib.sha256(out.read_bytes()).hexdigest()


def platform_of(entry: dict[str, Any]) -> str:
    labels = entry["selector"]["matchLabels"]
    return f"{labels['os']}-{labels['arch']}"


def build(wheel: Path, manifest: Path, out: Path, platforms: list[str] | None, base_url: str | None) -> Path:
    doc = yaml.safe_load(manifest.read_text())
    version = wheel.name.split("-")[1]
    entries = [e for e in doc["spec"]["platforms"] if platforms is None or platform_of(e) in platforms]
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("kplanediag-*.tar.gz"):  # an earlier build's, maybe of other platforms
        stale.unlink()
    with tempfile.TemporaryDirectory(prefix="kplanediag-krew-") as tmp:
        jobs = {(platform_of(e), py): Path(tmp, "wheels", platform_of(e), py) for e in entries for py in PYTHONS}
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = {key: pool.submit(download, wheel, key[0], key[1], dest) for key, dest in jobs.items()}
            found = {key: future.result() for key, future in futures.items()}
        for entry in entries:
            platform = platform_of(entry)
            root = Path(tmp, "tree", platform)
            tree(platform, {py: found[(platform, py)] for py in PYTHONS}, root)
            name = f"kplanediag-{platform}.tar.gz"
            entry["sha256"] = tarball(root, out / name)
            base = base_url or entry["uri"].rsplit("/", 2)[0]
            entry["uri"] = f"{base}/v{version}/{name}"
            print(f"{out / name}: sha256 {entry['sha256']}, {(out / name).stat().st_size / 1e6:.1f} MB", flush=True)
    doc["spec"]["version"] = f"v{version}"
    doc["spec"]["platforms"] = entries
    target = out / manifest.name
    header = f"# Written by deploy/krew/make_archives.py from {manifest.name} for {wheel.name}.\n"
    target.write_text(header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=100))
    return target


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (description, caveats) as literal blocks, as in the template."""


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--platforms", help="comma-separated os-arch (default: every platform of the manifest)")
    parser.add_argument("--base-url", help="where the archives are published (default: the manifest's)")
    args = parser.parse_args()
    platforms = args.platforms.split(",") if args.platforms else None
    print(build(args.wheel, args.manifest, args.out, platforms, args.base_url))


if __name__ == "__main__":
    main()
