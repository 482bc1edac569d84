"""Alerts: one thing for a saved search, a follow and a collection's recommendations,
each delivered with the email digest and by its own private Atom/RSS feed."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import lxml.etree

from paperwire.models.papers import PaperRecord
from paperwire.models.subscriptions import Frequency
from paperwire.services.ingest import ingest_records
from tests.community.conftest import (
    ANCIENT,
    COLD,
    HOT,
    LAB_TOP,
    TODAY,
    WARM,
    Person,
    html,
    text_of,
)
from tests.subscriptions.conftest import SubEnv, messages_to, wait_for

ATOM = "{http://www.w3.org/2005/Atom}"


def _make(person: Person, **body: object) -> dict[str, object]:
    r = person.api("POST", "/api/alerts", json=body)
    assert r.status_code == 201, r.text
    alert: dict[str, object] = r.json()["alert"]
    return alert


def _feed_ids(person: Person, url: object) -> list[str]:
    parts = urlsplit(str(url))
    r = person.c.get(f"{parts.path}?{parts.query}")
    assert r.status_code == 200, r.text
    doc = lxml.etree.fromstring(r.content)
    return [str(e.findtext(f"{ATOM}id")).rsplit("/", 1)[-1] for e in doc.iter(f"{ATOM}entry")]


def test_a_search_alert_has_a_private_feed_and_mails_a_confirmation(alert_env: SubEnv) -> None:
    ada = alert_env.env.account("ada@example.org", "Ada")
    alert = _make(ada, q="sparse attention")
    assert alert["kind"] == "search" and alert["email"] is True
    wait_for(lambda: len(messages_to(alert_env.smtp, "ada@example.org")) == 1, what="confirm")
    assert _feed_ids(ada, alert["atom_url"]) == [HOT]
    rss = alert_env.env.person().c.get(
        urlsplit(str(alert["rss_url"])).path + "?" + urlsplit(str(alert["rss_url"])).query
    )
    assert rss.headers["content-type"].startswith("application/rss+xml") and HOT in rss.text
    # the URL is the key: a wrong token, another alert's id, an old URL are all 404
    path = urlsplit(str(alert["atom_url"])).path
    anon = alert_env.env.person().c
    assert anon.get(path + "?token=0123456789abcdef").status_code == 404
    assert anon.get(path).status_code == 422
    r = ada.api("PATCH", f"/api/alerts/{alert['id']}", json={"new_feed_token": True})
    assert r.status_code == 200 and r.json()["atom_url"] != alert["atom_url"]
    old = urlsplit(str(alert["atom_url"]))
    assert anon.get(f"{old.path}?{old.query}").status_code == 404
    assert _feed_ids(ada, r.json()["atom_url"]) == [HOT]
    # it is a saved search too, and another account cannot touch it
    assert ada.c.get("/api/saved-searches").json()["saved_searches"][0]["id"] == alert["id"]
    grace = alert_env.env.account("grace@example.org", "Grace")
    assert (
        grace.api("PATCH", f"/api/alerts/{alert['id']}", json={"email": False}).status_code == 404
    )
    assert grace.api("DELETE", f"/api/alerts/{alert['id']}").status_code == 404
    assert ada.api("DELETE", f"/api/alerts/{alert['id']}").status_code == 204
    assert ada.c.get("/api/alerts").json()["alerts"] == []


LIKE_HOT = "2511.00011"  # shares HOT's distinctive words


def _like_hot() -> list[PaperRecord]:
    day = TODAY - dt.timedelta(days=1)
    return [
        PaperRecord(
            arxiv_id=aid,
            source="hf-daily",
            title=title,
            abstract=f"{title}. Sparse attention patterns and takes on attention sparsity.",
            authors=["Someone Else"],
            published_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            featured_on=day,
        )
        for aid, title in [
            (LIKE_HOT, "Sparse attention takes for long inputs"),
            ("2511.00012", "Block sparse attention, hot and cold"),
        ]
    ]


def test_follow_and_collection_alerts_come_with_the_digest(alert_env: SubEnv) -> None:
    ingest_records(alert_env.pw, _like_hot(), "hf-daily")
    ada = alert_env.env.account("ada@example.org", "Ada")
    cid = ada.api("POST", "/api/collections", json={"name": "Attention", "public": False})
    cid = cid.json()["id"]
    assert ada.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": HOT}).is_success
    follow = _make(ada, kind="follow", target="Ada Lovelace")
    more = _make(ada, kind="collection", target=str(cid))
    assert follow["name"] == "Ada Lovelace" and more["name"] == "Attention"
    # a follow brings the author's papers; a collection, papers like its own but not them
    assert set(_feed_ids(ada, follow["atom_url"])) == {HOT, WARM, COLD}
    liked = _feed_ids(ada, more["atom_url"])
    assert LIKE_HOT in liked and HOT not in liked
    sub = alert_env.subs.store.by_email("ada@example.org")
    assert sub is not None
    alert_env.subs.store.activate(sub.id, sub.email, Frequency.daily)
    sub = alert_env.subs.store.by_email("ada@example.org")
    assert sub is not None
    digest = alert_env.subs.compose(Frequency.daily, sub=sub)
    kinds = {s.kind: s for s in digest.sections}
    assert set(kinds) == {"follow", "collection"}  # no trending: alerts only
    assert "new for your alerts" in digest.subject
    assert [c.arxiv_id for c in kinds["follow"].papers] == [HOT, WARM]  # the last 7 days
    assert kinds["follow"].title == "New from Ada Lovelace"
    shown = {c.arxiv_id for s in digest.sections for c in s.papers}
    assert len(shown) == sum(len(s.papers) for s in digest.sections)  # no paper twice
    # an organisation or a category can be followed too
    lab = _make(ada, kind="follow", target="org:paperwire-lab", email=False)
    assert lab["target"] == "org:paperwire-lab"
    assert set(_feed_ids(ada, lab["atom_url"])) == {COLD, LAB_TOP}
    category = _make(ada, kind="follow", target="category: cs.CL", email=False)
    assert category["name"] == "cs.CL"
    assert ANCIENT not in _feed_ids(ada, category["atom_url"])  # 40 days old
    assert {HOT, WARM, COLD, LAB_TOP} == set(_feed_ids(ada, category["atom_url"]))
    # email turned on later: an address not confirmed yet gets its confirmation link
    grace = alert_env.env.account("grace@example.org", "Grace")
    quiet = _make(grace, q="diffusion", email=False)
    assert not messages_to(alert_env.smtp, "grace@example.org")
    r = grace.api("PATCH", f"/api/alerts/{quiet['id']}", json={"email": True})
    assert r.status_code == 200 and r.json()["email"] is True
    wait_for(lambda: len(messages_to(alert_env.smtp, "grace@example.org")) == 1, what="link")
    grace_sub = alert_env.subs.store.by_email("grace@example.org")
    assert grace_sub is not None
    assert [a.id for a in alert_env.subs.store.searches_for([grace_sub.id])[grace_sub.id]] == [
        quiet["id"]
    ]
    # email off: out of the digest, feed still there
    r = ada.api("PATCH", f"/api/alerts/{follow['id']}", json={"email": False})
    assert r.json()["email"] is False
    digest = alert_env.subs.compose(Frequency.daily, sub=sub)
    assert {s.kind for s in digest.sections} == {"collection"}
    assert _feed_ids(ada, follow["atom_url"])


def test_alerts_refuse_what_they_cannot_watch(alert_env: SubEnv) -> None:
    ada = alert_env.env.account("ada@example.org", "Ada")
    grace = alert_env.env.account("grace@example.org", "Grace")
    private = grace.api("POST", "/api/collections", json={"name": "Mine", "public": False})
    for body, why in [
        ({"kind": "collection", "target": str(private.json()["id"])}, "no such collection"),
        ({"kind": "collection", "target": "not-a-number"}, "no such collection"),
        ({"kind": "follow"}, "target: give an author's name"),
        ({"kind": "follow", "target": "user:12"}, "follow author:, org: or category:"),
        ({"kind": "follow", "target": "org: "}, "say whom to follow"),
        ({"kind": "search"}, "q: give a query or at least one filter"),
        ({"kind": "nonsense", "q": "x"}, "kind"),
    ]:
        r = ada.api("POST", "/api/alerts", json=body)
        assert r.status_code == 422 and why in r.text, (body, r.text)
    assert ada.c.post("/api/alerts", json={"q": "x"}).status_code == 403  # no CSRF token
    assert alert_env.env.person().c.get("/api/alerts").status_code == 401


def test_the_alerts_page_makes_and_lists_alerts(alert_env: SubEnv) -> None:
    ada = alert_env.env.account("ada@example.org", "Ada")
    r = ada.post(
        "/alerts",
        {"kind": "follow", "target": "Grace Hopper", "email": "1", "name": ""},
        token_from="/alerts",
    )
    assert r.status_code == 200, r.text
    assert "Saved." in text_of(html(r.text))
    doc = html(ada.c.get("/alerts").text)
    [section] = doc.xpath("//section[contains(@class, 'alert')]")
    assert "Grace Hopper" in text_of(section)
    assert section.xpath(".//a[text()='Atom']/@href")[0].startswith("http://testserver/feeds/")
    # a refused form comes back with the reason
    r = ada.post("/alerts", {"kind": "follow", "target": ""}, token_from="/alerts")
    assert r.status_code == 422 and "give an author" in r.text
