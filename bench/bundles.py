"""Benchmark: `--from` on every real bundle of ../shared/real-bundles, read in place.

    python -m bench.bundles            (also run by `make bench`)

For each bundle: the format detected, the capture time and how it was told, the seconds and peak
RSS of a process that only reads it (import, walk, decode: `load_snapshot`; measured by
bench/measure.py, next to the floor of a process that imports the same modules and reads nothing),
and whether its diagnosis equals its converted twin's in ../shared/real-captures (tests/unit/
test_bundles.py names each difference and why). Prints a Markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import SPAWNER, measure


def read_one(path: str) -> None:
    """The child: read one input, print what was read and how long it took, as JSON."""
    from kplanediag.snapshot.files import load_snapshot  # noqa: PLC0415

    if path == "-":  # the floor: the same imports, nothing read
        print(json.dumps({}))
        return
    start, cpu = time.perf_counter(), time.process_time()
    snap = load_snapshot(Path(path))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    doc = {
        "source": snap.source,
        "collectedAt": snap.collected_at.isoformat().replace("+00:00", "Z"),
        "collectedAtFrom": snap.collected_at_from,
        "readSeconds": seconds,
        "readCpuSeconds": cpu,  # the machine may be shared: CPU time is the figure of the work itself
        "objects": sum(snap.counts().values()),
    }
    print(json.dumps(doc))


def diagnosis(folder: str) -> str:
    from kplanediag.analysis.report import analyze  # noqa: PLC0415
    from kplanediag.snapshot.bundles.locks import FROM_LABEL  # noqa: PLC0415
    from kplanediag.snapshot.files import load_snapshot  # noqa: PLC0415
    from tests.unit.bundle_twins import Diagnosis, bundle_path, twin_report  # noqa: PLC0415

    snap = load_snapshot(bundle_path(folder))
    differences = Diagnosis.of(analyze(snap)).differences(Diagnosis.of(twin_report(folder)))
    locks = [lease.name for lease in snap.leases if FROM_LABEL in lease.labels]
    evidence = f" (leaders judged by their Endpoints locks: {', '.join(sorted(locks))})" if locks else ""
    return ("equal" if not differences else f"better-evidenced: {'; '.join(differences)}") + evidence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--read", help=argparse.SUPPRESS)  # the child's mode
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    args = parser.parse_args()
    if args.read:
        read_one(args.read)
        return
    from tests.unit.bundle_twins import BUNDLES, TWINS, bundle_path  # noqa: PLC0415

    if not BUNDLES.is_dir():
        sys.exit(f"{BUNDLES} not present")
    child = [sys.executable, "-m", "bench.bundles", "--read"]
    floor = measure([*child, "-"])
    rows: list[dict[str, Any]] = []
    for folder in sorted(TWINS):
        sample = measure([*child, str(bundle_path(folder))])
        if sample.code != 0:
            rows.append({"bundle": folder, "error": sample.tail.strip()})
            continue
        read = json.loads(sample.head)
        rows.append(
            {
                "bundle": folder,
                **read,
                "processSeconds": sample.wall,
                "peakRssMiB": sample.rss / 2**20,
                "diagnosis": diagnosis(folder),
            }
        )
    print(f"peak RSS measured by {SPAWNER}; floor (python + kplanediag's snapshot modules, nothing read): "
          f"{floor.rss / 2**20:.0f} MiB, {floor.wall:.2f} s")  # fmt: skip
    print()
    print("| bundle | format | objects | capture time | told by | read s (CPU) | process s | peak RSS MiB | vs twin |")
    print("| --- | --- | ---: | --- | --- | ---: | ---: | ---: | --- |")
    for r in rows:
        if "error" in r:
            print(f"| {r['bundle']} | error: {r['error']} |||||||")
            continue
        print(
            f"| {r['bundle']} | {r['source']} | {r['objects']} | {r['collectedAt']} | {r['collectedAtFrom']} "
            f"| {r['readSeconds']:.2f} ({r['readCpuSeconds']:.2f}) | {r['processSeconds']:.2f} "
            f"| {r['peakRssMiB']:.0f} | {r['diagnosis']} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"floorRssMiB": floor.rss / 2**20, "bundles": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
