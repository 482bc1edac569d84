"""Upvotes: toggling through the card forms and the JSON API, counts kept separately."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest

from paperwire.web import formatting
from tests.community.conftest import EXISTING, HOT, TODAY, Env, html, make_env
from tests.conftest import AppFactory


def _box(doc: object, arxiv_id: str) -> object:
    [box] = doc.xpath(  # type: ignore[attr-defined]
        f"//article[.//a[@href='/papers/{arxiv_id}']]//div[contains(@class,'upvote-box')]"
    )
    return box


def _count(box: object) -> int:
    label = box.xpath("./span[contains(@class,'visually-hidden')]")[0].text_content()  # type: ignore[attr-defined]
    return int(label.split()[0].replace(",", ""))


def test_anonymous_upvote_button_leads_to_login(env: Env) -> None:
    c = env.client()
    doc = html(c.get("/").text)
    box = _box(doc, HOT)
    [link] = box.xpath(".//a[contains(@class,'upvote-button')]")  # type: ignore[attr-defined]
    assert link.get("href") == "/login?next=/"
    assert not box.xpath(".//form")  # type: ignore[attr-defined]
    # a fresh client (the feed's banner form gave `c` an anonymous CSRF cookie)
    r = env.client().post("/api/papers/2511.00001/vote")
    assert r.status_code == 401  # no cookie: nothing to forge, but nobody to vote as


def test_vote_toggle_with_forms(env: Env) -> None:
    p = env.account("voter@example.org", "Voter")
    doc = html(p.c.get("/").text)
    box = _box(doc, HOT)
    assert _count(box) == 10
    [form] = box.xpath(".//form[@class='vote-form']")  # type: ignore[attr-defined]
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert fields["vote"] == "1" and fields["next"] == "/" and fields["csrf_token"]
    assert form.xpath(".//button/@aria-pressed") == ["false"]
    r = p.c.post(form.get("action"), data=fields, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    box = _box(html(p.c.get("/").text), HOT)
    assert _count(box) == 11
    assert "voted" in box.get("class")  # type: ignore[attr-defined]
    [form] = box.xpath(".//form[@class='vote-form']")  # type: ignore[attr-defined]
    assert form.xpath(".//button/@aria-pressed") == ["true"]
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert fields["vote"] == "0"
    # posting the same "upvote" twice (double click, resubmission) counts once
    up = {**fields, "vote": "1"}
    p.c.post(form.get("action"), data=up, follow_redirects=False)
    assert _count(_box(html(p.c.get("/").text), HOT)) == 11
    p.c.post(form.get("action"), data=fields, follow_redirects=False)
    assert _count(_box(html(p.c.get("/").text), HOT)) == 10
    assert env.comm.votes.counts(HOT) == (0, 0)


def test_vote_form_returns_to_pages_with_encoded_paths(env: Env) -> None:
    p = env.account("author-fan@example.org", "Fan")
    doc = html(p.c.get("/authors/Grace%20Hopper?page=1").text)
    [form] = _box(doc, HOT).xpath(".//form[@class='vote-form']")  # type: ignore[attr-defined]
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert fields["next"] == "/authors/Grace%20Hopper?page=1"
    r = p.c.post(form.get("action"), data=fields, follow_redirects=False)
    assert r.headers["location"] == "/authors/Grace%20Hopper?page=1"
    anon = env.client().get("/authors/Grace%20Hopper")
    [link] = _box(html(anon.text), HOT).xpath(".//a[contains(@class,'upvote-button')]")  # type: ignore[attr-defined]
    assert link.get("href") == "/login?next=/authors/Grace%2520Hopper"
    r = env.client().get("/collections?x=1", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/collections%3Fx%3D1"


def test_vote_from_the_paper_page_and_search(env: Env) -> None:
    p = env.account("reader@example.org", "Reader")
    page = html(p.c.get(f"/papers/{EXISTING}").text)
    [form] = page.xpath("//div[contains(@class,'paper-head')]//form[@class='vote-form']")
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert fields["next"] == f"/papers/{EXISTING}"
    r = p.c.post(form.get("action"), data=fields, follow_redirects=False)
    assert r.headers["location"] == f"/papers/{EXISTING}"
    page = html(p.c.get(f"/papers/{EXISTING}").text)
    facts = dict(zip(page.xpath("//aside//dt/text()"), page.xpath("//aside//dd"), strict=True))
    assert facts["Upvotes"].text_content().strip() == "131"
    results = html(p.c.get("/search", params={"q": "Reinforcement Pre-Training"}).text)
    box = _box(results, EXISTING)
    assert _count(box) == 131 and "voted" in box.get("class")  # type: ignore[attr-defined]
    [form] = box.xpath(".//form[@class='vote-form']")  # type: ignore[attr-defined]
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert fields["next"].startswith("/search?q=")
    p.c.post(form.get("action"), data=fields, follow_redirects=False)
    assert p.c.get(f"/api/papers/{EXISTING}").json()["upvotes"] == 130


def test_vote_api_keeps_source_and_local_counts_apart(env: Env) -> None:
    a = env.account("a@example.org", "Aa")
    b = env.account("b@example.org", "Bb")
    r = a.api("POST", f"/api/papers/{HOT}/vote")
    assert r.json() == {
        "arxiv_id": HOT,
        "voted": True,
        "changed": True,
        "upvotes": 11,
        "source_upvotes": 10,
        "local_upvotes": 1,
    }
    again = a.api("POST", f"/api/papers/{HOT}/vote").json()
    assert again["changed"] is False and again["upvotes"] == 11
    assert b.api("POST", f"/api/papers/{HOT}/vote").json()["local_upvotes"] == 2
    assert b.c.get(f"/api/votes/{HOT}").json()["voted"] is True
    assert env.client().get(f"/api/votes/{HOT}").json()["voted"] is False
    # an importer re-reporting its own count never touches the local votes
    from paperwire.models.papers import PaperRecord
    from paperwire.services.ingest import ingest_records

    ingest_records(env.pw, [PaperRecord(arxiv_id=HOT, source="hf-daily", upvotes=15)], "hf-daily")
    state = env.client().get(f"/api/votes/{HOT}").json()
    assert (state["source_upvotes"], state["local_upvotes"], state["upvotes"]) == (15, 2, 17)
    assert env.client().get("/api/daily").json()["papers"][0]["upvotes"] == 17
    removed = a.api("DELETE", f"/api/papers/{HOT}/vote").json()
    assert removed["changed"] is True and removed["local_upvotes"] == 1
    assert a.api("DELETE", f"/api/papers/{HOT}/vote").json()["changed"] is False
    assert env.comm.votes.counts(HOT) == (1, 1)
    assert a.api("POST", "/api/papers/2512.99999/vote").status_code == 404
    assert a.api("POST", "/api/papers/not-an-id/vote").status_code == 404


def test_votes_are_rate_limited(make_app: AppFactory) -> None:
    env = make_env(make_app, rate_votes_per_minute=3)
    p = env.account("fast@example.org", "Fast")
    codes = [p.api("POST", f"/api/papers/{HOT}/vote").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def _card_parts(doc: object, arxiv_id: str) -> tuple[str, str]:
    """A card's upvote box and the rest of it, as HTML."""
    [card] = doc.xpath(f"//article[.//a[@href='/papers/{arxiv_id}']]")  # type: ignore[attr-defined]
    box = _box(doc, arxiv_id)
    whole = lxml.html.tostring(card, encoding="unicode")
    own = lxml.html.tostring(box, encoding="unicode")
    return own, whole.replace(own, "")


def test_kept_card_bodies_carry_no_viewers_state(env: Env) -> None:
    """Card bodies are kept rendered for everyone (``web.templating.KeptCards``); only
    the upvote box is the viewer's. Two people and a signed-out visitor see the same
    body and their own box, on the feed and on a search page, before and after votes."""
    ann = env.account("ann@example.org", "Ann")
    bob = env.account("bob@example.org", "Bob")
    anon = env.client()
    paths = ["/", "/search?q=sparse+attention"]
    for path in paths:  # fill the kept bodies before anyone voted
        for c in (anon, ann.c, bob.c):
            assert c.get(path).status_code == 200
    assert ann.api("POST", f"/api/papers/{HOT}/vote").status_code == 200
    for path in paths:
        seen = {}
        for who, c in (("anon", anon), ("ann", ann.c), ("bob", bob.c)):
            r = c.get(path)
            assert r.status_code == 200, (path, who)
            seen[who] = _card_parts(html(r.text), HOT)
        assert seen["anon"][1] == seen["ann"][1] == seen["bob"][1], path
        boxes = {who: html(own) for who, (own, _) in seen.items()}
        assert "voted" in boxes["ann"].get("class"), path
        assert "voted" not in boxes["bob"].get("class"), path
        assert boxes["anon"].xpath(".//a[contains(@class,'upvote-button')]"), path
        assert not boxes["anon"].xpath(".//form"), path
        assert {_count(b) for b in boxes.values()} == {11}, path  # 10 from the source + Ann
        # each form carries its owner's token: Bob's page never shows Ann's
        tokens = {who: b.xpath(".//input[@name='csrf_token']/@value") for who, b in boxes.items()}
        assert tokens["ann"] and tokens["bob"] and tokens["ann"] != tokens["bob"], path


def test_kept_card_bodies_follow_the_day(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A card's date leaves out the current year (``short_date``): a body kept on
    Dec 31 must show the year once it is next year's January."""
    anon = env.client()

    def date_text() -> str:
        r = anon.get("/search?q=sparse+attention")  # search pages are never kept whole
        assert r.status_code == 200
        [card] = html(r.text).xpath(f"//article[.//a[@href='/papers/{HOT}']]")
        return str(card.xpath(".//time")[0].text_content())

    # "today" is the corpus's day, then a January day of the next year (no Feb 29 of a
    # year that has none, no New Year crossed between collecting and running the tests)
    monkeypatch.setattr(formatting, "today_utc", lambda: TODAY)
    this_year = date_text()
    assert str(TODAY.year) not in this_year
    monkeypatch.setattr(formatting, "today_utc", lambda: dt.date(TODAY.year + 1, 1, 15))
    assert date_text() == f"{this_year}, {TODAY.year}"
