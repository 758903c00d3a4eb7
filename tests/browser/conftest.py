"""Fixtures of the browser suite: the real hub on 127.0.0.1 and Debian's Chromium driven by Playwright.

Chromium comes from apt (``scripts/test.sh``), never from ``playwright install``; axe-core comes
from npm (``install-test-deps.sh``). Screenshots go to ``test-artifacts/screenshots`` for review.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import DESKTOP
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# See PITFALLS.md: Debian's wrapper re-enables background networking unless told again, and a
# host-resolver rule keeps Chromium from reaching anything but the hub on the loopback address.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE ::1",
]


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (scripts/test.sh installs Debian's chromium)"
    if not AXE.exists():
        return "axe-core is missing (run tests/browser/install-test-deps.sh)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        pytest.fail(missing)  # the test command installs both: a silent skip would hide a broken setup
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the test app (and its database) on a free loopback port for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh browser contexts (own cookies), Swedish unless told otherwise."""
    contexts = []

    def _open(viewport: dict[str, int] = DESKTOP, locale: str = "sv-SE", **options: Any) -> Any:
        context = browser.new_context(
            base_url=live_server,
            viewport=viewport,
            locale=locale,  # Chromium sends Accept-Language: en-US otherwise
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()
