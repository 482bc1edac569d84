"""A search of keyword matches alone is ranked and counted in one pass where the index
has one (``SearchIndex.keyword_best_matches``), and by BM25's hits and the members among
them elsewhere: both give the same page and the same total."""

from __future__ import annotations

import time
from typing import Any

import pytest

from paperwire.index import keyword as keyword_module
from paperwire.index.embedded import EmbeddedIndex
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest
from tests.community.conftest import make_env
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


def test_one_pass_and_two_passes_give_the_same_pages(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pw = make_env(make_app, page_cache_seconds=0.0).pw  # no kept rankings: each is run
    assert isinstance(pw.index, EmbeddedIndex)
    requests = [
        SearchRequest(q=q, mode=SearchMode.keyword, limit=limit, filters=filters)
        for q in QUERIES
        for limit in (2, 20)
        for filters in (SearchFilters(), SearchFilters(category="cs.CL"))
    ]

    def pages() -> list[tuple[list[str], list[list[str]], int, str]]:
        out = []
        for req in requests:
            res = pw.search.search(req)
            ids = [h.paper.arxiv_id for h in res.hits]
            out.append((ids, [h.matched_by for h in res.hits], res.total, res.total_relation))
        return out

    taken: list[bool] = []  # whether each search's one pass answered
    best_matches = pw.index.keyword_best_matches

    def noted(*args: Any) -> Any:
        found = best_matches(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(pw.index, "keyword_best_matches", noted)
    one_pass = pages()
    assert taken and all(taken)
    taken.clear()
    monkeypatch.setattr(keyword_module, "ONE_PASS_POSTINGS", -1)  # never few enough
    two_passes = pages()
    assert taken and not any(taken)
    assert one_pass == two_passes
    # what a search counts it lists: no page says "N results" and shows fewer
    for req, (ids, _, total, _) in zip(requests, one_pass, strict=True):
        assert len(ids) == min(total, req.limit), req
    assert sum(total for *_, total, _ in one_pass) > len(requests)  # searches that match
    assert any(len(ids) == 2 < total for ids, _, total, _ in one_pass)  # pages cut short


def test_a_search_that_fails_after_it_started_counting_leaves_no_count_running(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search that ranks BM25's hits counts its matches first, in other threads; when
    its keyword search then fails, the error reaches the caller only once the counts
    have finished (a slow count here: it would still be running without the wait)."""
    pw = make_env(make_app, page_cache_seconds=0.0).pw
    assert isinstance(pw.index, EmbeddedIndex)
    monkeypatch.setattr(keyword_module, "ONE_PASS_POSTINGS", 0)  # BM25, then members
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
    monkeypatch.setattr(pw.index, "keyword_search", failing_search)
    with pytest.raises(RuntimeError, match="keyword search failed"):
        pw.search.search(SearchRequest(q="crafted abstract", mode=SearchMode.keyword))
    assert len(started) == 1
    assert started[0]._total.done(), "the count ran on past the error"
    assert started[0].total > 0  # it counted, it was not cancelled
