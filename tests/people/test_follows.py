"""Follows and ``/following``: forms without JavaScript, the JSON twin, the private
Atom feed; on both stores (``make_app``)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import feedparser

from paperwire.models.papers import PaperRecord
from paperwire.models.people import FollowKind
from paperwire.services.ingest import ingest_records
from paperwire.services.people import people_of
from tests.community.conftest import COLD, EXISTING, HOT, LAB_TOP, TODAY, Env, html, text_of


def _new_paper(env: Env, aid: str, authors: list[str], **kw: object) -> None:
    record = PaperRecord(
        arxiv_id=aid,
        source="hf-daily",
        title=f"Fresh paper {aid}",
        abstract="A new paper for the following feed.",
        authors=authors,
        categories=["cs.LG"],
        published_at=dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC),
        featured_on=TODAY,
        **kw,  # type: ignore[arg-type]
    )
    assert ingest_records(env.pw, [record], "hf-daily").added == 1


def _ids(doc: object) -> list[str]:
    hrefs = doc.xpath("//article[contains(@class,'card')]//h2/a/@href")  # type: ignore[attr-defined]
    return [h.rsplit("/", 1)[-1] for h in hrefs]


def test_follow_an_author_then_their_new_paper_is_on_following(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    page = "/authors/" + quote("Émile Borel")
    doc = html(ada.c.get(page).text)
    [form] = doc.xpath("//form[contains(@class,'follow-form')]")
    assert form.get("action") == "/follows"
    assert "0 followers" in text_of(doc)
    r = ada.post("/follows", {"kind": "author", "target": "Émile Borel", "next": page})
    assert r.status_code == 303 and r.headers["location"] == page
    doc = html(ada.c.get(page).text)
    assert doc.xpath("//form[@action='/unfollow']") and "1 follower" in text_of(doc)

    assert _ids(html(ada.c.get("/following").text)) == [LAB_TOP]
    _new_paper(env, "2512.00077", ["Someone Else", "Émile BOREL"])  # ASCII case differs
    _new_paper(env, "2512.00078", ["Émile Borelli"])  # a longer name is someone else
    doc = html(ada.c.get("/following").text)
    assert _ids(doc) == ["2512.00077", LAB_TOP]  # newest first

    api = ada.c.get("/api/following").json()
    assert [p["arxiv_id"] for p in api["papers"]] == ["2512.00077", LAB_TOP]
    assert api["follows"][0] == {
        **api["follows"][0],
        "kind": "author",
        "target": "émile borel",
        "label": "Émile Borel",
        "url": page,
    }
    account = env.comm.users.by_email("ada@example.org")
    assert account is not None
    keys = people_of(env.pw).follows.targets(account.id, FollowKind.author)
    assert keys == frozenset({"émile borel"})  # what recommendations read
    # following twice changes nothing; unfollowing empties the feed
    assert (
        ada.api("POST", "/api/follows", json={"kind": "author", "target": "Émile Borel"}).json()[
            "followers"
        ]
        == 1
    )
    r = ada.post("/unfollow", {"kind": "author", "target": "émile borel", "next": "/following"})
    assert r.status_code == 303
    doc = html(ada.c.get("/following").text)
    assert _ids(doc) == [] and "Nothing here yet" in text_of(doc)


def test_follow_org_category_and_user(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    bob = env.account("bob@example.org", "Bob")
    assert ada.api(
        "POST", "/api/follows", json={"kind": "org", "target": "paperwire-lab"}
    ).is_success
    assert [p["arxiv_id"] for p in ada.c.get("/api/following").json()["papers"]] == [COLD, LAB_TOP]
    ada.api("POST", "/api/follows/remove", json={"kind": "org", "target": "PAPERWIRE-LAB"})
    assert ada.c.get("/api/following").json()["papers"] == []

    _new_paper(env, "2512.00079", ["Nobody Known"])  # cs.LG
    ada.api("POST", "/api/follows", json={"kind": "category", "target": "CS.lg"})
    assert [p["arxiv_id"] for p in ada.c.get("/api/following").json()["papers"]] == ["2512.00079"]
    ada.api("POST", "/api/follows/remove", json={"kind": "category", "target": "cs.LG"})

    # a followed user brings what they submitted
    account = env.comm.users.by_email("bob@example.org")
    assert account is not None
    env.comm.submissions.record(account.id, EXISTING, created_paper=False, featured_on=None)
    doc = html(ada.c.get("/users/Bob").text)
    assert doc.xpath("//form[@action='/follows']//input[@name='kind'][@value='user']")
    assert (
        ada.post("/follows", {"kind": "user", "target": "Bob", "next": "/users/Bob"}).status_code
        == 303
    )
    assert [p["arxiv_id"] for p in ada.c.get("/api/following").json()["papers"]] == [EXISTING]
    assert bob.c.get("/api/users/Bob").json()["followers"] == 1
    # nobody by that name: 404; yourself: refused
    r = ada.api("POST", "/api/follows", json={"kind": "user", "target": "Nobody"})
    assert r.status_code == 404
    assert (
        ada.api("POST", "/api/follows", json={"kind": "user", "target": "Ada"}).status_code == 404
    )


def test_following_needs_an_account_and_valid_input(env: Env) -> None:
    c = env.client()
    assert c.get("/api/following").status_code == 401
    r = c.get("/following", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/following")
    ada = env.account("ada@example.org", "Ada")
    r = ada.api("POST", "/api/follows", json={"kind": "planet", "target": "Mars"})
    assert r.status_code == 422
    r = ada.api("POST", "/api/follows", json={"kind": "author", "target": "x" * 301})
    assert r.status_code == 422
    r = ada.api("POST", "/api/follows", json={"kind": "author", "target": "bad\x00name"})
    assert r.status_code == 422
    # a form without the CSRF token is refused
    r = ada.c.post("/follows", data={"kind": "author", "target": "Ada Lovelace"})
    assert r.status_code == 403


def test_following_pages_and_private_feed(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    for n in range(33):
        _new_paper(env, f"2512.{n + 100:05d}", ["Prolific Person"])
    ada.api("POST", "/api/follows", json={"kind": "author", "target": "Prolific Person"})
    first = ada.c.get("/api/following").json()
    assert len(first["papers"]) == 30 and first["has_more"]
    second = ada.c.get("/api/following?page=2").json()
    assert len(second["papers"]) == 3 and not second["has_more"]
    assert not {p["arxiv_id"] for p in first["papers"]} & {p["arxiv_id"] for p in second["papers"]}
    doc = html(ada.c.get("/following").text)
    assert doc.xpath("//a[@rel='next']/@href") == ["/following?page=2"]

    [feed_href] = doc.xpath("//a[starts-with(@href,'/feeds/following.atom')]/@href")
    anonymous = env.client()  # a feed reader: no cookies
    r = anonymous.get(feed_href)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(r.content)
    assert len(parsed.entries) == 33
    assert anonymous.get("/feeds/following.atom?token=forged").status_code == 404
    bob = env.account("bob@example.org", "Bob")
    bob_doc = html(bob.c.get("/following").text)
    [bob_href] = bob_doc.xpath("//a[starts-with(@href,'/feeds/following.atom')]/@href") or [None]
    assert bob_href is None  # Bob follows nothing: no feed link shown
    assert HOT not in r.text
