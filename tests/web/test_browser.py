"""The real app under uvicorn, driven by a headless Chromium (with and without JavaScript).

Screenshots of the main pages go to ``test-results/`` (gitignored) for a human look.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import BROWSER_MARKS, open_page
from tests.community.conftest import LiveServer
from tests.web.conftest import LAST_DAY, WebEnv, build_web_env

RESULTS = Path(__file__).resolve().parents[2] / "test-results"

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebEnv, str]]:
    env = build_web_env(tmp_path_factory.mktemp("browser-home"))
    try:
        with LiveServer(env.app) as server:
            yield env, server.url
    finally:
        env.pw.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    pg = open_page(browser, js=request.param)
    yield pg
    pg.context.close()
    # CSP violations and missing assets show up here; an intended 4xx page logs its own status
    intended = "the server responded with a status of 4"
    unexpected = [e for e in pg.console_errors if intended not in e]
    assert not unexpected, unexpected


@pytest.fixture
def js_page(browser: Any) -> Iterator[Any]:
    pg = open_page(browser)
    yield pg
    pg.context.close()


def _upvotes(card: Any) -> int:
    label = card.locator(".upvote-box .visually-hidden").inner_text()
    return int(label.split()[0].replace(",", ""))


def test_feed_cards_most_upvoted_first(live: tuple[WebEnv, str], page: Any) -> None:
    env, url = live
    page.goto(url + "/")
    cards = page.locator("article.card")
    assert cards.first.is_visible()
    assert cards.count() == len(env.raw[LAST_DAY])
    ups = [_upvotes(cards.nth(i)) for i in range(cards.count())]
    assert ups[0] == max(ups)
    assert ups == sorted(ups, reverse=True)
    # the stylesheet loaded (CSP allows it): cards are white boxes with a border
    radius = cards.first.evaluate("el => getComputedStyle(el).borderTopLeftRadius")
    assert radius == "12px"


def test_header_search_with_enter(live: tuple[WebEnv, str], page: Any) -> None:
    _, url = live
    page.goto(url + "/")
    box = page.locator("#header-q")
    box.fill("reinforcement pre-training")
    box.press("Enter")
    page.wait_for_url("**/search?q=reinforcement+pre-training")
    assert page.locator("article.card").first.is_visible()
    mark = page.locator("article.card mark").first
    assert mark.is_visible()
    assert mark.inner_text().lower() in {"reinforcement", "pre", "training"}
    assert "Reinforcement Pre-Training" in page.locator("article.card h2").first.inner_text()


def test_click_card_title_opens_the_paper(live: tuple[WebEnv, str], page: Any) -> None:
    _, url = live
    page.goto(url + "/papers?date=2025-06-10")
    title = page.locator("article.card h3 a").first
    text = title.inner_text()
    title.click()
    page.wait_for_url("**/papers/2506.08007")
    assert page.locator("h1").inner_text() == text
    assert page.get_by_role("link", name="arXiv abstract", exact=True).get_attribute("href") == (
        "https://arxiv.org/abs/2506.08007"
    )
    assert page.locator("section.similar article.card").count() == 6


def test_previous_day(live: tuple[WebEnv, str], page: Any) -> None:
    _, url = live
    page.goto(url + "/papers?date=2025-06-11")
    page.get_by_role("link", name="← Previous day").click()
    page.wait_for_url("**/papers?date=2025-06-10")
    assert "Tuesday, June 10, 2025" in page.locator(".date-heading").inner_text()
    page.get_by_role("link", name="Next day →").click()
    page.wait_for_url("**/papers?date=2025-06-11")


def test_filter_form(live: tuple[WebEnv, str], page: Any) -> None:
    _, url = live
    page.goto(url + "/search?q=language+models")
    page.get_by_label("Code").select_option("true")
    page.get_by_label("Sort by").select_option("upvotes")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/search?*has_code=true*")
    assert "sort=upvotes" in page.url
    cards = page.locator("article.card")
    assert cards.count() > 0
    for i in range(cards.count()):
        assert cards.nth(i).locator("a.gh").count() == 1
    ups = [_upvotes(cards.nth(i)) for i in range(cards.count())]
    assert ups == sorted(ups, reverse=True)
    assert page.get_by_label("Code").input_value() == "true"


def test_bad_filter_shows_inline_error(live: tuple[WebEnv, str], page: Any) -> None:
    _, url = live
    page.goto(url + "/search?q=model&from=notadate")
    error = page.locator("#from-error")
    assert error.is_visible() and "notadate" in error.inner_text()


A11Y_SCRIPT = """() => {
  const problems = [];
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('img without alt: ' + img.src);
  }
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push('unlabelled field: ' + (el.name || el.id));
  }
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push('h1 count ' + h1);
  for (const sel of ['header', 'main', 'nav', 'footer']) {
    if (!document.querySelector(sel)) problems.push('missing landmark ' + sel);
  }
  if (document.documentElement.lang !== 'en') problems.push('lang');
  return problems;
}"""


@pytest.mark.parametrize(
    "path",
    ["/", "/papers/2506.08007", "/search?q=diffusion", "/status", "/papers/nope", "/x/y"],
)
def test_accessibility_basics(live: tuple[WebEnv, str], js_page: Any, path: str) -> None:
    _, url = live
    js_page.goto(url + path)
    assert js_page.evaluate(A11Y_SCRIPT) == []
    # keyboard: the first Tab reaches the skip link and it becomes visible
    js_page.keyboard.press("Tab")
    focused = js_page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    outline = js_page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_screenshots(live: tuple[WebEnv, str], browser: Any) -> None:
    _, url = live
    RESULTS.mkdir(exist_ok=True)
    shots = [
        ("feed", "/papers?date=2025-06-10", (1280, 1000)),
        ("paper", "/papers/2506.07900", (1280, 1100)),
        (
            "search",
            "/search?q=reinforcement+learning&has_code=true",
            (1280, 1000),
        ),
        ("feed-phone", "/papers?date=2025-06-10", (390, 844)),
        ("paper-phone", "/papers/2506.08007", (390, 844)),
        ("status", "/status", (1280, 800)),
        ("not-found", "/papers/2506.99999", (1280, 700)),
    ]
    for name, path, (width, height) in shots:
        pg = open_page(browser, width=width, height=height)
        pg.goto(url + path)
        pg.screenshot(path=str(RESULTS / f"{name}.png"))
        # no horizontal scrolling on any width
        overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow)
        pg.context.close()
        assert (RESULTS / f"{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id^='operation']")],
)
def test_api_docs_render_offline(
    live: tuple[WebEnv, str], browser: Any, path: str, ready: str
) -> None:
    """Swagger UI and ReDoc come from this server: with every other host blocked, the
    pages still list the operations, with no CSP violation or failed request."""
    _, url = live
    pg = open_page(browser)
    offsite: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    pg.context.route("**/*", only_here)
    try:
        pg.goto(url + path)
        pg.wait_for_selector(ready)
        assert pg.locator(ready).count() > 5
        assert "/api/search" in pg.content()
    finally:
        pg.context.close()
    assert not offsite, offsite
    # ReDoc's "API docs by Redocly" badge points at its CDN: the policy blocks it, as it
    # should (nothing leaves this site); that is the one message allowed.
    badge = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert not [e for e in pg.console_errors if badge not in e], pg.console_errors
