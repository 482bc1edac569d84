"""End-to-end search on a real corpus: ingest HF daily papers, embed them, search."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.index.base import KeywordQuery, Ranked, Vector
from paperwire.jobs.embed import embed_backlog
from paperwire.jobs.reindex import rebuild_index
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest, SortOrder
from paperwire.search.service import SemanticMembers, SemanticSide
from paperwire.services.ingest import ingest_records
from paperwire.sources.hf_daily import read_hf_daily_dir
from tests.conftest import HF_DAILY

SINCE, UNTIL = dt.date(2025, 6, 9), dt.date(2025, 6, 13)


@pytest.fixture(scope="module")
def corpus_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paperwire]:
    home = tmp_path_factory.mktemp("corpus")
    pw = Paperwire(Settings(home=home))
    summary = ingest_records(pw, read_hf_daily_dir(HF_DAILY, SINCE, UNTIL), "hf-daily")
    assert summary.rejected == 0 and summary.added > 100
    report = embed_backlog(pw)
    assert report.remaining == 0 and report.embedded == summary.added
    yield pw
    pw.close()


def titles(pw: Paperwire) -> list[tuple[str, str]]:
    return [(d.arxiv_id, d.title) for batch in pw.store.iter_index_docs(None) for d in batch]


def ranks(pw: Paperwire, q: str, mode: SearchMode = SearchMode.hybrid, **f: object) -> list[str]:
    res = pw.search.search(SearchRequest(q=q, mode=mode, filters=SearchFilters(**f), limit=10))
    return [h.paper.arxiv_id for h in res.hits]


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(SearchMode))
def test_every_paper_is_top3_for_its_own_title(corpus_app: Paperwire, mode: SearchMode) -> None:
    docs = titles(corpus_app)
    misses = [aid for aid, title in docs if aid not in ranks(corpus_app, title, mode)[:3]]
    # Keyword and hybrid must find (almost) every paper by its title; semantic nearly so.
    allowed = 0.01 if mode != SearchMode.semantic else 0.05
    assert len(misses) <= allowed * len(docs), (mode, len(misses), len(docs), misses[:5])


@pytest.mark.slow
def test_semantic_finds_paraphrases_keyword_cannot(corpus_app: Paperwire) -> None:
    # 2506.08007 "Reinforcement Pre-Training": next-token prediction as an RL task.
    q = "treating next word prediction as a reasoning problem rewarded with RL"
    assert "2506.08007" in ranks(corpus_app, q, SearchMode.semantic)[:5]
    assert "2506.08007" in ranks(corpus_app, q, SearchMode.hybrid)[:5]


@pytest.mark.slow
def test_filters_exclude_what_they_should(corpus_app: Paperwire) -> None:
    q = "language models"
    everything = corpus_app.search.search(SearchRequest(q=q, limit=100))
    with_code = corpus_app.search.search(
        SearchRequest(q=q, limit=100, filters=SearchFilters(has_code=True))
    )
    assert with_code.hits and all(h.paper.has_code for h in with_code.hits)
    assert any(not h.paper.has_code for h in everything.hits)
    start = dt.date(2025, 6, 10)
    dated = corpus_app.search.search(
        SearchRequest(q=q, limit=100, filters=SearchFilters(date_from=start))
    )
    assert dated.hits
    for h in dated.hits:
        assert h.paper.published_at is not None and h.paper.published_at.date() >= start
    assert any(
        h.paper.published_at and h.paper.published_at.date() < start for h in everything.hits
    )


@pytest.mark.slow
def test_sorts_and_snippets(corpus_app: Paperwire) -> None:
    res = corpus_app.search.search(
        SearchRequest(q="diffusion video generation", sort=SortOrder.upvotes, limit=20)
    )
    votes = [h.paper.upvotes for h in res.hits]
    assert votes == sorted(votes, reverse=True) and len(votes) == 20
    assert res.semantic_used
    # Sorted by votes: every match (the words, or close in meaning); keyword matches are
    # highlighted and hold the query's words.
    by_keyword = [h for h in res.hits if "keyword" in h.matched_by]
    assert by_keyword and all(any(p.hit for p in h.snippet + h.title_parts) for h in by_keyword)
    assert all(len(h.matched_terms) >= 2 for h in by_keyword)
    keyword_only = corpus_app.search.search(
        SearchRequest(
            q="diffusion video generation",
            mode=SearchMode.keyword,
            sort=SortOrder.upvotes,
            limit=100,
        )
    )
    assert 0 < keyword_only.total <= res.total


def test_hybrid_takes_known_cosines_from_the_range_result(
    corpus_app: Paperwire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weighted fusion scores every keyword candidate by its exact cosine: those known
    (``SemanticMembers``: here the whole range result) taken as they are, only the
    others (below the floor) asked of the index; the same ranking as asking for all of
    them."""
    pw, svc = corpus_app, corpus_app.search
    embedder = pw.embedder()
    assert embedder is not None
    vec = embedder.encode_query("video diffusion")
    semantic = pw.index.vector_range(vec, SearchFilters(), svc.semantic_floor, 100_000)
    head = Ranked(semantic.ids[:3], semantic.scores[:3])
    candidates = pw.index.keyword_search(
        KeywordQuery(terms=["video", "diffusion"]), SearchFilters(), 100
    )
    above = set(semantic.ids[3:]) & set(candidates.ids)
    assert above and set(candidates.ids) - set(semantic.ids)  # both kinds present
    plain = svc._with_cosines(head, candidates.ids, vec)
    asked: list[str] = []
    real = pw.index.cosines_of

    def recorded(vector: Vector, ids: Sequence[str]) -> dict[str, float]:
        asked.extend(ids)
        return real(vector, ids)

    monkeypatch.setattr(pw.index, "cosines_of", recorded)
    side = SemanticSide(semantic, vec, False, len(semantic.ids), semantic.ids)
    known = SemanticMembers(pw.index, side, svc.semantic_floor)
    fast = svc._with_cosines(head, candidates.ids, vec, known=known)
    assert asked and not set(asked) & set(semantic.ids)
    assert fast.ids == plain.ids
    assert fast.scores == pytest.approx(plain.scores, abs=1e-5)


def test_the_latency_bench_times_the_cosines_fusion_asks_as_vector_work(
    corpus_app: Paperwire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``paperwire bench latency`` splits a search into parts with thin wrappers around
    the index: the cosines a hybrid search asks for BM25's candidates outside the
    semantic head (``cosines_of``, which weighted fusion scores them by) are vector work,
    not "rest". Each call is slowed by 50 ms here so the part it lands in is plain."""
    from paperwire.bench.latency import _Clock, _TimedIndex

    pw, svc = corpus_app, corpus_app.search
    real = pw.index.cosines_of
    asked: list[int] = []

    def slowed(vector: Vector, ids: Sequence[str]) -> dict[str, float]:
        asked.append(len(ids))
        time.sleep(0.05)
        return real(vector, ids)

    monkeypatch.setattr(pw.index, "cosines_of", slowed)
    clock = _Clock()
    clock.reset()
    monkeypatch.setattr(svc, "index", _TimedIndex(pw.index, clock))
    svc.search(SearchRequest(q="diffusion models for video generation", mode=SearchMode.hybrid))
    assert asked, "the search asked no cosines: nothing to time"
    assert clock.parts["vector"] >= 50 * len(asked)


@pytest.mark.slow
def test_id_lookup_and_similar_papers(corpus_app: Paperwire) -> None:
    res = corpus_app.search.search(SearchRequest(q="https://arxiv.org/abs/2506.08007v2"))
    assert res.hits[0].paper.arxiv_id == "2506.08007"
    assert "id" in res.hits[0].matched_by
    similar, method = corpus_app.search.similar("2506.08007", k=5)
    assert method == "fused" and len(similar) == 5
    assert "2506.08007" not in [c.arxiv_id for c in similar]


@pytest.mark.slow
def test_rebuild_index_reproduces_results(corpus_app: Paperwire) -> None:
    before = ranks(corpus_app, "multimodal reasoning benchmark")
    n = rebuild_index(corpus_app).written
    assert n == corpus_app.store.count()
    assert corpus_app.index.vector_count() == n
    assert ranks(corpus_app, "multimodal reasoning benchmark") == before


def test_keyword_search_works_before_any_embedding(tmp_path: Path) -> None:
    pw = Paperwire(Settings(home=tmp_path))
    day = dt.date(2025, 6, 10)
    ingest_records(pw, read_hf_daily_dir(HF_DAILY, day, day), "hf-daily")
    res = pw.search.search(SearchRequest(q="Reinforcement Pre-Training"))
    assert res.hits[0].paper.arxiv_id == "2506.08007"
    assert not res.semantic_used
    status = pw.status()
    assert status.embedding_backlog == status.papers > 0 and not status.semantic_ready
    pw.close()
