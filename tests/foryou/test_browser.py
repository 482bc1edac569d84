"""A real Chromium against the app under uvicorn: the For-you feed with its reasons,
"not interested" taking a paper away, and the map drawing and opening a paper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from paperwire.services.fieldmap import build_map
from tests.browser import BROWSER_MARKS, open_page
from tests.community.conftest import Env, LiveServer
from tests.conftest import AppFactory
from tests.foryou.conftest import TopicCorpus, make_topic_env

pytestmark = BROWSER_MARKS


@pytest.fixture
def live(make_app: AppFactory, topic_corpus: TopicCorpus) -> Iterator[tuple[Env, str]]:
    env = make_topic_env(make_app, topic_corpus)
    with LiveServer(env.app) as server:
        yield env, server.url


def _sign_up(page: Any, url: str) -> None:
    page.goto(url + "/signup")
    page.get_by_label("Email").fill("reader@example.org")
    page.get_by_label("Display name").fill("Reader")
    page.get_by_label("Password").fill("a browser password")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(url + "/")


def test_for_you_shows_reasons_and_not_interested_removes_a_paper(
    live: tuple[Env, str], browser: Any, topic_corpus: TopicCorpus
) -> None:
    _env, url = live
    page = open_page(browser, height=1000)
    try:
        _sign_up(page, url)
        liked = topic_corpus.by_topic["robot"][0]
        page.goto(f"{url}/papers/{liked}")
        page.locator("main button.upvote-button").first.click()
        page.wait_for_load_state()
        page.get_by_role("link", name="For you").click()
        page.wait_for_url(url + "/for-you")
        items = page.locator("ol.for-you > li")
        assert items.count() >= 3
        first = items.first
        dropped = first.get_attribute("data-arxiv-id")
        title = next(r.title for r in topic_corpus.records if r.arxiv_id == liked)
        assert f"Like “{title}”, which you upvoted" in first.locator(".reasons").inner_text()
        assert topic_corpus.topic_of(str(dropped)) == "robot"
        first.get_by_role("button", name="Not interested").click()
        page.wait_for_url(url + "/for-you")
        assert page.locator(f"ol.for-you > li[data-arxiv-id='{dropped}']").count() == 0
        assert page.locator("ol.for-you > li").count() >= 2
        assert page.console_errors == []
    finally:
        page.context.close()


def test_map_renders_and_a_click_opens_the_paper(
    live: tuple[Env, str], browser: Any, topic_corpus: TopicCorpus
) -> None:
    env, url = live
    build_map(env.pw)
    page = open_page(browser, height=1000)
    try:
        page.goto(url + "/map")
        page.wait_for_selector("canvas#field-map[data-ready='true']")
        n = len(topic_corpus.records)
        assert page.locator("#map-count").inner_text() == f"{n} of {n} papers shown"
        assert page.locator("#map-regions li").count() >= 1
        # A paper drawn apart from the others: the hover names the paper nearest the
        # pointer, and papers the map draws within a few pixels of each other (which
        # ones moves with the model's last bits) would name either.
        points = {
            r.arxiv_id: page.evaluate(f"window.paperwireMap.pointOf('{r.arxiv_id}')")
            for r in topic_corpus.records
        }

        def apart(arxiv_id: str) -> float:
            p = points[arxiv_id]
            return min(
                (p["x"] - o["x"]) ** 2 + (p["y"] - o["y"]) ** 2
                for other, o in points.items()
                if other != arxiv_id
            )

        target = max(topic_corpus.by_topic["speech"], key=apart)
        assert apart(target) > 1  # the pointer on it: it is the paper nearest the pointer
        # The mouse moves in the viewport: the paper scrolled into it first (the map is
        # up to 900 px high under the page's header, taller than the window).
        page.evaluate(f"window.scrollTo(0, {max(0.0, points[target]['y'] - 400)})")
        scrolled = page.evaluate("[window.scrollX, window.scrollY]")
        point = {"x": points[target]["x"] - scrolled[0], "y": points[target]["y"] - scrolled[1]}
        page.mouse.move(point["x"], point["y"])
        title = next(r.title for r in topic_corpus.records if r.arxiv_id == target)
        tip = page.locator("#map-tip")
        assert tip.is_visible() and " ".join(tip.inner_text().split()) == " ".join(title.split())
        page.mouse.click(point["x"], point["y"])
        page.wait_for_url(f"{url}/papers/{target}")
        # the category filter narrows what is drawn
        page.go_back()
        page.wait_for_selector("canvas#field-map[data-ready='true']")
        page.select_option("#map-category", label="cs.RO")
        shown = page.locator("#map-count").inner_text()
        assert shown.endswith(f"of {n} papers shown") and not shown.startswith(f"{n} ")
        assert page.console_errors == []
    finally:
        page.context.close()
