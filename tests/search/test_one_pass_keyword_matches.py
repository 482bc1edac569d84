"""A search of keyword matches alone is ranked and counted in one pass where the index
has one (``SearchIndex.keyword_best_matches``), and by BM25's hits and the members among
them elsewhere: both give the same page and the same total."""

from __future__ import annotations

import pytest

from paperwire.index import keyword as keyword_module
from paperwire.index.embedded import EmbeddedIndex
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest, SortOrder
from paperwire.search.query import parse_query
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

    coverage = pw.search._coverage(parse_query("crafted abstract"), SortOrder.relevance)
    one = parse_query("crafted abstract").keyword
    assert pw.index.keyword_best_matches(one, SearchFilters(), coverage, 10) is not None
    one_pass = pages()
    monkeypatch.setattr(keyword_module, "ONE_PASS_POSTINGS", 0)  # every word too common
    assert pw.index.keyword_best_matches(one, SearchFilters(), coverage, 10) is None
    two_passes = pages()
    assert one_pass == two_passes
    assert sum(total for *_, total, _ in one_pass) > len(requests)  # searches that match
    assert any(len(ids) == 2 < total for ids, _, total, _ in one_pass)  # pages cut short
