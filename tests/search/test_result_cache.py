"""Rankings kept while the content stays (``search.results``): a vote keeps them (and
shows at once: the cards are read afresh), so does a change that writes no table search
reads (a signup), any other change drops them, sorted orders are never kept, and
neither is a ranking computed right after a change. The index is
changed behind the store's back to tell a kept ranking from a new one."""

from __future__ import annotations

import time

from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchFilters, SearchRequest, SortOrder
from paperwire.services.community import community_of
from paperwire.services.ingest import ingest_records
from paperwire.store.votes import VoteStore
from tests.community.conftest import HOT, TODAY, TWIN, hot_twin, make_env
from tests.conftest import AppFactory


def _ids(pw, q: str = "sparse attention", sort: SortOrder = SortOrder.relevance) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.paper.arxiv_id for h in pw.search.search(SearchRequest(q=q, sort=sort)).hits]


def _drop_from_the_index_only(pw, arxiv_id: str) -> None:  # type: ignore[no-untyped-def]
    pw.index.delete([arxiv_id])
    pw.index.commit()


def _ingest_another(pw) -> None:  # type: ignore[no-untyped-def]
    """An ingest of a paper unrelated to the query (a change search reads)."""
    record = PaperRecord(
        arxiv_id="2511.09999", source="hf-daily", title="Tide pools", featured_on=TODAY
    )
    assert ingest_records(pw, [record], "hf-daily").added == 1


def test_a_vote_keeps_the_ranking_and_shows_on_its_cards(make_app: AppFactory) -> None:
    env = make_env(make_app)
    pw = env.pw
    pw.search.results.settle = 0.0
    assert pw.search.results.seconds == 60.0  # create_app: a server keeps rankings
    voter = community_of(pw).users.create("v@example.org", "Voter", "h" * 20)
    first = pw.search.search(SearchRequest(q="sparse attention"))
    assert [h.paper.arxiv_id for h in first.hits][:1] == [HOT]
    assert first.hits[0].paper.upvotes == 10
    _drop_from_the_index_only(pw, HOT)
    assert _ids(pw)[:1] == [HOT]  # kept: the index change did not go through the store
    VoteStore(pw.db).vote(voter.id, HOT)  # declares "counts of HOT only"
    kept = pw.search.search(SearchRequest(q="sparse attention"))
    assert kept.hits[0].paper.arxiv_id == HOT
    assert kept.hits[0].paper.upvotes == 11  # fresh card
    assert HOT not in _ids(pw, sort=SortOrder.upvotes)  # sorted orders are never kept
    community_of(pw).users.create("x@example.org", "Someone", "h" * 20)  # writes users only
    assert _ids(pw)[:1] == [HOT]
    _ingest_another(pw)  # writes papers
    assert HOT not in _ids(pw)


def test_similar_papers_are_kept_the_same_way(make_app: AppFactory) -> None:
    env = make_env(make_app)
    pw = env.pw
    ingest_records(pw, [hot_twin(TODAY)], "hf-daily")
    pw.search.results.settle = 0.0
    assert pw.search.results.seconds == 60.0  # create_app: a server keeps rankings
    page = pw.search.similar_page(TWIN, SearchFilters(), 5)
    assert page is not None and page.hits[0].paper.arxiv_id == HOT
    _drop_from_the_index_only(pw, HOT)
    again = pw.search.similar_page(TWIN, SearchFilters(), 5)
    assert again is not None and again.hits[0].paper.arxiv_id == HOT
    community_of(pw).users.create("x@example.org", "Someone", "h" * 20)
    kept = pw.search.similar_page(TWIN, SearchFilters(), 5)
    assert kept is not None and kept.hits[0].paper.arxiv_id == HOT
    _ingest_another(pw)
    after = pw.search.similar_page(TWIN, SearchFilters(), 5)
    assert after is not None and HOT not in [h.paper.arxiv_id for h in after.hits]


def test_nothing_is_kept_while_the_content_settles_or_once_it_is_old(
    make_app: AppFactory,
) -> None:
    env = make_env(make_app)
    pw = env.pw
    pw.search.results.settle = 3600.0  # the content changed "just now", for an hour
    pw.search.results.seconds = 60.0
    assert _ids(pw)[:1] == [HOT]
    _drop_from_the_index_only(pw, HOT)
    assert HOT not in _ids(pw)
    env2 = make_env(make_app)
    pw2 = env2.pw
    pw2.search.results.settle = 0.0
    pw2.search.results.seconds = 0.2
    assert _ids(pw2)[:1] == [HOT]
    _drop_from_the_index_only(pw2, HOT)
    assert _ids(pw2)[:1] == [HOT]
    time.sleep(0.3)
    assert HOT not in _ids(pw2)


def test_page_cache_seconds_zero_keeps_nothing(make_app: AppFactory) -> None:
    """And outside a web app (the CLI, the benchmarks) nothing is kept either."""
    plain = make_app(semantic=False)
    assert plain.search.results.seconds == 0.0
    env = make_env(make_app, page_cache_seconds=0)
    pw = env.pw
    pw.search.results.settle = 0.0
    assert pw.search.results.seconds == 0.0
    assert _ids(pw)[:1] == [HOT]
    _drop_from_the_index_only(pw, HOT)
    assert HOT not in _ids(pw)


def test_a_request_that_read_an_older_version_keeps_the_ranking(make_app: AppFactory) -> None:
    """A request reads the data version once, when it arrives (``one_version_per_
    request``), then may queue while a vote commits and another request sees the newer
    version. The late request's older version is no news: it must not count as a
    change of content (every ranking would be dropped and, under load, none kept)."""
    import threading

    from paperwire.store.versions import one_version_per_request

    env = make_env(make_app)
    pw = env.pw
    pw.search.results.settle = 0.0
    voter = community_of(pw).users.create("v@example.org", "Voter", "h" * 20)
    assert _ids(pw)[:1] == [HOT]
    _drop_from_the_index_only(pw, HOT)

    seen: list[list[str]] = []

    def meanwhile() -> None:  # another request: a vote, then a search seeing it
        VoteStore(pw.db).vote(voter.id, HOT)
        seen.append(_ids(pw))

    with one_version_per_request():
        pw.db.data_version()  # this request arrived before the vote
        other = threading.Thread(target=meanwhile)  # a thread starts outside this context
        other.start()
        other.join()
        assert seen[0][:1] == [HOT]  # kept: a vote changes counts only
        assert _ids(pw)[:1] == [HOT]  # still kept
    assert _ids(pw)[:1] == [HOT]
