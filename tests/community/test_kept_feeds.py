"""The feeds' reads kept between requests (``store.kept``): a signed-in home is rendered
for each request, never from the page cache, so these go through the kept reads alone.
A vote, a comment, an ingest, a hide and another process's vote each show on the next
request; a request after nothing changed reads no featured days again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event

from paperwire.services.ingest import ingest_records
from paperwire.store.votes import VoteStore
from tests.community.conftest import HOT, TODAY, TWIN, WARM, Env, Person, hot_twin
from tests.community.test_discussions import comment
from tests.conftest import AppFactory


def _daily(p: Person, **params: str) -> dict[str, Any]:
    r = p.c.get("/api/daily", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-cache"  # not from the page cache
    data: dict[str, Any] = r.json()
    return data


def _tied_with_hot(env: Env) -> None:
    """TWIN featured today with HOT's count: HOT first (published later the same day),
    until one vote for TWIN puts it first."""
    published = dt.datetime.combine(TODAY, dt.time(8), tzinfo=dt.UTC)  # HOT's: 9:00
    twin = hot_twin(TODAY).model_copy(update={"upvotes": 10, "published_at": published})
    ingest_records(env.pw, [twin], "hf-daily")


def test_a_vote_reorders_the_signed_in_home_and_week_at_once(env: Env) -> None:
    _tied_with_hot(env)
    reader = env.account("reader@example.org", "Reader")
    voter = env.account("voter@example.org", "Voter")
    for params in ({}, {"period": "week"}):
        ids = [p["arxiv_id"] for p in _daily(reader, **params)["papers"]]
        assert ids.index(HOT) < ids.index(TWIN), params
    for _ in range(2):  # kept answers in between
        _daily(reader)
        _daily(reader, period="week")
    assert voter.api("POST", f"/api/papers/{TWIN}/vote").status_code == 200
    for params in ({}, {"period": "week"}):
        papers = _daily(reader, **params)["papers"]
        ids = [p["arxiv_id"] for p in papers]
        assert ids.index(TWIN) < ids.index(HOT), params
        assert {p["arxiv_id"]: p["upvotes"] for p in papers}[TWIN] == 11
    home = reader.c.get("/")
    assert home.text.index(f"/papers/{TWIN}") < home.text.index(f"/papers/{HOT}")


def test_another_process_vote_and_a_comment_show_at_once(env: Env, make_app: AppFactory) -> None:
    reader = env.account("reader@example.org", "Reader")
    writer = env.account("writer@example.org", "Writer")
    before = {p["arxiv_id"]: p for p in _daily(reader)["papers"]}[HOT]
    _daily(reader)
    # another worker (its own Paperwire on the same database) takes a vote
    other = make_app(home=env.pw.settings.home, semantic=False, database_url=env.pw.db.url)
    account = env.comm.users.by_email("writer@example.org")
    assert account is not None
    assert VoteStore(other.db).vote(account.id, HOT).changed
    after = {p["arxiv_id"]: p for p in _daily(reader)["papers"]}[HOT]
    assert after["upvotes"] == before["upvotes"] + 1
    # a comment declares nothing: the count on the card moves on the next request
    comment(writer, HOT, "A first comment on the hot paper.")
    commented = {p["arxiv_id"]: p for p in _daily(reader)["papers"]}[HOT]
    assert commented["num_comments"] == before["num_comments"] + 1


def test_an_ingest_moves_the_neighbouring_days_and_a_hide_moves_the_home_page(env: Env) -> None:
    reader = env.account("reader@example.org", "Reader")
    admin = env.account("mod@example.org", "Moderator", admin=True)
    warm_day = (TODAY - dt.timedelta(days=2)).isoformat()
    yesterday = TODAY - dt.timedelta(days=1)
    page = _daily(reader)
    assert page["date"] == TODAY.isoformat() and page["prev_date"] == warm_day
    assert _daily(reader, date=warm_day)["next_date"] == TODAY.isoformat()
    ingest_records(env.pw, [hot_twin(yesterday)], "hf-daily")
    assert _daily(reader)["prev_date"] == yesterday.isoformat()
    assert _daily(reader, date=warm_day)["next_date"] == yesterday.isoformat()
    # hiding today's only paper: the home page falls back to the newest day with a
    # visible paper, and no day links to today's empty feed
    assert [p["arxiv_id"] for p in _daily(reader)["papers"]] == [HOT]
    r = admin.post("/admin/papers/hide", {"arxiv_id": HOT, "reason": "test"})
    assert r.status_code == 303, r.text
    home = _daily(reader)
    assert home["date"] == yesterday.isoformat()
    assert [p["arxiv_id"] for p in home["papers"]] == [TWIN]
    assert home["next_date"] is None
    assert _daily(reader, date=TODAY.isoformat())["papers"] == []
    assert WARM in [p["arxiv_id"] for p in _daily(reader, date=warm_day)["papers"]]


def test_a_home_page_after_no_change_reads_no_featured_days(env: Env) -> None:
    """What the feed pages read (the days, the period's papers) is read once per change:
    a second signed-in home page reads no featured days; after a vote on another day's
    paper, today's feed is still kept, and after a vote on today's, read again."""
    reader = env.account("reader@example.org", "Reader")
    voter = env.account("voter@example.org", "Voter")
    reads: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "featured" in statement:
            reads.append(statement)

    event.listen(env.pw.db.engine, "before_cursor_execute", count)
    try:
        assert reader.c.get("/").status_code == 200
        reads.clear()
        assert reader.c.get("/").status_code == 200
        assert reads == []
        assert voter.api("POST", f"/api/papers/{WARM}/vote").status_code == 200
        reads.clear()
        assert reader.c.get("/").status_code == 200
        assert reads == []
        assert voter.api("POST", f"/api/papers/{HOT}/vote").status_code == 200
        reads.clear()
        assert reader.c.get("/").status_code == 200
        assert len(reads) == 1, reads  # today's papers, read again
    finally:
        event.remove(env.pw.db.engine, "before_cursor_execute", count)
