"""One way to drive a real Chromium in the tests: Debian's browser with its flags (the
``browser`` fixture of ``tests/conftest.py``) and pages that log their console errors.

A page's timeout catches a page that never comes; it times nothing. CI runs two pytest
workers beside Chromium on two shared cores, so a step that takes 0.2–1.3 s on a quiet
machine can take ten times that there: the first ``goto`` of
``test_discussion_walk[js]`` passed 10 s on the CI run of 5540aa0 and failed the build.
Hence one generous timeout for every browser test, here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000
# every browser test module: `pytestmark = BROWSER_MARKS` (plus its own marks)
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing (make browsers installs Debian's chromium)",
    ),
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright, closed on the way out (the test skips
    where Playwright is not installed)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_page(
    browser: Any, *, js: bool = True, width: int = 1280, height: int = 900, **context: Any
) -> Any:
    """A page in a context of its own (``page.context.close()`` ends it), with the one
    timeout and ``page.console_errors``: console errors and uncaught exceptions."""
    ctx = browser.new_context(
        java_script_enabled=js, viewport={"width": width, "height": height}, **context
    )
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors
    return page
