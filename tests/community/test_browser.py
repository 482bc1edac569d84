"""A real Chromium against the app under uvicorn: sign up, upvote from the feed, see the
count change; with JavaScript on and off (the forms need none)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import BROWSER_MARKS, open_page
from tests.community.conftest import HOT, Env, LiveServer, make_env
from tests.conftest import AppFactory

pytestmark = BROWSER_MARKS


@pytest.fixture
def live(make_app: AppFactory) -> Iterator[tuple[Env, str]]:
    env = make_env(make_app)
    with LiveServer(env.app) as server:
        yield env, server.url


def _count(card: Any) -> int:
    return int(card.locator(".upvote-box .visually-hidden").inner_text().split()[0])


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_sign_up_and_upvote_from_the_feed(live: tuple[Env, str], browser: Any, js: bool) -> None:
    env, url = live
    page = open_page(browser, js=js)
    try:
        page.goto(url + "/")
        card = page.locator("article.card", has=page.locator(f"a[href='/papers/{HOT}']"))
        assert _count(card) == 10
        # signed out, the arrow leads to the login page; from there to sign-up
        card.locator(".upvote-button").click()
        page.wait_for_url("**/login?next=/")
        page.locator("main").get_by_role("link", name="Sign up").click()
        page.get_by_label("Email").fill("browser@example.org")
        page.get_by_label("Display name").fill("Browser")
        page.get_by_label("Password").fill("a browser password")
        page.get_by_role("button", name="Sign up").click()
        page.wait_for_url(url + "/")
        assert page.locator("nav[aria-label='Account']").get_by_text("Browser").is_visible()
        card = page.locator("article.card", has=page.locator(f"a[href='/papers/{HOT}']"))
        button = card.locator("button.upvote-button")
        assert button.get_attribute("aria-pressed") == "false"
        button.click()
        page.wait_for_load_state()
        card = page.locator("article.card", has=page.locator(f"a[href='/papers/{HOT}']"))
        assert _count(card) == 11
        assert card.locator(".upvote-count").inner_text() == "11"
        assert card.locator("button.upvote-button").get_attribute("aria-pressed") == "true"
        assert env.comm.votes.counts(HOT) == (1, 1)
        card.locator("button.upvote-button").click()  # toggle back
        page.wait_for_load_state()
        card = page.locator("article.card", has=page.locator(f"a[href='/papers/{HOT}']"))
        assert _count(card) == 10
        assert card.locator("button.upvote-button").get_attribute("aria-pressed") == "false"
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(url + "/")
        assert (
            page.locator("nav[aria-label='Account']")
            .get_by_role("link", name="Log in")
            .is_visible()
        )
    finally:
        page.context.close()
    assert not page.console_errors, page.console_errors
