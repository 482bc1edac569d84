"""HTTP caching: ETags, 304s, ``Cache-Control`` for signed-out pages only, and the
rendered-page cache invalidated by data changes (votes, edits, ingest), in this process
and in another one (the data version and what each version changed live in the
database): a vote drops the pages that show the voted paper or its days' feeds and
keeps the rest; any other change drops everything."""

from __future__ import annotations

import datetime as dt

import httpx

from paperwire.core import Paperwire
from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from paperwire.store.versions import VersionReader
from paperwire.store.votes import VoteStore
from tests.community.conftest import (
    ANCIENT,
    COLD,
    EXISTING,
    HOT,
    LAB_TOP,
    TODAY,
    TWIN,
    WARM,
    Env,
    hot_twin,
)

CACHED = ["/", "/papers?period=week", f"/papers/{HOT}", "/api/daily", f"/api/papers/{HOT}"]


def test_signed_out_pages_have_etags_and_answer_304(env: Env) -> None:
    c = env.client()
    for path in CACHED:
        r = c.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "public, no-cache", path
        assert r.headers["vary"] == "Cookie"
        etag = r.headers["etag"]
        assert r.headers["last-modified"].endswith("GMT")
        again = c.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = c.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200
        assert other.content == r.content


def test_a_vote_changes_the_feed_for_everyone(env: Env) -> None:
    anon = env.client()
    before = anon.get("/")
    assert before.status_code == 200
    etag = before.headers["etag"]
    assert anon.get("/", headers={"If-None-Match": etag}).status_code == 304

    voter = env.account("voter@example.org", "Voter")
    r = voter.api("POST", f"/api/papers/{HOT}/vote")
    assert r.status_code == 200, r.text
    after = anon.get("/", headers={"If-None-Match": etag})
    assert after.status_code == 200  # not the kept page: the data changed
    assert after.headers["etag"] != etag
    up = {p["arxiv_id"]: p["upvotes"] for p in anon.get("/api/daily").json()["papers"]}
    assert up[HOT] == 11


def test_signed_in_pages_are_private_and_never_served_to_others(env: Env) -> None:
    person = env.account("me@example.org", "Someone Signed In")
    mine = person.c.get("/")
    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "private, no-cache"
    assert "etag" not in mine.headers
    assert "Someone Signed In" in mine.text or "csrf_token" in mine.text
    anon = env.client().get("/")
    assert "Someone Signed In" not in anon.text
    assert 'name="csrf_token"' not in anon.text
    assert anon.headers["cache-control"] == "public, no-cache"


def test_pages_with_a_csrf_token_are_not_shared(env: Env) -> None:
    """The login form's token is bound to the visitor's own cookie."""
    first = env.client().get("/login")
    second = env.client().get("/login")
    assert first.headers.get("cache-control") != "public, no-cache"
    assert "set-cookie" in first.headers and "set-cookie" in second.headers


def test_an_edit_in_another_process_ends_the_kept_page(env: Env, make_app) -> None:  # type: ignore[no-untyped-def]
    """Another ``Paperwire`` on the same home (another worker, a CLI ingest) changes the
    data: the kept page is not served again."""
    c = env.client()
    first = c.get(f"/api/papers/{COLD}").json()
    other: Paperwire = make_app(home=env.pw.settings.home, semantic=False)
    day = dt.datetime.now(dt.UTC).date()
    record = PaperRecord(
        arxiv_id=COLD,
        source="hf-daily",
        title="Cold storage of retrieval indexes, revised",
        abstract=first["abstract"],
        authors=first["authors"],
        featured_on=day,
        upvotes=first["upvotes"],
    )
    ingest_records(other, [record], "hf-daily")
    again = c.get(f"/api/papers/{COLD}").json()
    assert again["title"] == "Cold storage of retrieval indexes, revised"


def _rename_behind_the_stores_back(pw: Paperwire, arxiv_id: str, title: str) -> None:
    """A write that bypasses the store's sessions (so the data version stays). The
    process's kept cards (``store.result_cards``) forget the paper, as those of a process
    that never showed it would: the new title tells a kept page or ranking from one
    rendered anew."""
    with pw.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE papers SET title = %s WHERE arxiv_id = %s"
            if pw.db.dialect == "postgresql"
            else "UPDATE papers SET title = ? WHERE arxiv_id = ?",
            (title, arxiv_id),
        )
    pw.store.forget_cards([arxiv_id])


def test_pages_are_kept_until_the_version_changes(env: Env) -> None:
    c = env.client()
    assert c.get(f"/api/papers/{HOT}").json()["title"] == "Hot takes on sparse attention"
    _rename_behind_the_stores_back(env.pw, HOT, "Renamed out of band")
    assert c.get(f"/api/papers/{HOT}").json()["title"] == "Hot takes on sparse attention"
    env.comm.users.create("x@example.org", "Someone New", env.comm.hash_password("pw" * 8))
    assert c.get(f"/api/papers/{HOT}").json()["title"] == "Renamed out of band"


def test_without_kept_pages_etags_still_work(make_app) -> None:  # type: ignore[no-untyped-def]
    from tests.community.conftest import make_env

    env = make_env(make_app, page_cache_seconds=0)
    c = env.client()
    assert c.get(f"/api/papers/{HOT}").json()["title"] == "Hot takes on sparse attention"
    _rename_behind_the_stores_back(env.pw, HOT, "Renamed out of band")
    r = c.get(f"/api/papers/{HOT}")
    assert r.json()["title"] == "Renamed out of band"
    assert r.headers["cache-control"] == "public, no-cache"
    assert (
        c.get(f"/api/papers/{HOT}", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    )


PAPERS = [HOT, WARM, COLD, ANCIENT, LAB_TOP, EXISTING]


def test_a_vote_drops_only_the_pages_that_show_the_paper_or_its_days(
    env: Env,
    make_app,  # type: ignore[no-untyped-def]
) -> None:
    """Every paper is renamed behind the store's back (the data version stays), then HOT
    gets a vote: a page re-rendered after the vote shows a new title, a kept one the
    old. The feeds of HOT's day and week, HOT's page and every page listing HOT among
    its similar papers are re-rendered; the others are kept. Then another process (a
    second worker) takes the vote back: the same split."""
    cold_day = (TODAY - dt.timedelta(days=10)).isoformat()
    ingest_records(env.pw, [hot_twin(TODAY - dt.timedelta(days=10))], "hf-daily")
    voter = env.account("voter@example.org", "Voter")  # signing up changes data: first
    anon = env.client()
    similar = {
        a: {p["arxiv_id"] for p in anon.get(f"/api/papers/{a}").json()["similar"]}
        for a in [*PAPERS, TWIN]
    }
    shows_hot = [f"/api/papers/{a}" for a in [*PAPERS, TWIN] if a == HOT or HOT in similar[a]]
    kept = [f"/api/papers/{a}" for a in [*PAPERS, TWIN] if a != HOT and HOT not in similar[a]]
    assert f"/api/papers/{TWIN}" in shows_hot and len(kept) >= 3, (shows_hot, kept)
    touched = ["/", "/api/daily", "/papers?period=week", f"/papers/{HOT}", *shows_hot]
    kept += [
        f"/api/daily?date={cold_day}",
        f"/papers?date={cold_day}",
        "/papers?period=month&date=2025-06-10",
    ]

    for round_, vote in enumerate(("up", "down")):
        first = {path: anon.get(path) for path in touched + kept}
        assert all(r.status_code == 200 for r in first.values()), first
        for aid in [*PAPERS, TWIN]:
            _rename_behind_the_stores_back(env.pw, aid, f"Renamed {aid} in round {round_}")
        if vote == "up":
            assert voter.api("POST", f"/api/papers/{HOT}/vote").status_code == 200
        else:  # another worker: its own Paperwire on the same home and database
            other = make_app(home=env.pw.settings.home, semantic=False, database_url=env.pw.db.url)
            account = env.comm.users.by_email("voter@example.org")
            assert account is not None
            assert VoteStore(other.db).unvote(account.id, HOT).changed
        for path in touched:
            assert f"in round {round_}" in anon.get(path).text, path
        for path in kept:
            again = anon.get(path)
            assert again.content == first[path].content, path
            assert f"in round {round_}" not in again.text, path
        assert anon.get(f"/api/papers/{HOT}").json()["upvotes"] == (11 if vote == "up" else 10)
        env.comm.users.create(
            f"x{round_}@example.org", f"New {round_}", "h" * 20
        )  # declares nothing
        for path in kept:
            assert f"in round {round_}" in anon.get(path).text, path


def _counting_slow_feed(env: Env, monkeypatch, seconds: float) -> list[int]:  # type: ignore[no-untyped-def]
    """Make the feed's store read take ``seconds`` (in the request's thread) and count
    the renders that ask for the home page's papers (one store read of ``limit`` rows
    per render; the default-day probe reads ``limit=1``)."""
    import time

    renders: list[int] = []
    real = env.pw.store.feed

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("limit", 0) > 1:
            renders.append(1)
            time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(env.pw.store, "feed", slow)
    return renders


def test_visitors_asking_during_a_render_share_it(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Six signed-out visitors ask for the home page at once: it is rendered once and all
    six get the same answer. Then, while a render is under way, a vote changes the data:
    a visitor asking after the vote does not get the page rendered before it."""
    import asyncio

    renders = _counting_slow_feed(env, monkeypatch, 0.4)

    async def crowd() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return list(await asyncio.gather(*(c.get("/") for _ in range(6))))

    answers = asyncio.run(crowd())
    assert [r.status_code for r in answers] == [200] * 6
    assert len({r.headers["etag"] for r in answers}) == 1
    assert len({r.content for r in answers}) == 1
    assert len(renders) == 1, renders

    voter = env.account("voter@example.org", "Voter")  # signing up drops every kept page
    renders.clear()

    async def vote_during_a_render() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            before = asyncio.create_task(c.get("/api/daily"))
            # until its render waits on the slow read (a fixed 0.15 s was too short for
            # a busy machine now and then)
            for _ in range(300):
                if renders:
                    break
                await asyncio.sleep(0.01)
            assert len(renders) == 1
            voted = await asyncio.to_thread(voter.api, "POST", f"/api/papers/{HOT}/vote")
            assert voted.status_code == 200, voted.text
            after = await c.get("/api/daily")
            return await before, after

    before, after = asyncio.run(vote_during_a_render())
    assert len(renders) == 2, renders  # the second visitor did not wait for the first render
    upvotes = {p["arxiv_id"]: p["upvotes"] for p in after.json()["papers"]}
    assert upvotes[HOT] == 11
    assert before.headers["etag"] != after.headers["etag"]


def test_a_visitor_whose_shared_render_fails_renders_their_own(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """When the render others wait for fails, each of them renders the page itself."""
    import asyncio
    import time

    calls: list[int] = []
    real = env.pw.store.feed

    def first_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("limit", 0) > 1:
            calls.append(1)
            time.sleep(0.3)
            if len(calls) == 1:
                raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(env.pw.store, "feed", first_fails)

    async def crowd() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=env.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            first = asyncio.create_task(c.get("/"))
            await asyncio.sleep(0.1)
            rest = [asyncio.create_task(c.get("/")) for _ in range(3)]
            return [await first, *[await r for r in rest]]

    first, *rest = asyncio.run(crowd())
    assert first.status_code == 500
    assert [r.status_code for r in rest] == [200, 200, 200]
    assert len({r.content for r in rest}) == 1


def test_a_request_reads_the_data_version_once(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The page cache, the kept rankings (similar papers) and the "submitted by" map all
    ask for the data version: one read per request serves them all, in the event loop
    and in the view's thread alike."""
    reads: list[int] = []
    fetch = VersionReader._fetch

    def counted(self: VersionReader) -> tuple[int, dt.datetime | None]:
        reads.append(1)
        return fetch(self)

    monkeypatch.setattr(VersionReader, "_fetch", counted)
    c = env.client()
    for path in [f"/papers/{HOT}", "/search?q=sparse+attention", f"/papers/{WARM}"]:
        reads.clear()
        assert c.get(path).status_code == 200
        assert len(reads) == 1, (path, len(reads))


def test_search_pages_are_kept_until_a_vote_on_a_paper_they_show(env: Env) -> None:
    """Signed-out results (the page and its JSON twin) are kept like paper pages: a vote
    drops those that show the voted paper (its count shows at once) and keeps the rest;
    any other change drops them all. Titles renamed behind the store's back tell a kept
    page from a re-rendered one."""
    env.pw.search.results.settle = 0.0  # the content is settled at once
    voter = env.account("voter@example.org", "Voter")  # signing up changes data: first
    anon = env.client()
    shows_hot = ["/search?q=sparse+attention", "/api/search?q=sparse+attention"]
    others = ["/search?q=diffusion+samplers", "/api/search?q=diffusion+samplers"]
    first = {path: anon.get(path) for path in [*shows_hot, *others, others[1] + "&sort=upvotes"]}
    for path, r in first.items():
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "public, no-cache", path
        assert anon.get(path, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assert [h["paper"]["arxiv_id"] for h in first[shows_hot[1]].json()["hits"]] == [HOT]
    assert [h["paper"]["arxiv_id"] for h in first[others[1]].json()["hits"]] == [WARM]
    for aid in (HOT, WARM):
        _rename_behind_the_stores_back(env.pw, aid, f"Renamed {aid}")

    assert voter.api("POST", f"/api/papers/{HOT}/vote").status_code == 200
    hit = anon.get(shows_hot[1]).json()["hits"][0]
    assert (hit["paper"]["upvotes"], hit["paper"]["title"]) == (11, f"Renamed {HOT}")
    assert f"Renamed {HOT}" in anon.get(shows_hot[0]).text
    for path in others:
        assert anon.get(path).content == first[path].content, path
    # a sorted order moves with every vote: such a page is never kept through one
    assert f"Renamed {WARM}" in anon.get(others[1] + "&sort=upvotes").text

    env.comm.users.create("x@example.org", "Someone New", "h" * 20)  # declares nothing
    for path in others:
        assert f"Renamed {WARM}" in anon.get(path).text, path


def test_a_search_page_is_not_kept_before_the_index_follows_a_change(env: Env) -> None:
    """A ranking computed right after a content change may miss what the index has not
    applied yet: its page is answered but not kept (as ``ResultCache`` keeps no such
    ranking), so the next visitor gets what the index says by then."""
    env.pw.search.results.settle = 3600.0  # the content changed "just now", for an hour
    anon = env.client()
    path = "/api/search?q=sparse+attention"
    first = anon.get(path)
    assert first.headers["cache-control"] == "public, no-cache"
    assert [h["paper"]["arxiv_id"] for h in first.json()["hits"]] == [HOT]
    env.pw.index.delete([HOT])  # behind the store's back: the data version stays
    env.pw.index.commit()
    assert anon.get(path).json()["hits"] == []
