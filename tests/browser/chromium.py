"""Debian's headless Chromium driven by selenium through Debian's chromedriver, named explicitly:
Selenium Manager, which would look for (and try to download) a driver, is never asked. Used by the
browser tests and docs/screenshots.py. ``.ci/run`` installs the two packages (chromium, chromium-driver)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
WIDTH = 1280


def missing() -> str | None:
    """Why a browser cannot be started here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            return f"{path} not found (apt-get install -y {package})"
    try:
        import selenium  # noqa: F401, PLC0415
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def start(height: int = 1000) -> WebDriver:
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    os.environ.setdefault("SE_OFFLINE", "true")  # should Selenium Manager ever be reached: no download
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--hide-scrollbars",
        f"--window-size={WIDTH},{height}",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def write_page(snapshot: Path, out: Path, *args: str) -> int:
    """``kplanediag check --from SNAPSHOT -o html`` into ``out``, as a user would make the file."""
    with out.open("wb") as f:
        done = subprocess.run(
            [sys.executable, "-m", "kplanediag", "check", "--from", str(snapshot), "-o", "html", *args],
            stdout=f,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            check=False,
            timeout=120,
        )
    if done.returncode not in (0, 1, 2):
        raise RuntimeError(f"kplanediag exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return done.returncode


def screenshot(driver: WebDriver, page: Path, png: Path, max_height: int = 4000) -> None:
    """The whole page (up to ``max_height`` pixels) as a PNG."""
    driver.set_window_size(WIDTH, 1000)
    driver.get(page.resolve().as_uri())
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    chrome = 1000 - int(driver.execute_script("return window.innerHeight"))  # window size is outer
    driver.set_window_size(WIDTH, min(height, max_height) + chrome)
    png.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(png))
