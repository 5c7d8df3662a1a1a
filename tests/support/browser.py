"""Real Chromium for the console's browser tests: Debian's `/usr/bin/chromium` driven by
Playwright (no browser download), and screenshots of each page at 1280 and 390 px wide saved
under `tests/artifacts/console/` (gitignored) for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.support import databases

CHROMIUM = Path(os.environ.get("HOOKYARD_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def require_chromium() -> None:
    """Skip outside CI when there is no Chromium; in CI its absence fails the test."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: `make pytest` installs Debian's chromium as root"
    if databases.in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


async def shoot(page: Page, name: str) -> None:
    """Full-page screenshots of the current page at each width; the desktop size stays."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in reversed(WIDTHS.items()):
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
