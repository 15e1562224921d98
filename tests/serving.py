"""A real ``kplanediag serve`` process for the tests (unit: on real captures with --from; e2e: on
the lab, kind or a throwaway control plane): started on a free port, its stderr kept, GETs to it."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LISTENING = re.compile(r"listening on (https?://\S+),")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)
    context: ssl.SSLContext | None = None

    def get(self, path: str, token: str | None = None, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.context) as resp:
                return int(resp.status), dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return int(err.code), dict(err.headers), err.read()

    def sample(self, name: str, token: str | None = None) -> float | None:
        """The value of one series (``name`` with its labels, as in the text format), or None."""
        _, _, body = self.get("/metrics", token)
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def until(self, what: str, probe: object, timeout: float, every: float = 0.1) -> float:
        """Call ``probe`` until it is true; the seconds it took (fails with the log after ``timeout``)."""
        start = time.monotonic()
        while not probe():  # type: ignore[operator]
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{what}: not within {timeout:g}s; serve's log:\n" + "\n".join(self.lines[-20:]))
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited ({self.proc.returncode}):\n" + "\n".join(self.lines[-20:]))
            time.sleep(every)
        return time.monotonic() - start

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process had exited."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        return time.monotonic() - start

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def start(*args: str, cafile: Path | None = None, timeout: float = 20) -> Served:
    """``python -m kplanediag serve ARGS --listen 127.0.0.1:0`` (unless ARGS give --listen), once
    it says where it listens."""
    listen = () if "--listen" in args else ("--listen", "127.0.0.1:0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kplanediag", "serve", *listen, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if LISTENING.search(line):
                found.set()
        found.set()  # exited: the caller sees it

    threading.Thread(target=drain, daemon=True).start()
    if not found.wait(timeout) or proc.poll() is not None:
        proc.kill()
        raise AssertionError("serve did not start:\n" + "\n".join(lines))
    match = next(m for line in lines if (m := LISTENING.search(line)))
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    return Served(proc, match.group(1), lines, context)
