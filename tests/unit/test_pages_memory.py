"""collect.pages.unmap_freed_pages: list page bodies go back to the system once decoded (glibc only)."""

from __future__ import annotations

import platform
import subprocess
import sys

from kplanediag.collect.pages import unmap_freed_pages

# Four threads each read 4 MB bodies in 1 MB chunks and keep the last two, as the fetchers do, a small
# object made after each (the decoded items). What VmRSS grew by once every body is freed is what the
# heaps kept: with the fixed threshold ~0; without it, 0.5 to 40 MB over a few runs here (by the
# threads' interleaving, so only the fixed case is asserted).
CHILD = """
import threading
from kplanediag.collect.pages import unmap_freed_pages
assert unmap_freed_pages()
def rss():
    return next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmRSS"))
kept, start = [], rss()
def fetch():
    last = []
    for i in range(8):
        body = b"".join([b"%d" % i * (1 << 20) for _ in range(4)])
        last = [*last[-1:], body]
        kept.append(b"%d" % i * 64)
threads = [threading.Thread(target=fetch) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(rss() - start)
"""


def test_page_bodies_are_unmapped_once_freed_on_glibc() -> None:
    glibc = platform.libc_ver()[0] == "glibc"
    assert unmap_freed_pages() is glibc
    if glibc:
        grew = int(subprocess.check_output([sys.executable, "-c", CHILD], text=True))
        assert grew < 6 * 1024, f"{grew} KiB still resident after 128 MB of 4 MB bodies were freed"
