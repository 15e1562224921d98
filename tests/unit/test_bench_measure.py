"""bench/measure.py's figures on real child processes: a child that burns CPU and one that sleeps,
through GNU time and through the python trampoline."""

from __future__ import annotations

import sys

import pytest

from bench import measure

BURN = [sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(0.4)"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("spawner", ["gnu-time", "trampoline"])
def test_cpu_is_the_childs_own_and_the_machines_covers_it(spawner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if spawner == "trampoline":
        monkeypatch.setattr(measure, "GNU_TIME", None)
    elif measure.GNU_TIME is None:
        pytest.skip("no GNU time on this machine")
    burn, sleep = measure.measure(BURN), measure.measure(SLEEP)
    assert (burn.code, sleep.code) == (0, 0)
    assert 0.35 <= burn.cpu <= burn.wall + 0.05  # one thread: at most its wall time
    assert sleep.cpu < 0.3 and sleep.wall >= 0.4  # asleep: wall time without CPU
    assert burn.machine_cpu >= burn.cpu * 0.8  # the machine was busy at least while the child was
    assert burn.rss > 1 << 20 and sleep.rss > 1 << 20


def test_usage_reads_the_spawners_last_line() -> None:
    assert measure._usage("Command exited with non-zero status 2\n2048 0.50 0.10\n") == (2 << 20, 0.6)
    assert measure._usage("") == (0, 0.0)
    assert measure._usage("garbage") == (0, 0.0)
