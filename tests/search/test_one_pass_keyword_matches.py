"""A search of keyword matches alone is ranked and counted in one pass where the index
has one and it pays (``SearchIndex.keyword_best_matches``: the embedded index, under a
date range), and by BM25's hits and the members among them elsewhere, asking only about
the hits not known to match from their scores (``keyword_search_with_members``): every
way gives the same page, labels and total."""

from __future__ import annotations

import time
from typing import Any

import pytest

from paperwire.index import keyword as keyword_module
from paperwire.index.base import Ranked
from paperwire.index.embedded import EmbeddedIndex
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest
from tests.community.conftest import OLD_DAY, make_env
from tests.conftest import TEST_BACKEND, AppFactory

pytestmark = pytest.mark.skipif(
    TEST_BACKEND == "pg-milvus", reason="the Milvus backend has no one pass"
)

QUERIES = [
    "crafted abstract",
    "crafted abstract about sparse attention",
    "diffusion samplers",
    '"sparse attention"',
    "retrieval tests",
    "author:Lovelace crafted",
    "perceptrons zebra",
    '"sparse attention" zebra',  # matched by the phrase's words alone: listed too
]
SINCE = SearchFilters(date_from=OLD_DAY)  # a date range: the one pass


def _requests(filters: list[SearchFilters]) -> list[SearchRequest]:
    return [
        SearchRequest(q=q, mode=SearchMode.keyword, limit=limit, filters=f)
        for q in QUERIES
        for limit in (2, 20)
        for f in filters
    ]


def _pages(pw: Any, requests: list[SearchRequest]) -> list[tuple[Any, ...]]:
    out = []
    for req in requests:
        res = pw.search.search(req)
        ids = [h.paper.arxiv_id for h in res.hits]
        out.append((ids, [h.matched_by for h in res.hits], res.total, res.total_relation))
    return out


def _assert_pages_cut_and_counted(
    requests: list[SearchRequest], pages: list[tuple[Any, ...]]
) -> None:
    # what a search counts it lists: no page says "N results" and shows fewer
    for req, (ids, _, total, _) in zip(requests, pages, strict=True):
        assert len(ids) == min(total, req.limit), req
    assert sum(total for *_, total, _ in pages) > len(requests)  # searches that match
    assert any(len(ids) == 2 < total for ids, _, total, _ in pages)  # pages cut short


def test_one_pass_and_two_passes_give_the_same_pages(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pw = make_env(make_app, page_cache_seconds=0.0).pw  # no kept rankings: each is run
    assert isinstance(pw.index, EmbeddedIndex)
    dated = _requests([SINCE, SINCE.model_copy(update={"category": "cs.CL"})])
    undated = _requests([SearchFilters(), SearchFilters(category="cs.CL")])
    taken: list[bool] = []  # whether each search's one pass answered
    best_matches = pw.index.keyword_best_matches

    def noted(*args: Any) -> Any:
        found = best_matches(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(pw.index, "keyword_best_matches", noted)
    one_pass = _pages(pw, dated)
    assert taken and all(taken)
    taken.clear()
    _pages(pw, undated)  # BM25's hits are faster there
    assert taken and not any(taken)
    taken.clear()
    monkeypatch.setattr(keyword_module, "ONE_PASS_POSTINGS", -1)  # never few enough
    two_passes = _pages(pw, dated)
    assert taken and not any(taken)
    assert one_pass == two_passes
    _assert_pages_cut_and_counted(dated, one_pass)


def test_hits_known_to_match_from_their_scores_page_as_when_asked(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hits the index knows to match from their scores are not asked about, and the
    pages are those of a search that asks about every hit."""
    pw = make_env(make_app, page_cache_seconds=0.0).pw
    assert isinstance(pw.index, EmbeddedIndex)
    requests = _requests([SearchFilters(), SearchFilters(category="cs.CL")])
    asked: list[int] = []  # how many papers each question asked about
    asked_ids: set[str] = set()
    members = pw.index.keyword_match_members

    def noted(*args: Any) -> Any:
        asked.append(len(args[-1]))
        asked_ids.update(args[-1])
        return members(*args)

    sure: set[str] = set()  # the papers known to match, over all the searches
    with_members = pw.index.keyword_search_with_members

    def knowing(*args: Any) -> tuple[Ranked, frozenset[str]]:
        found = with_members(*args)
        sure.update(found[1])
        return found

    monkeypatch.setattr(pw.index, "keyword_match_members", noted)
    monkeypatch.setattr(pw.index, "keyword_search_with_members", knowing)
    knew = False
    for req in requests:
        sure.clear()
        asked_ids.clear()
        pw.search.search(req)
        assert not sure & asked_ids, req  # none known was asked about
        knew |= bool(sure)
    assert knew
    asked.clear()
    known = _pages(pw, requests)
    asked_known = sum(asked)
    asked.clear()

    def knowing_none(*args: Any) -> tuple[Ranked, frozenset[str]]:
        return with_members(*args)[0], frozenset()

    monkeypatch.setattr(pw.index, "keyword_search_with_members", knowing_none)
    assert _pages(pw, requests) == known
    assert sum(asked) > asked_known  # some were known: the check can fail
    _assert_pages_cut_and_counted(requests, known)


def _fail_while_counting(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, req: SearchRequest, bound: int
) -> Any:
    """Run ``req`` (with ``keyword_count_bound`` = ``bound``) where every count is slow
    and the keyword search fails; the ``MatchCount`` the search started, once the
    error has reached the caller."""
    pw = make_env(make_app, page_cache_seconds=0.0).pw
    assert isinstance(pw.index, EmbeddedIndex)
    monkeypatch.setattr(keyword_module, "ONE_PASS_POSTINGS", 0)  # BM25, then members
    monkeypatch.setattr(pw.search, "keyword_count_bound", bound)
    count = pw.index.keyword._count
    started: list[Any] = []

    def slow_count(*args: Any) -> int:
        time.sleep(0.3)
        return count(*args)

    match_count = pw.index.keyword_match_count

    def noted(*args: Any, **kwargs: Any) -> Any:
        found = match_count(*args, **kwargs)
        started.append(found)
        return found

    def failing_search(*args: Any) -> Any:
        raise RuntimeError("keyword search failed")

    monkeypatch.setattr(pw.index.keyword, "_count", slow_count)
    monkeypatch.setattr(pw.index, "keyword_match_count", noted)
    monkeypatch.setattr(pw.index, "keyword_search_with_members", failing_search)
    with pytest.raises(RuntimeError, match="keyword search failed"):
        pw.search.search(req)
    assert len(started) == 1
    return started[0]


def test_a_search_that_fails_after_it_started_counting_leaves_no_count_running(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search that ranks BM25's hits counts its matches first, in other threads; when
    its keyword search then fails, the error reaches the caller only once the counts
    have finished (a slow count here: it would still be running without the wait)."""
    req = SearchRequest(q="crafted abstract", mode=SearchMode.keyword)
    found = _fail_while_counting(make_app, monkeypatch, req, 10_000)
    running = found._counts  # a tuple: no filter, so no lower bound is counted first
    assert isinstance(running, tuple) and running[0].done(), "the count ran on past the error"
    assert found.total > 0  # it counted, it was not cancelled


def test_a_failing_search_waits_for_a_lower_bound_counted_first(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with a filter and a bound a word's papers pass: the count that decides
    whether the total is exact (a lower bound counted first) has finished before the
    keyword search's error reaches the caller."""
    filters = SearchFilters(category="cs.CL")
    req = SearchRequest(q="crafted abstract", mode=SearchMode.keyword, filters=filters)
    found = _fail_while_counting(make_app, monkeypatch, req, 1)
    deciding = found._counts
    assert not isinstance(deciding, tuple), "a lower bound is counted first"
    assert deciding.done(), "the count ran on past the error"
    assert found.total > 1 and not found.exact  # past the bound of 1
