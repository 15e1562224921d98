"""Regenerate docs/img/status-healthy.png and docs/img/status-failing.png: ``kplanediag check -o html``
of two lab snapshots (tests/unit/data: the healthy lab, and the lab with a silenced worker), shot in
headless Chromium (tests/browser/chromium.py).

    make screenshots        (or: .venv/bin/python docs/screenshots.py)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import chromium  # noqa: E402

PICTURES = {"status-healthy.png": "lab-healthy", "status-failing.png": "lab-worker-silenced"}
DATA = ROOT / "tests" / "unit" / "data"
IMG = ROOT / "docs" / "img"


def main() -> int:
    why = chromium.missing()
    if why:
        print(f"screenshots: {why}", file=sys.stderr)
        return 1
    driver = chromium.start()
    try:
        with tempfile.TemporaryDirectory(prefix="kplanediag-shots-") as tmp:
            for png, snapshot in PICTURES.items():
                page = Path(tmp) / f"{snapshot}.html"
                chromium.write_page(DATA / f"{snapshot}.json", page)
                chromium.screenshot(driver, page, IMG / png, max_height=2600)
                print(f"{IMG / png}: {snapshot} ({(IMG / png).stat().st_size} bytes)")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
