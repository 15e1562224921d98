"""Wall time, peak RSS and CPU time of one child process, measured honestly from a small spawner,
and the whole machine's CPU time over the same span (what the child shared its cores with).

A child's ``ru_maxrss`` (os.wait4) is not its own peak when a big process spawns it: at exec, Linux
records the peak RSS of the address space being left, and a child made by vfork or fork leaves
its parent's, so every child of a 500 MB benchmark process "peaks" at 500 MB. The child is
therefore started by GNU time (``/usr/bin/time``, Debian package ``time``, about 2 MB), whose
``%M`` is the child's own peak; without it, by ``python -S`` as a small trampoline (about 10 MB,
which is then the floor of every figure, and said so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TRAMPOLINE = (
    "import os,sys\n"
    "pid=os.fork()\n"
    "if pid==0:\n"
    "    os.execvp(sys.argv[2],sys.argv[2:])\n"
    "_,status,usage=os.wait4(pid,0)\n"
    "open(sys.argv[1],'w').write('%d %f %f'%(usage.ru_maxrss,usage.ru_utime,usage.ru_stime))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
GNU_TIME = shutil.which("time", path="/usr/bin")
SPAWNER = "GNU time" if GNU_TIME else "python -S trampoline (adds ~10 MB)"


@dataclass(frozen=True)
class Sample:
    wall: float
    rss: int  # bytes
    code: int
    size: int  # bytes written to stdout
    head: str  # the first MiB of stdout, when it is smaller than that
    tail: str  # the end of stderr
    cpu: float = 0.0  # the child's user and system CPU seconds
    machine_cpu: float = 0.0  # every process's CPU seconds over the child's wall time (/proc/stat)


def machine_cpu() -> float:
    """CPU seconds this machine has been busy since boot, all cores (/proc/stat: not idle, not iowait)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # 3 idle, 4 iowait
    return busy / os.sysconf("SC_CLK_TCK")


def measure(
    cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float = 1800, cwd: Path | None = None
) -> Sample:
    """Run ``cmd`` to its end; wall time from here, peak RSS from the spawner."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        if GNU_TIME:
            spawn = [GNU_TIME, "-q", "-f", "%M %U %S", "-o", str(rss_file), *cmd]
        else:
            spawn = [sys.executable, "-S", "-c", TRAMPOLINE, str(rss_file), *cmd]
        with open(Path(tmp) / "out", "w+b") as out, open(Path(tmp) / "err", "w+b") as err:
            t0, busy0 = time.perf_counter(), machine_cpu()
            proc = subprocess.Popen(spawn, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
            # a blocking wait: Popen.wait(timeout) polls in sleeps of up to 50 ms, which would be
            # the resolution of every figure; the timeout is a timer that kills instead
            killer = threading.Timer(timeout, proc.kill)
            killer.start()
            try:
                proc.wait()
            finally:
                killer.cancel()
            wall, busy = time.perf_counter() - t0, machine_cpu() - busy0
            size = out.tell()
            out.seek(0)
            head = out.read(1 << 20).decode(errors="replace") if size < (1 << 20) else ""
            err.seek(0)
            tail = err.read().decode(errors="replace")[-600:]
        rss, cpu = _usage(rss_file.read_text() if rss_file.exists() else "")
    return Sample(wall, rss, proc.returncode, size, head, tail, cpu, busy)


def _usage(text: str) -> tuple[int, float]:
    """Peak RSS in bytes (both spawners report KiB) and CPU seconds from the spawner's last line."""
    last = text.strip().splitlines()[-1].split() if text.strip() else []
    try:
        return int(last[0]) * 1024, float(last[1]) + float(last[2])
    except (IndexError, ValueError):
        return 0, 0.0


if __name__ == "__main__":  # python -m bench.measure CMD...: one measurement, for a quick look
    s = measure(sys.argv[1:], dict(os.environ))
    cpu = f"CPU {s.cpu:.2f} s (machine {s.machine_cpu:.2f} s)"
    print(f"{s.wall:.2f} s, peak RSS {s.rss / 2**20:.0f} MiB, {cpu}, exit {s.code} ({SPAWNER})")
