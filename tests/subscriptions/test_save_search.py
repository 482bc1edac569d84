""" "Save this search · Alert me" on the search page: a plain form (no JavaScript) that saves
the current query and filters as a saved-search alert; signed out, a prompt to log in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from paperwire.models.subscriptions import Frequency
from tests.community.conftest import HOT, html, text_of
from tests.subscriptions.conftest import (
    SubEnv,
    link_to,
    mail_links,
    messages_to,
    path_of,
    wait_for,
)

SEARCH = "/search?q=sparse+attention&category=cs.CL&has_code=&from=2020-01-01"


def test_signed_out_the_search_page_offers_to_log_in_and_come_back(sub_env: SubEnv) -> None:
    doc = html(sub_env.env.person().c.get(SEARCH).text)
    box = doc.xpath("//div[@id='save-search']")[0]
    assert not box.xpath(".//form") and "save this search" in text_of(box)
    login = box.xpath(".//a[text()='Log in']/@href")[0]
    assert urlsplit(login).path == "/login"
    assert parse_qs(urlsplit(login).query)["next"] == [SEARCH]
    # nothing to save without a query or a filter
    assert not html(sub_env.env.person().c.get("/search").text).xpath("//div[@id='save-search']")


def test_save_this_search_makes_an_alert_with_its_filters(sub_env: SubEnv) -> None:
    ada = sub_env.env.account("ada@example.org", "Ada")
    doc = html(ada.c.get(SEARCH).text)
    [form] = doc.xpath("//div[@id='save-search']//form")
    assert form.get("method") == "post" and form.get("action") == "/saved-searches"
    [button] = form.xpath(".//button")
    assert text_of(button) == "Save this search · Alert me"
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert fields.pop("csrf_token")
    assert fields == {"q": "sparse attention", "category": "cs.CL", "from": "2020-01-01"}
    r = ada.c.post(
        "/saved-searches",
        data={
            **fields,
            "csrf_token": doc.xpath("//div[@id='save-search']//input[@name='csrf_token']/@value")[
                0
            ],
        },
    )
    assert r.status_code == 200, r.text
    page = html(r.text)
    assert "Alerts start once you open the confirmation link we sent to ada@example.org" in (
        text_of(page)
    )
    [saved] = sub_env.subs.store.searches_of_user(ada.me()["id"])  # type: ignore[index]
    assert saved.query == "sparse attention" and saved.name == "sparse attention"
    assert saved.filters.category == "cs.CL"
    assert str(saved.filters.date_from) == "2020-01-01"
    # the alert goes out once the address is confirmed: its match is in the digest
    wait_for(lambda: len(messages_to(sub_env.smtp, "ada@example.org")) == 1, what="confirmation")
    text_links, _ = mail_links(messages_to(sub_env.smtp, "ada@example.org")[0])
    confirm = link_to(text_links, "/subscriptions/confirm")
    assert ada.c.post(path_of(confirm)).status_code == 200
    sub = sub_env.subs.store.by_email("ada@example.org")
    assert sub is not None
    digest = sub_env.subs.compose(Frequency.daily, sub=sub)
    [alert] = [x for x in digest.sections if x.kind == "search"]
    assert [c.arxiv_id for c in alert.papers] == [HOT]
