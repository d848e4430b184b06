"""A real headless Chromium for the dashboard tests: Debian's package, driven by Playwright.

No browser is downloaded: Playwright drives the system `chromium` (root needs
--no-sandbox). Where it is missing the tests fail in CI (CI=true) and are skipped
elsewhere with a loud reason; `make browser` installs it when it can.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, async_playwright

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser's path, or a loud failure in CI and a loud skip elsewhere."""
    path = chromium_path()
    if path is not None:
        return path
    why = (
        "BROWSER TESTS DID NOT RUN: no chromium on PATH "
        "(install it with `make browser`, or `apt-get install -y chromium` as root)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why, pytrace=False)
    print(f"\n*** {why} ***", file=sys.stderr)
    pytest.skip(why)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A launched headless browser."""
    path = require_chromium()

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=path, args=args, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
