"""Trending (time-decayed votes on crafted featured days) and organisation/author pages."""

from __future__ import annotations

import datetime as dt

from tests.community.conftest import (
    ANCIENT,
    COLD,
    EXISTING,
    HOT,
    LAB_TOP,
    TODAY,
    WARM,
    Env,
    html,
    text_of,
)


def _score(votes: int, day: dt.date, now: dt.datetime, gravity: float, offset: float) -> float:
    age_h = (now.replace(tzinfo=None) - dt.datetime.combine(day, dt.time())).total_seconds() / 3600
    return votes / (age_h + offset) ** gravity


def test_trending_order_follows_the_formula(env: Env) -> None:
    c = env.client()
    page = c.get("/api/trending").json()
    assert (page["gravity"], page["offset_hours"], page["window_days"]) == (1.8, 2.0, 14)
    ids = [item["paper"]["arxiv_id"] for item in page["items"]]
    # 10 votes today beat 20 two days ago and 100 ten days ago; older papers are out
    assert ids == [HOT, WARM, COLD]
    assert ANCIENT not in ids and LAB_TOP not in ids and EXISTING not in ids
    now = dt.datetime.fromisoformat(page["generated_at"])
    for item, (votes, days_ago) in zip(page["items"], [(10, 0), (20, 2), (100, 10)], strict=True):
        expected = _score(votes, TODAY - dt.timedelta(days=days_ago), now, 1.8, 2.0)
        assert abs(item["score"] - expected) <= 1e-6 * max(1.0, expected)
    # local votes count: the score uses source + local upvotes
    comm = env.comm
    h = comm.hash_password("pw")
    for i in range(60):
        user = comm.users.create(f"t{i}@example.org", f"Trend {i}", h)
        comm.votes.vote(user.id, COLD)
    page = c.get("/api/trending").json()
    now = dt.datetime.fromisoformat(page["generated_at"])
    scores = {i["paper"]["arxiv_id"]: i["score"] for i in page["items"]}
    expected = _score(160, TODAY - dt.timedelta(days=10), now, 1.8, 2.0)
    assert abs(scores[COLD] - expected) <= 1e-6 * max(1.0, expected)
    ids = [i["paper"]["arxiv_id"] for i in page["items"]]
    assert ids == sorted(scores, key=lambda a: -scores[a])
    assert c.get("/api/trending?limit=1").json()["items"][0]["paper"]["arxiv_id"] == ids[0]
    assert c.get("/api/trending?limit=0").status_code == 422


def test_trending_page_and_tabs(env: Env) -> None:
    c = env.client()
    doc = html(c.get("/trending").text)
    assert [text_of(h) for h in doc.xpath("//h1")] == ["Trending papers"]
    tabs = doc.xpath("//nav[@aria-label='Ranking']/a")
    assert [t.text_content() for t in tabs] == ["Daily", "Weekly", "Monthly", "Trending"]
    assert tabs[-1].get("aria-current") == "page"
    titles = [text_of(t) for t in doc.xpath("//ol//*[contains(@class,'card-title')]")]
    assert titles[0] == "Hot takes on sparse attention" and len(titles) == 3
    assert doc.xpath("//link[@rel='alternate'][@type='application/json']/@href") == [
        "/api/trending"
    ]
    feed = html(c.get("/").text)
    assert feed.xpath("//nav[@aria-label='Ranking']/a/@href") == ["/trending"]
    assert "/trending" in feed.xpath("//nav[@aria-label='Main']//a/@href")


def test_org_page_ranks_by_upvotes(env: Env) -> None:
    c = env.client()
    api = c.get("/api/orgs/paperwire-lab").json()
    assert api["name"] == "Paperwire Lab" and api["total"] == 2 and api["kind"] == "org"
    assert [p["arxiv_id"] for p in api["papers"]] == [LAB_TOP, COLD]  # 500 before 100
    assert c.get("/api/orgs/Paperwire%20Lab").json()["total"] == 2  # the name works too
    doc = html(c.get("/orgs/paperwire-lab").text)
    assert [text_of(h) for h in doc.xpath("//h1")] == ["Paperwire Lab"]
    assert "2 papers" in text_of(doc)
    assert c.get("/orgs/nobody").status_code == 404
    assert c.get("/api/orgs/nobody").status_code == 404
    # linked from cards and from the paper page
    feed = html(c.get("/papers", params={"date": (TODAY - dt.timedelta(days=10)).isoformat()}).text)
    assert feed.xpath("//span[@class='byline']/a/@href") == ["/orgs/paperwire-lab"]
    paper = html(c.get(f"/papers/{COLD}").text)
    assert "/orgs/paperwire-lab" in paper.xpath("//a/@href")
    # a hidden paper drops out
    env.comm.audit.set_hidden(_admin(env), [LAB_TOP], True)
    assert [p["arxiv_id"] for p in c.get("/api/orgs/paperwire-lab").json()["papers"]] == [COLD]


def _admin(env: Env):  # type: ignore[no-untyped-def]
    h = env.comm.hash_password("pw")
    return env.comm.users.create("root@example.org", "Root", h, is_admin=True)


def test_author_page(env: Env) -> None:
    c = env.client()
    api = c.get("/api/authors/Grace Hopper").json()
    assert api["name"] == "Grace Hopper" and api["total"] == 5
    ups = [p["upvotes"] for p in api["papers"]]
    assert ups == sorted(ups, reverse=True) and api["papers"][0]["arxiv_id"] == ANCIENT
    assert c.get("/api/authors/grace%20%20hopper").json()["total"] == 5  # case and spaces
    assert c.get("/api/authors/Émile Borel").json()["papers"][0]["arxiv_id"] == LAB_TOP
    assert c.get("/api/authors/Grace").status_code == 404  # whole names only
    assert c.get("/api/authors/Li%25").status_code == 404  # LIKE wildcards are literal
    doc = html(c.get("/authors/Grace%20Hopper").text)
    assert [text_of(h) for h in doc.xpath("//h1")] == ["Grace Hopper"]
    paper = html(c.get(f"/papers/{EXISTING}").text)
    assert paper.xpath("//section[@class='authors']//a/@href") == [
        "/authors/Qingxiu%20Dong",
        "/authors/Li%20Dong",
    ]
    assert c.get("/api/authors/Li Dong").json()["papers"][0]["arxiv_id"] == EXISTING
