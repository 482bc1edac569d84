"""A real Chromium against the app under uvicorn, JavaScript on and off: a profile with an
avatar upload; follow an author, then their new paper is on /following; thumbnails shown
from the local cache with their source offline; the email banner dismissed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image

from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from paperwire.services.thumbnails import cache_thumbnails
from tests.browser import BROWSER_MARKS, open_page
from tests.community.conftest import PASSWORD, TODAY, Env
from tests.people.test_thumbnails import ImageServer

pytestmark = BROWSER_MARKS
MODES = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


def _sign_up(page: Any, url: str, email: str, name: str) -> None:
    page.goto(url + "/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(url + "/")


def _natural_width(img: Any) -> int:
    img.scroll_into_view_if_needed()
    return int(
        img.evaluate(
            "(el) => el.complete && el.naturalWidth ? el.naturalWidth : new Promise((ok) => {"
            " el.addEventListener('load', () => ok(el.naturalWidth));"
            " el.addEventListener('error', () => ok(-1)); })"
        )
    )


@MODES
def test_profile_with_avatar_upload(
    live: tuple[Env, str], browser: Any, js: bool, tmp_path: Path
) -> None:
    env, url = live
    picture = tmp_path / "me.jpg"
    Image.new("RGB", (640, 480), "teal").save(picture, format="JPEG")
    page = open_page(browser, js=js)
    try:
        _sign_up(page, url, "face@example.org", "Face Person")
        page.locator("nav[aria-label='Account']").get_by_role("link", name="Face Person").click()
        page.wait_for_url(url + "/users/face-person")
        assert page.get_by_role("heading", level=1).inner_text() == "Face Person"
        page.get_by_role("link", name="Edit your profile").click()
        page.get_by_label("Bio").fill("Reads papers about retrieval.")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(url + "/settings/profile")
        page.locator("#avatar").set_input_files(str(picture))
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url(url + "/settings/profile")
        page.goto(url + "/users/face-person")
        avatar = page.locator("img.avatar-large")
        assert "&v=1" in (avatar.get_attribute("src") or "")
        assert _natural_width(avatar) == 256
        assert "Reads papers about retrieval." in page.locator("main").inner_text()
        account = env.comm.users.by_email("face@example.org")
        assert account is not None
        assert (env.pw.settings.media_root / f"avatars/{account.id}-1-256.png").is_file()
    finally:
        page.context.close()
    assert not page.console_errors, page.console_errors


@MODES
def test_follow_an_author_then_their_new_paper_is_on_following(
    live: tuple[Env, str], browser: Any, js: bool
) -> None:
    env, url = live
    page = open_page(browser, js=js)
    try:
        _sign_up(page, url, "fan@example.org", "Fan")
        page.goto(url + "/authors/" + quote("Grace Hopper"))
        page.get_by_role("button", name="Follow Grace Hopper").click()
        page.wait_for_url("**/authors/Grace%20Hopper")
        assert page.get_by_role("button", name="Following Grace Hopper").is_visible()
        record = PaperRecord(
            arxiv_id="2512.00400",
            source="hf-daily",
            title="Grace's newest compiler paper",
            authors=["Grace Hopper"],
            published_at=dt.datetime.combine(TODAY, dt.time(23), tzinfo=dt.UTC),
            featured_on=TODAY,
        )
        assert ingest_records(env.pw, [record], "hf-daily").added == 1
        page.locator("nav[aria-label='Account']").get_by_role("link", name="Following").click()
        page.wait_for_url(url + "/following")
        first = page.locator("article.card").first
        assert first.locator("h2 a").inner_text() == "Grace's newest compiler paper"
    finally:
        page.context.close()
    assert not page.console_errors, page.console_errors


@MODES
def test_thumbnails_show_offline_from_the_cache_and_banner_dismisses(
    live: tuple[Env, str], browser: Any, js: bool
) -> None:
    env, url = live
    images = ImageServer()
    images.start()
    record = PaperRecord(
        arxiv_id="2512.00500",
        source="hf-daily",
        title="A paper with a picture",
        authors=["Pic Author"],
        published_at=dt.datetime.combine(TODAY, dt.time(7), tzinfo=dt.UTC),
        featured_on=TODAY,
        upvotes=5000,
        thumbnail=f"{images.url}/ok/pic.jpg",
    )
    assert ingest_records(env.pw, [record], "hf-daily").added == 1
    assert cache_thumbnails(env.pw).cached == 1
    images.close()  # the source is gone: only the cache can show it
    page = open_page(browser, js=js)
    try:
        page.goto(url + "/")
        card = page.locator("article.card", has=page.locator("a[href='/papers/2512.00500']"))
        thumb = card.locator(".card-thumb img")
        assert thumb.get_attribute("src") == "/thumbnails/2512.00500"
        assert _natural_width(thumb) == 480
        banner = page.locator("#email-banner")
        assert banner.is_visible()
        banner.get_by_role("button", name="Dismiss the email banner").click()
        if js:  # removed in place, no navigation
            banner.wait_for(state="detached")
        else:
            page.wait_for_url(url + "/")
        assert page.locator("#email-banner").count() == 0
        page.reload()
        assert page.locator("#email-banner").count() == 0  # remembered (the cookie)
        assert "pw_banner" in {c["name"] for c in page.context.cookies()}
    finally:
        page.context.close()
    assert not page.console_errors, page.console_errors
