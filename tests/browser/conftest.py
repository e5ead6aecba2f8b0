"""Browser tests: a real `openbooking serve --demo` process and Debian's Chromium, driven by
Playwright for Python. Nothing is downloaded: Playwright is told where the browser is.

Without Chromium (`apt-get install chromium`) these tests skip, saying so; with
OPENBOOKING_REQUIRE_BROWSER=1 (as in CI) a missing browser is a failure instead.
Screenshots go to var/screenshots/ (not committed) for people to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.server import Server, running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("OPENBOOKING_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("OPENBOOKING_REQUIRE_BROWSER") == "1"
LAUNCH_ARGS = [
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
AXE = Axe()


def accessible_and_photographed(page: Page, screenshots: Path, name: str) -> None:
    """axe-core finds nothing serious on the page as it is, and it is photographed at both
    widths (`<name>-1280.png`, `<name>-375.png`) for people to look at."""
    results = AXE.run(page)
    bad = [
        (violation["id"], [node["target"] for node in violation["nodes"]])
        for violation in results.response["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
    assert not bad, f"{name}: {bad}"
    for label, size in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.screenshot(path=screenshots / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as running:
        yield running


# Package scope, not session: while Playwright's sync API is open, its event loop counts as
# running in this thread, and pytest-asyncio cannot run the async tests of other packages. For the
# same reason the tests here are plain `def` tests with no async fixtures.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        message = (
            f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium, or set "
            "OPENBOOKING_CHROMIUM)"
        )
        if REQUIRE_BROWSER:
            pytest.fail(f"OPENBOOKING_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(f"no browser: {message}")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh desktop-sized page (own cookies and storage) per test."""
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
