"""A newcomer's first hour in a real Chromium, on the offline data (it ends on Aug 21, 2026,
months before today): the feed, trending, a digest preview, a search saved as an alert
(with JavaScript and without), and the header on a 390 px phone. Each page must have
content: on this data trending and the digests used to be empty.

Screenshots go to ``test-results/newcomer-*.png`` (gitignored) for a human look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperwire.services.ingest import ingest_records
from paperwire.sources.hf_daily import read_hf_daily_dir
from paperwire.web import create_app
from tests.browser import BROWSER_MARKS, open_page
from tests.community.conftest import FAST, LiveServer
from tests.conftest import HF_DAILY, AppFactory, SmtpSink
from tests.subscriptions.conftest import wait_for

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
LAST = dt.date(2026, 8, 21)
AS_OF = "As of Aug 21, 2026, the latest papers here."

pytestmark = BROWSER_MARKS


@pytest.fixture
def site(make_app: AppFactory, smtp_server: SmtpSink) -> Iterator[str]:
    """The offline data's last two weeks, served under uvicorn, mail to a local sink."""
    pw = make_app(**FAST, smtp_port=smtp_server.port, mail_from="paperwire <pw@localhost>")
    records = read_hf_daily_dir(HF_DAILY, LAST - dt.timedelta(days=14), LAST)
    assert ingest_records(pw, records, "hf-daily").added > 100
    with LiveServer(create_app(pw)) as server:
        yield server.url


def _page(browser: Any, *, js: bool = True, width: int = 1280, height: int = 900) -> Any:
    page = open_page(browser, js=js, width=width, height=height)
    page.on(
        "response",
        lambda r: page.console_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return page


def _cards(page: Any) -> int:
    return int(page.locator("main article.card").count())


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_newcomers_path(site: str, browser: Any, smtp_server: SmtpSink, js: bool) -> None:
    page = _page(browser, js=js)
    email = f"newcomer-{'js' if js else 'nojs'}@example.org"
    try:
        # 1. the feed opens on the data's newest day, and says why
        page.goto(site + "/")
        assert "Friday, August 21, 2026" in page.locator(".date-heading").inner_text()
        assert _cards(page) >= 10
        assert AS_OF in page.locator(".as-of").inner_text()
        # 2. trending has papers: votes age from the data's day, not from today
        page.locator("nav[aria-label='Main']").get_by_role("link", name="Trending").click()
        page.wait_for_url("**/trending")
        assert _cards(page) == 30 and AS_OF in page.locator(".as-of").inner_text()
        assert "Nothing is trending" not in page.content()
        # 3. the weekly digest preview holds the week's top papers
        page.goto(site + "/digest/preview?frequency=weekly")
        assert page.locator(".paper h3 a").count() == 10
        assert "As of Aug 21, 2026, the latest papers here" in page.locator(".as-of").inner_text()
        # 4. search from the header, sign up from the save prompt, save the search as an alert
        page.goto(site + "/")
        page.locator("#header-q").fill("agents")
        page.locator("#header-q").press("Enter")
        page.wait_for_url("**/search?q=agents")
        assert _cards(page) >= 10
        assert page.locator("h1").inner_text() == "Results for “agents”"
        save = page.locator("#save-search")
        save.get_by_role("link", name="sign up").click()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Display name").fill("Newcomer")
        page.get_by_label("Password").fill("a newcomer password")
        page.get_by_role("button", name="Sign up").click()
        page.wait_for_url("**/search?q=agents")  # back where the newcomer was
        page.get_by_role("button", name="Save this search · Alert me").click()
        page.wait_for_url("**/saved-searches")
        notice = page.locator("main [role='status']").first.inner_text()
        assert "Saved. Alerts start once you open the confirmation link" in notice
        assert page.locator("main").get_by_role("link", name="agents", exact=True).is_visible()
        wait_for(lambda: any(m["To"] == email for m in smtp_server.messages), what="confirmation")
    finally:
        page.context.close()
    assert not page.console_errors, page.console_errors


HEADER_SCRIPT = """() => {
  const header = document.querySelector('header');
  const rows = {};
  for (const a of header.querySelectorAll("nav[aria-label='Main'] a")) {
    if (a.offsetParent === null) continue;  // hidden on phones (linked from the footer)
    const top = Math.round(a.getBoundingClientRect().top);
    rows[top] = (rows[top] || 0) + 1;
  }
  const input = document.querySelector('#header-q');
  const style = getComputedStyle(input);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = style.font;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const tabs = [...document.querySelectorAll('.tab-row a')].map(
    a => Math.round(a.getBoundingClientRect().top));
  return {
    height: header.getBoundingClientRect().height,
    navRows: Object.values(rows),
    placeholderFits: ctx.measureText(input.placeholder).width <= room,
    tabRows: new Set(tabs).size,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  };
}"""


def test_the_phone_header_is_short_and_tidy(site: str, browser: Any) -> None:
    """At 390 px the header took ~210 px, left "Trending" alone on a line and cut the
    search placeholder."""
    RESULTS.mkdir(exist_ok=True)
    page = _page(browser, width=390, height=844)
    try:
        for name, path in (("feed", "/"), ("trending", "/trending"), ("search", "/search?q=x")):
            page.goto(site + path)
            got = page.evaluate(HEADER_SCRIPT)
            assert got["height"] <= 180, (path, got)
            assert all(n >= 3 for n in got["navRows"]), (path, got)
            assert got["placeholderFits"], (path, got)
            assert got["overflow"] <= 0, (path, got)
            page.screenshot(path=str(RESULTS / f"newcomer-phone-{name}.png"))
        page.goto(site + "/")
        assert page.evaluate(HEADER_SCRIPT)["tabRows"] == 1  # Daily · Weekly · Monthly · Trending
        assert _cards(page) >= 10
        # signed in: Submit · Collections · Log out beside the brand
        page.goto(site + "/signup")
        page.get_by_label("Email").fill("phone@example.org")
        page.get_by_label("Display name").fill("A rather long display name")
        page.get_by_label("Password").fill("a phone password")
        page.get_by_role("button", name="Sign up").click()
        page.wait_for_url(site + "/")
        page.screenshot(path=str(RESULTS / "newcomer-phone-signed-in.png"))
        got = page.evaluate(HEADER_SCRIPT)
        assert got["height"] <= 180 and got["overflow"] <= 0, got
    finally:
        page.context.close()
    assert not page.console_errors, page.console_errors
