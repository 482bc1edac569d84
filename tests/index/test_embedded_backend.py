"""Behaviour specific to the embedded backend (tantivy + numpy files)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.index import keyword as keyword_module
from paperwire.index.base import IndexDoc, KeywordQuery, SearchIndex
from paperwire.index.embedded import KEYWORD_DIR, EmbeddedIndex
from paperwire.index.factory import open_index
from paperwire.index.keyword import KeywordIndexLockedError, TantivyKeywordIndex
from paperwire.index.vectors import NumpyVectorIndex, VectorDimensionError, VectorIndexError
from paperwire.models.search import SearchFilters
from tests.index.conftest import forked_exit_code

NO_FILTER = SearchFilters()


def _doc(i: int, vector: np.ndarray | None = None, **kw: object) -> IndexDoc:
    fields: dict[str, object] = dict(
        arxiv_id=f"2599.{i:05d}",
        title=f"Paper number {i}",
        abstract="Text.",
        authors=["A B"],
        categories=["cs.LG"],
        organization=None,
        published=dt.date(2025, 3, 1),
        has_code=False,
        vector=vector,
    )
    fields.update(kw)
    return IndexDoc(**fields)  # type: ignore[arg-type]


def _unit(rng: np.random.Generator, dim: int = 8) -> np.ndarray:
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def test_open_index_factory(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    index = open_index(settings)
    try:
        assert isinstance(index, EmbeddedIndex) and isinstance(index, SearchIndex)
        assert index.name == "embedded"
        assert (settings.index_dir / KEYWORD_DIR / "meta.json").is_file()
    finally:
        index.close()
    settings.index = "nosuch"  # type: ignore[assignment]  # bypasses validation
    with pytest.raises(ValueError, match=r"unknown index backend 'nosuch'.*embedded, milvus"):
        open_index(settings)


def test_reader_never_takes_the_writer_lock(tmp_path: Path) -> None:
    reader = TantivyKeywordIndex(tmp_path)
    reader.keyword_search(KeywordQuery(terms=["x"]), NO_FILTER, 5)
    reader.refresh()
    writer = TantivyKeywordIndex(tmp_path)
    writer.upsert([_doc(1)])  # would fail if the reader held the lock
    second = TantivyKeywordIndex(tmp_path)
    with pytest.raises(KeywordIndexLockedError, match="another process"):
        second.upsert([_doc(2)])
    writer.commit()  # releases the lock: a process holds it only while it writes
    second.upsert([_doc(2)])
    second.commit()
    writer.upsert([_doc(3)])  # and can take it again after someone else's commit
    writer.commit()
    reader.refresh()
    assert reader.count() == 3
    second.close()
    writer.close()


def test_close_discards_uncommitted(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    index = EmbeddedIndex(tmp_path)
    index.upsert([_doc(1, _unit(rng))])
    index.commit()
    index.upsert([_doc(2, _unit(rng))])
    index.close()
    again = EmbeddedIndex(tmp_path)
    assert again.keyword_count() == 1 and again.vector_count() == 1
    again.close()


def test_vector_dimension_checks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = NumpyVectorIndex(tmp_path, dim=8)
    with pytest.raises(VectorIndexError, match="dimensions"):
        vectors.upsert([_doc(1, np.ones(5, np.float32))])
    vectors.upsert([_doc(1, _unit(rng))])
    vectors.commit()
    with pytest.raises(VectorIndexError, match="re-embed"):
        NumpyVectorIndex(tmp_path, dim=16)  # model changed since the vectors were built
    inferred = NumpyVectorIndex(tmp_path, dim=None)
    assert inferred.dim == 8 and inferred.count() == 1
    # A query of another model's size is refused by every read, the cosines of given
    # papers too (they went through a quiet skip before: no score, no error).
    for read in (
        lambda q: vectors.vector_search(q, NO_FILTER, 1),
        lambda q: vectors.cosines_of(q, ["2599.00001"]),
    ):
        with pytest.raises(VectorDimensionError, match="query vector has 5 dimensions"):
            read(np.ones(5, np.float32))
    assert set(vectors.cosines_of(_unit(rng), ["2599.00001", "2599.99999"])) == {"2599.00001"}
    fresh = NumpyVectorIndex(tmp_path / "fresh", dim=None)
    fresh.upsert([_doc(1, _unit(rng, 4))])
    with pytest.raises(VectorIndexError):
        fresh.upsert([_doc(2, _unit(rng, 5))])


def test_vector_files_are_replaced_atomically(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = NumpyVectorIndex(tmp_path, dim=8)
    for batch in range(3):
        vectors.upsert([_doc(batch * 10 + i, _unit(rng)) for i in range(10)])
        vectors.commit()
    names = sorted(p.name for p in tmp_path.iterdir())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert names == sorted([".lock", "manifest.json", manifest["vectors"], manifest["meta"]])
    assert manifest["count"] == 30 and manifest["dim"] == 8
    loaded = np.load(tmp_path / manifest["vectors"], mmap_mode="r")
    assert loaded.shape == (30, 8)


def test_concurrent_vector_writers_do_not_lose_commits(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a = NumpyVectorIndex(tmp_path, dim=8)
    b = NumpyVectorIndex(tmp_path, dim=8)
    a.upsert([_doc(i, _unit(rng)) for i in range(5)])
    b.upsert([_doc(i, _unit(rng)) for i in range(100, 103)])
    a.commit()
    b.commit()  # b has not refreshed: it must merge a's commit, not overwrite it
    a.refresh()
    assert a.count() == b.count() == 8


def test_many_small_commits_and_compaction(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    vectors = NumpyVectorIndex(tmp_path, dim=8)
    docs = [
        _doc(i, _unit(rng), categories=[f"cat{i % 3}", "all"], organization=f"org{i % 2}")
        for i in range(60)
    ]
    for start in range(0, 60, 7):
        vectors.upsert(docs[start : start + 7])
        vectors.commit()
    vectors.delete([d.arxiv_id for d in docs[::2]])
    vectors.upsert([replace(docs[1], vector=None, categories=["moved"])])
    vectors.commit()
    assert vectors.count() == 30
    for d in docs[1::2]:
        assert d.vector is not None
        r = vectors.vector_search(d.vector, NO_FILTER, 1)
        assert r.ids == [d.arxiv_id]
    cat1 = vectors.vector_search(docs[3].vector, SearchFilters(category="cat1"), 100)  # type: ignore[arg-type]
    expected = {
        d.arxiv_id
        for d in docs[1::2]
        if d.arxiv_id != docs[1].arxiv_id and int(d.arxiv_id[-2:]) % 3 == 1
    }
    assert set(cat1.ids) == expected
    moved = vectors.vector_search(docs[3].vector, SearchFilters(category="moved"), 100)  # type: ignore[arg-type]
    assert moved.ids == [docs[1].arxiv_id]
    org = vectors.vector_search(docs[3].vector, SearchFilters(organization="ORG1"), 100)  # type: ignore[arg-type]
    assert len(org) == 30  # every odd id is org1


def test_refresh_without_changes_is_cheap(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    index = EmbeddedIndex(tmp_path)
    index.upsert([_doc(i, _unit(rng, 16)) for i in range(20)])
    index.commit()
    snap = index.vectors._snap
    index.refresh()
    assert index.vectors._snap is snap  # nothing reloaded
    index.close()


def _phrase_corpus() -> list[IndexDoc]:
    """Papers whose title holds "test time scaling" (more of them than a small k, some
    identical: ties), papers saying the words often without the phrase (a high score
    from the terms alone), and papers by "Yann LeCun" that never say his name."""
    docs: list[IndexDoc] = []
    for i in range(30):
        docs.append(
            _doc(
                i,
                title="Test time scaling of compute" if i % 3 else "Test time scaling",
                abstract="We study scaling. " * (1 + i % 4),
                has_code=i % 2 == 0,
            )
        )
    for i in range(30, 50):
        docs.append(
            _doc(
                i,
                title=f"Budgets number {i}",
                abstract="Test time compute, scaling at test time, scaling tests. " * (i % 5 + 1),
                has_code=i % 2 == 0,
            )
        )
    for i in range(50, 60):
        docs.append(_doc(i, title="World models", abstract="Planning.", authors=["Yann LeCun"]))
    docs.append(_doc(60, title="Yann and LeCun", abstract="Yann LeCun said yann lecun twice."))
    return docs


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ("test time scaling", []),
        ("yann lecun", []),
        ("scaling compute", []),
        # quoted phrases: scored constraints, summed in the whole query's order
        ("test time scaling", ["we study"]),
        ("test time scaling", ["we study", "study scaling"]),
    ],
)
@pytest.mark.parametrize(
    ("rescore_from", "slack"),
    [(None, None), (0, 32), (0, 1)],
    ids=["as-held", "rescored", "rescored-ties-at-the-cut"],
)
def test_keyword_search_with_phrase_boosts_ranks_as_the_whole_query_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    phrases: list[str],
    rescore_from: int | None,
    slack: int | None,
) -> None:
    """The best k of the term clauses and of the boosted phrases' holders, merged
    (``_best_with_boosts``), are the best k of the one query that holds them all, with
    its scores, in its order of ties, for every k and filter: the holders ranked by
    ``_held`` alone, or re-scored from the phrases scored once (``_holders_best``; a
    slack of 1 leaves ties across the cut, where ``_held`` ranks them all)."""
    if rescore_from is not None:
        monkeypatch.setattr(keyword_module, "RESCORE_HOLDERS_FROM", rescore_from)
        monkeypatch.setattr(keyword_module, "RESCORE_SLACK", slack)
        # the candidates as a term set (which scores 1 alone), as past 256 of them
        monkeypatch.setattr(keyword_module, "ID_TERMS_UP_TO", 1)
    kw = TantivyKeywordIndex(tmp_path / "kw")
    kw.upsert(_phrase_corpus())
    kw.commit()
    query = KeywordQuery(terms=text.split(), phrases=phrases)
    assert kw._boosts(query)  # the two-search path is the one under test
    searcher, cache = kw._snapshot()
    for filters in (NO_FILTER, SearchFilters(has_code=True)):
        q = kw.build_query(query, filters)
        assert q is not None
        for k in (1, 3, 5, 10, 25, 100):
            whole = searcher.search(q, limit=k, count=False).hits
            expected = [kw._id_of(searcher, cache, a) for _, a in whole]
            found = kw.keyword_search(query, filters, k)
            assert found.ids == expected, (filters, k)
            assert found.scores == [s for s, _ in whole], (filters, k)


def test_a_plain_query_s_phrase_holders_are_searched_beside_its_terms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain query whose words are held more than ``BESIDE_POSTINGS`` times has its
    phrase holders searched in a pool thread while its terms are searched in the
    caller's (``_best_with_boosts``); a shorter or a filtered query, in the caller's (its
    count takes the other core). A holders' search no pool thread has started when the
    terms' is done (a busy pool: a crowd) is taken back and run in the caller's thread,
    not waited for. The hits are the whole query's every time."""
    kw = TantivyKeywordIndex(tmp_path / "kw")
    kw.upsert(_phrase_corpus())
    kw.commit()
    query = KeywordQuery(terms=["test", "time", "scaling"])
    searcher, cache = kw._snapshot()
    threads = ThreadPoolExecutor(1)
    handed: list[Future[Any]] = []

    class Pool:
        started = True  # wait until the pool's thread has started what it is handed

        def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
            begun = threading.Event()

            def run() -> Any:
                begun.set()
                return fn(*args, **kwargs)

            handed.append(threads.submit(run))
            if Pool.started:
                assert begun.wait(30)
            return handed[-1]

    class Beside:
        def pool(self) -> Pool:
            return Pool()

    monkeypatch.setattr(keyword_module, "_BESIDE", Beside())

    def expected(filters: SearchFilters) -> list[str | None]:
        q = kw.build_query(query, filters)
        assert q is not None
        return [kw._id_of(searcher, cache, a) for _, a in searcher.search(q, limit=10).hits]

    assert kw.keyword_search(query, NO_FILTER, 10).ids == expected(NO_FILTER)
    assert not handed, "a short search is not handed over"
    monkeypatch.setattr(keyword_module, "BESIDE_POSTINGS", 0)
    assert kw.keyword_search(query, NO_FILTER, 10).ids == expected(NO_FILTER)
    assert len(handed) == 1 and handed[0].done() and not handed[0].cancelled()
    filtered = SearchFilters(has_code=True)
    assert kw.keyword_search(query, filtered, 10).ids == expected(filtered)
    assert len(handed) == 1, "a filtered query searches its holders in its own thread"

    busy = threading.Event()
    threads.submit(busy.wait, 60)  # the pool's one thread, taken
    Pool.started = False
    found: list[list[str]] = []
    caller = threading.Thread(
        target=lambda: found.append(kw.keyword_search(query, NO_FILTER, 10).ids)
    )
    caller.start()
    caller.join(30)
    busy.set()
    assert not caller.is_alive(), "the search waited for a busy pool"
    assert found == [expected(NO_FILTER)]
    assert len(handed) == 2 and handed[1].cancelled()
    threads.shutdown()


def test_a_count_with_no_known_document_total_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lower bound read from a word's frequency subtracts the deleted documents it
    may count, read from BM25's document total; where that total cannot be read (0),
    there is no such bound: the matches are counted, exactly, unless a bound is counted
    first (the widest covers' holders, ``_covers_floor``: a search's count leaves the
    deleted documents out, so it needs no document total)."""
    kw = TantivyKeywordIndex(tmp_path / "kw")
    kw.upsert(_phrase_corpus())
    kw.commit()
    # eight covers, more than FLOOR_COVERS, so a bound can be counted first
    words = ["scaling", "budgets", "compute", "number", "world", "planning", "yann", "study"]
    query = KeywordQuery(terms=words)
    exact = kw.match_count(query, NO_FILTER, 0.1)
    bounded = kw.match_count(query, NO_FILTER, 0.1, exact_up_to=1)
    assert exact.exact and not bounded.exact and 1 < bounded.total <= exact.total
    monkeypatch.setattr(TantivyKeywordIndex, "_scoring_docs", lambda *_: 0)
    counted_first = kw.match_count(query, NO_FILTER, 0.1, exact_up_to=1)
    assert not counted_first.exact and 1 < counted_first.total < exact.total  # a subset
    monkeypatch.setattr(keyword_module, "FLOOR_MARGIN", math.inf)  # nothing counted first
    assert kw.match_count(query, NO_FILTER, 0.1, exact_up_to=1) == exact


def test_a_forked_child_counts_matches_with_threads_of_its_own(tmp_path: Path) -> None:
    """``match_count`` counts in a process-wide pool of threads; a child forked after the
    parent used it has none of those threads and must not wait on them for ever."""
    kw = TantivyKeywordIndex(tmp_path / "kw")
    kw.upsert(_phrase_corpus())
    kw.commit()
    query = KeywordQuery(terms=["scaling"])
    expected = kw.match_count(query, NO_FILTER, 1.0, among=["2599.00001"], overlap=["2599.00031"])
    assert expected.total > 0 and expected.members and expected.overlap == 1

    def child() -> None:
        found = kw.match_count(query, NO_FILTER, 1.0, among=["2599.00001"], overlap=["2599.00031"])
        os._exit(0 if found == expected else 3)

    assert forked_exit_code(child, timeout=30) == 0


def test_a_failed_member_read_is_the_error_match_count_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When reading the members fails while a count fails too, the caller sees the
    read's error (the first), and the counts have finished before it is raised; when
    only a count fails, its error is raised where the total is read (counts are
    returned still running)."""
    kw = TantivyKeywordIndex(tmp_path / "kw")
    kw.upsert(_phrase_corpus())
    kw.commit()
    query = KeywordQuery(terms=["scaling"])
    counted: list[int] = []
    count = kw._count

    def failing_count(searcher: Any, q: Any) -> int:
        counted.append(count(searcher, q))
        raise RuntimeError("count failed")

    keeping = kw._count_keeping  # an unbounded count's (it keeps few matches)

    def failing_keeping(*args: Any) -> int:
        counted.append(keeping(*args))
        raise RuntimeError("count failed")

    def failing_read(*args: Any) -> frozenset[str]:
        raise ValueError("read failed")

    monkeypatch.setattr(kw, "_count", failing_count)
    monkeypatch.setattr(kw, "_count_keeping", failing_keeping)
    found = kw.match_count(query, NO_FILTER, 1.0, among=["2599.00001"], overlap=["2599.00031"])
    assert found.members == {"2599.00001"}
    with pytest.raises(RuntimeError, match="count failed"):
        _ = found.total
    with pytest.raises(RuntimeError, match="count failed"):
        _ = found.overlap  # both counts over before the next call is counted
    counted.clear()
    monkeypatch.setattr(kw, "_members", failing_read)
    with pytest.raises(ValueError, match="read failed"):
        kw.match_count(query, NO_FILTER, 1.0, among=["2599.00001"], overlap=["2599.00031"])
    assert len(counted) == 2  # the total and the overlap ran to their end


def test_two_orders_of_one_float32_sum_differ_within_the_re_scoring_bound() -> None:
    """``_sum_error``, the margin ``_holders_best`` keeps between its k-th candidate and
    its last: the same non-negative float32 scores added in two orders (as tantivy adds
    a query's clauses) never differ by more than a quarter of it, the textbook bound."""
    rng = np.random.default_rng(47)
    worst = 0.0
    for _ in range(20_000):
        n = int(rng.integers(2, 24))
        # BM25 clause scores: mostly small, a few large (a rare word, a phrase boost)
        scores = (rng.exponential(2.0, n) * rng.choice([1, 1, 1, 8], n)).astype(np.float32)
        one, other = np.float32(0), np.float32(0)
        for x in scores:
            one = np.float32(one + x)
        for x in scores[rng.permutation(n)]:
            other = np.float32(other + x)
        bound = keyword_module._sum_error(float(max(one, other)), n)
        assert abs(float(one) - float(other)) <= bound / 4, (scores, one, other)
        worst = max(worst, abs(float(one) - float(other)) / bound)
    assert worst > 0  # the orders did differ: the check is not vacuous


def test_the_re_scored_holders_are_taken_only_with_a_clear_cut() -> None:
    """``_clear_cut``: step one's candidates stand for the holders only where every
    holder came back, or where the k-th scores above the last by more than the two
    orders' rounding can close (ties across the cut send the search to ``_held``)."""
    clear_cut = keyword_module._clear_cut
    error = keyword_module._sum_error(40.0, 5)
    assert clear_cut([40.0, 30.0, 20.0], 2, 4, 5)  # fewer than asked: all of them
    assert clear_cut([40.0, 30.0, 20.0, 10.0], 2, 4, 5)  # 30 - 10: clear
    assert not clear_cut([40.0, 30.0, 30.0, 30.0], 2, 4, 5)  # a tie across the cut
    near = 30.0 - 2 * error
    assert not clear_cut([40.0, 30.0, near, near], 2, 4, 5)  # within the rounding
    below = 30.0 - 2.5 * error
    assert clear_cut([40.0, 30.0, below, below], 2, 4, 5)
    assert not clear_cut([40.0, 30.0, below, below], 2, 4, 500)  # more addends, more slack
