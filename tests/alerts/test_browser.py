"""A real Chromium against the app under uvicorn: make an alert with a webhook on
/alerts, watch a real receiver on loopback get it (refused once with a 500, then
delivered), check its signature with the secret the page shows, read the delivery log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from paperwire.jobs.webhooks import plan_webhooks, send_webhooks
from tests.alerts.conftest import Receiver
from tests.alerts.test_webhooks import _verify
from tests.browser import BROWSER_MARKS, open_page
from tests.community.conftest import HOT, LiveServer
from tests.subscriptions.conftest import SubEnv

pytestmark = BROWSER_MARKS


@pytest.fixture
def page(alert_env: SubEnv, browser: Any) -> Iterator[tuple[Any, str]]:
    with LiveServer(alert_env.env.app) as server:
        pg = open_page(browser)
        try:
            yield pg, server.url
        finally:
            pg.context.close()


def test_an_alert_webhook_made_in_the_browser_is_retried_and_logged(
    alert_env: SubEnv, receiver: Receiver, page: tuple[Any, str]
) -> None:
    pg, url = page
    receiver.statuses = [500, 200]
    pg.goto(url + "/signup")
    pg.get_by_label("Email").fill("ada@example.org")
    pg.get_by_label("Display name").fill("Ada")
    pg.get_by_label("Password").fill("a browser password")
    pg.get_by_role("button", name="Sign up").click()
    pg.wait_for_url(url + "/")
    pg.locator("nav[aria-label='Account']").get_by_role("link", name="Alerts").click()
    pg.wait_for_url(url + "/alerts")
    pg.get_by_label("Query (a search)").fill("sparse attention")
    pg.get_by_label("Webhook URL (optional)").fill(receiver.url)
    pg.get_by_label("Email it with my digest").uncheck()
    pg.get_by_role("button", name="Make alert").click()
    pg.wait_for_load_state()
    assert "Saved. No email" in pg.locator("main").inner_text()
    alert = pg.locator("section.alert")
    assert "sparse attention" in alert.inner_text()
    secret = alert.locator("code").inner_text()
    assert secret.startswith("whsec_")

    pw = alert_env.pw
    plan_webhooks(pw)
    assert send_webhooks(pw).retry_later == 1  # the receiver answered 500
    time.sleep(0.4)
    assert send_webhooks(pw).delivered == 1  # the retry got a 200
    assert len(receiver.received) == 2
    got = receiver.received[-1]
    assert _verify(secret, got.headers, got.body)
    assert [p["arxiv_id"] for p in json.loads(got.body)["papers"]] == [HOT]

    alert.get_by_role("link", name="Delivery log").click()
    pg.wait_for_url("**/deliveries")
    row = pg.locator("tr.delivery-delivered")
    text = row.inner_text()
    assert "HTTP 500" in text and "200 OK" in text
    # the page's private feed link works without a session (a feed reader has none)
    pg.goto(url + "/alerts")
    atom = pg.locator("section.alert").get_by_role("link", name="Atom").get_attribute("href")
    parts = urlsplit(str(atom))
    feed = httpx.get(f"{url}{parts.path}?{parts.query}")
    assert feed.status_code == 200 and f"/papers/{HOT}" in feed.text
