"""The int8 pre-scan of the exact vector index (used from ~20k rows), forced on the small
real corpus by lowering its threshold: its bounds hold every cosine, and a search that
takes it answers exactly as the full fp32 scan, ids, scores and order."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.index import prescan, vectors
from paperwire.index.base import IndexDoc, Ranked
from paperwire.index.embedded import EmbeddedIndex
from paperwire.index.factory import open_index
from paperwire.index.prescan import Int8Copy
from paperwire.index.vectors import NumpyVectorIndex
from paperwire.models.search import SearchFilters
from tests.index.conftest import forked_exit_code

FILTERS = [
    SearchFilters(),
    SearchFilters(has_code=False),  # most rows: the pre-scan with a mask
    SearchFilters(date_from=dt.date(2025, 3, 10)),
    SearchFilters(category="cs.CL"),  # 71 of 300 rows: bounded by a copy of its own
]
# Categories of the corpus holding 16-26 % of its 300 papers (49-79): more than is
# gathered, at most half (``_SUBSET_MAX_FRACTION``).
CATEGORIES = ["cs.ai", "cs.cl", "cs.lg"]


@pytest.fixture(autouse=True, params=["c", "onnx"])
def product(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both products of the int8 copy: the C loop (``_int8.c``, which
    the test install compiles; skipped on a CPU without AVX-512 VNNI) and ONNX
    Runtime's."""
    kind: type[prescan._BlockedProduct] | type[prescan._OnnxProduct] = prescan._OnnxProduct
    if request.param == "c":
        assert prescan._int8 is not None, "the install did not build paperwire.index._int8"
        if not prescan._BlockedProduct.runs():
            pytest.skip("this CPU lacks AVX-512 VNNI: the C product does not run")
        kind = prescan._BlockedProduct
    monkeypatch.setattr(prescan, "_product_kind", lambda: kind)
    return str(request.param)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """The pre-scan from any size on; records (candidates, rows) of every pre-scan."""
    monkeypatch.setattr(vectors, "PRESCAN_MIN_ROWS", 0)
    seen: list[tuple[int, int]] = []

    def recorded(pick: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        def call(approx: np.ndarray, *args: Any) -> np.ndarray:
            rows = pick(approx, *args)
            seen.append((rows.shape[0], approx.shape[0]))
            return rows

        return call

    monkeypatch.setattr(vectors, "top_candidates", recorded(prescan.top_candidates))
    monkeypatch.setattr(vectors, "range_candidates", recorded(prescan.range_candidates))
    yield seen


class HeldBuilds(NamedTuple):
    """Copies are built only once ``release`` is set; ``started`` is set once a build is
    under way (waiting for ``release``); ``built`` holds the rows of each, in order."""

    release: threading.Event
    started: threading.Event
    built: list[int]


@pytest.fixture
def held_builds(monkeypatch: pytest.MonkeyPatch) -> HeldBuilds:
    held_back = HeldBuilds(threading.Event(), threading.Event(), [])
    build = Int8Copy.build

    def held(matrix: np.ndarray, threads: int | None = None) -> Int8Copy | None:
        held_back.started.set()
        held_back.release.wait(timeout=30)
        held_back.built.append(matrix.shape[0])
        return build(matrix, threads)

    monkeypatch.setattr(Int8Copy, "build", staticmethod(held))
    return held_back


def _committed(path: Path, docs: list[IndexDoc]) -> NumpyVectorIndex:
    index = NumpyVectorIndex(path)
    index.upsert([replace(d) for d in docs])
    index.commit()
    return index


def _index(path: Path, docs: list[IndexDoc]) -> NumpyVectorIndex:
    index = _committed(path, docs)
    index.warm()
    return index


def _with_and_without(
    monkeypatch: pytest.MonkeyPatch, search: Callable[[], Ranked]
) -> tuple[Ranked, Ranked]:
    """``search``'s answer with the pre-scan, and with the full fp32 scan."""
    got = search()
    with monkeypatch.context() as m:
        m.setattr(vectors, "PRESCAN_MIN_ROWS", 1 << 62)
        return got, search()


def _as_full_scan(monkeypatch: pytest.MonkeyPatch, search: Callable[[], Ranked]) -> None:
    """``search`` answers what it answers with the pre-scan off: the same ids in the
    same order, the same scores up to float rounding (the fp32 product of a gathered
    row and of the whole matrix may differ in the last bit; the real corpus has no two
    papers that close)."""
    got, scan = _with_and_without(monkeypatch, search)
    assert got.ids == scan.ids
    np.testing.assert_allclose(got.scores, scan.scores, rtol=0, atol=1e-6)


def test_bounds_hold_every_cosine(corpus_vectors: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    spiky = np.zeros((4, corpus_vectors.shape[1]), dtype=np.float32)
    spiky[:, :3] = [[1, 0, 0], [0.6, 0.8, 0], [1, 1, 1], [-1, 1e-3, 0]]  # extreme components
    matrix = np.vstack([corpus_vectors, spiky]).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    copy = Int8Copy.build(matrix)
    assert copy is not None
    queries = [*matrix[::37], *rng.standard_normal((20, matrix.shape[1])).astype(np.float32)]
    widest = 0.0
    for q in queries:
        q = q / np.linalg.norm(q)
        approx, slack = copy.bounds(q)
        error = np.abs(matrix.astype(np.float64) @ q.astype(np.float64) - approx)
        assert np.all(error <= slack)
        widest = max(widest, float(slack.max()))
    assert widest < 0.05  # tight enough to leave out most rows


@pytest.mark.parametrize(("rows", "dim"), [(50, 18), (64, 16), (200, 384)])
def test_the_products_are_exact_integers(product: str, rows: int, dim: int) -> None:
    """The product gives every query row's exact integer product with every row's code
    (less 128), whatever the number of rows (whole blocks of 64 or not), dimensions (a
    multiple of 4 or not) and query rows (odd or even, as many as ``bounds_many``
    sends): the integers a 64-bit numpy product gives, for random and extreme codes. A
    copy of some rows alone gives those rows' integers."""
    rng = np.random.default_rng(rows + dim)
    codes = rng.integers(1, 256, size=(rows, dim), dtype=np.uint8)
    codes[0], codes[-1] = 255, 1  # (code − 128) of 127 and −127 in every dimension
    kind = prescan._product_kind()
    held = kind.empty(rows, dim)
    for start in range(0, rows, 128):  # put as a build puts its chunks
        kind.put(held, start, codes[start : start + 128])
    made = kind(held, rows, 1)
    signed = codes.astype(np.int64) - 128
    for m in (1, 2, 3, 2 * prescan.QUERIES_AT_ONCE):
        queries = rng.integers(-127, 128, size=(m, dim), dtype=np.int8)
        queries[0] = 127 if m % 2 else -127
        expected = queries.astype(np.int64) @ signed.T
        assert made.dots(queries).tolist() == expected.tolist()
    some = np.array([0, 3, rows // 2, rows - 1], dtype=np.intp)
    picked = made.codes_of(some)
    assert picked[:, :dim].tolist() == codes[some].tolist()
    part = kind.empty(*picked.shape)
    kind.put(part, 0, picked)
    queries = rng.integers(-127, 128, size=(3, dim), dtype=np.int8)
    alone = kind(part, some.shape[0], 1).dots(queries)
    assert alone.tolist() == (queries.astype(np.int64) @ signed[some].T).tolist()
    none = np.zeros(0, dtype=np.intp)  # no rows: no codes, no products
    assert made.codes_of(none).shape[0] == 0
    empty = kind.empty(0, dim)
    assert kind(empty, 0, 1).dots(queries).shape == (3, 0)


@pytest.mark.parametrize("product", ["c"], indirect=True)
def test_the_c_product_refuses_what_it_cannot_read(product: str) -> None:
    """Wrong types and shapes raise, naming what was wrong, instead of reading past an
    array."""
    from paperwire.index import _int8

    blocks = np.zeros((2, 4, 64, 4), dtype=np.uint8)  # 128 rows of 16 dimensions
    queries = np.zeros((2, 16), dtype=np.int8)
    out = np.zeros((2, 128), dtype=np.int32)
    _int8.dots(blocks, queries, out)
    cases = [
        (blocks.astype(np.int8), queries, out, "codes must be uint8"),
        (blocks, queries.astype(np.int16), out, "queries must be a 2-d int8 array"),
        (blocks, queries, out.astype(np.int64), "out must be int32"),
        (blocks, np.zeros((2, 15), dtype=np.int8), out, "multiple of 4"),
        (blocks, np.zeros((2, 24), dtype=np.int8), out, "whole blocks"),
        (blocks, queries, np.zeros((2, 64), dtype=np.int32), "one int32 per query row"),
    ]
    for codes, rows, into, message in cases:
        with pytest.raises(ValueError, match=message):
            _int8.dots(codes, rows, into)
    with pytest.raises(TypeError):
        _int8.dots(blocks, queries)
    with pytest.raises(ValueError, match="not C-contiguous"):
        _int8.dots(blocks, queries, np.zeros((2, 128), dtype=np.int32)[:, ::-1])


def test_bounds_of_many_queries_are_each_ones_bounds(
    corpus_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bounds_many`` gives each query the very values ``bounds`` gives it (integer
    products, the same float steps), over several groups of queries."""
    monkeypatch.setattr(prescan, "QUERIES_AT_ONCE", 3)
    matrix = corpus_vectors.astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    copy = Int8Copy.build(matrix)
    assert copy is not None
    rng = np.random.default_rng(11)
    queries = [*matrix[::41], *rng.standard_normal((4, matrix.shape[1])).astype(np.float32)]
    queries = [q / np.linalg.norm(q) for q in queries]
    assert len(queries) > 2 * prescan.QUERIES_AT_ONCE
    many = list(copy.bounds_many(queries))
    assert len(many) == len(queries)
    for q, (approx, slack) in zip(queries, many, strict=True):
        one_approx, one_slack = copy.bounds(q)
        np.testing.assert_array_equal(approx, one_approx)
        np.testing.assert_array_equal(slack, one_slack)


def test_many_searches_answer_as_each_search(
    calls: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """``vector_search_many`` bounds its queries from one int8 product per
    ``QUERIES_AT_ONCE`` of them and answers each as ``vector_search`` does; a query
    with no direction gets nothing and costs the others nothing."""
    monkeypatch.setattr(prescan, "QUERIES_AT_ONCE", 4)
    index = _index(tmp_path / "v", embedded_corpus)
    queries = [d.vector for d in embedded_corpus[::23] if d.vector is not None]
    queries.insert(2, np.zeros_like(queries[0]))
    copy = index._snap.int8()
    assert copy is not None
    for f in FILTERS:  # the category's own copy, built before the products are counted
        index.vector_search(queries[0], f, 1)
    copies = [copy, *(job.build.result(timeout=60) for job in index._snap._subsets.values())]
    assert len(copies) == 2
    products: list[int] = []

    def counted(dots: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        def call(queries: np.ndarray) -> np.ndarray:
            products.append(queries.shape[0])
            return dots(queries)

        return call

    for each in copies:
        monkeypatch.setattr(each.product, "dots", counted(each.product.dots))
    live = len(queries) - 1
    for f in FILTERS:
        for k in (1, 40):
            calls.clear()
            products.clear()
            many = index.vector_search_many(queries, f, k)
            assert len(calls) == live  # the pre-scan, once per live query
            # ... of the category's own rows (71), else every row
            assert {n for _, n in calls} == {71 if f.category else len(embedded_corpus)}
            # ... from one product per 4 queries, two rows each
            assert products == [8] * (live // 4) + ([2 * (live % 4)] if live % 4 else [])
            each = [index.vector_search(q, f, k) for q in queries]
            assert [r.ids for r in many] == [r.ids for r in each]
            assert [r.scores for r in many] == [r.scores for r in each]
            assert not many[2].ids and all(r.ids for i, r in enumerate(many) if i != 2)
    assert index.vector_search_many(queries, FILTERS[0], 0) == [Ranked()] * len(queries)
    assert index.vector_search_many([], FILTERS[0], 5) == []


def test_a_row_that_is_not_finite_means_no_copy(corpus_vectors: np.ndarray) -> None:
    matrix = corpus_vectors.astype(np.float32).copy()
    matrix[3, 5] = np.nan
    assert Int8Copy.build(matrix) is None


@pytest.mark.parametrize("allowed", [None, 0.0, 0.001, 0.16, 0.5, 0.95, 1.0])
def test_candidates_follow_their_definitions_under_any_mask(allowed: float | None) -> None:
    """The three pickers against their definitions, written out row by row: masks
    that allow no row, a handful (fewer than ``k``), a sixth, half, all but a twentieth
    (the few left out set to -inf) and every row, and bounds with ties (rounded to a
    few values, as copies of one vector make them)."""
    rng = np.random.default_rng(7)
    n = 3_000
    approx = np.round(rng.normal(0.2, 0.15, n), 2).astype(np.float32)
    slack = rng.uniform(0.0, 0.05, n).astype(np.float32)
    mask = None if allowed is None else rng.random(n) < allowed
    ok = np.ones(n, dtype=bool) if mask is None else mask
    upper, lower = approx + slack, approx - slack
    rows = [r for r in range(n) if ok[r]]
    for k in (1, 10, 100, n + 1):
        lows = sorted((float(lower[r]) for r in rows), reverse=True)
        want = [r for r in rows if not lows or upper[r] >= lows[min(k, len(lows)) - 1]]
        got = prescan.top_candidates(approx.copy(), slack.copy(), k, mask)
        assert got.tolist() == (want if rows else []), k
    for floor, limit in ((0.3, 50), (0.3, 10_000), (0.1, 5), (-1.0, 200)):
        reach = [r for r in rows if upper[r] >= floor]
        if len(reach) > limit:
            cut = sorted((float(lower[r]) for r in reach), reverse=True)[limit - 1]
            reach = [r for r in reach if upper[r] >= cut]
        got = prescan.range_candidates(approx.copy(), slack.copy(), floor, limit, mask)
        assert got.tolist() == reach, (floor, limit)
        sure, straddling = prescan.floor_split(approx.copy(), slack.copy(), floor, mask)
        assert np.flatnonzero(sure).tolist() == [r for r in rows if lower[r] >= floor]
        assert straddling.tolist() == [r for r in rows if upper[r] >= floor > lower[r]]


def test_the_prescan_answers_as_the_full_scan(
    calls: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    index = _index(tmp_path / "v", embedded_corpus)
    ids = [d.arxiv_id for d in embedded_corpus]
    searches: list[Callable[[], Ranked]] = []
    for doc in embedded_corpus[:: len(embedded_corpus) // 12][:12]:
        v = doc.vector
        assert v is not None
        for f in FILTERS:
            for k in (1, 10, 100):
                searches.append(lambda v=v, f=f, k=k: index.vector_search(v, f, k, ids[:3]))
            for floor, limit in ((0.3, 4001), (0.2, 25), (0.5, 10), (-1.0, 60)):
                searches.append(lambda v=v, f=f, a=floor, b=limit: index.vector_range(v, f, a, b))
    for search in searches:
        _as_full_scan(monkeypatch, search)
    # The pre-scan answered most of them, scoring a fraction of the rows in fp32.
    calls.clear()
    for search in searches:
        search()
    assert len(calls) >= len(searches) // 2
    assert np.median([c / n for c, n in calls]) < 0.5


def test_a_ranges_head_and_length_are_the_full_scans(
    calls: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """``vector_range_head`` with the pre-scan (rows whose lower bound clears the floor
    counted unscored): the full scan's first ``head`` rows and its length, with limits
    above and below the number of rows over the floor; asked for its members, every
    row of the full scan where the limit does not cut it, none where it does. A head
    of 0 (a newest / most upvoted walk's members) ranks none and counts the same, and
    where the limit cuts the range ranks its best ``limit`` (what the walk takes)."""
    index = _index(tmp_path / "v", embedded_corpus)
    splits: list[int] = []  # rows of each floor split (the bounds placing rows unscored)

    def split(approx: np.ndarray, *args: Any) -> Any:
        splits.append(approx.shape[0])
        return prescan.floor_split(approx, *args)

    monkeypatch.setattr(vectors, "floor_split", split)
    cases = (
        (0.3, 4001, 100),
        (0.2, 25, 10),
        (0.5, 10, 3),
        (-1.0, 60, 60),
        (0.1, 200, 1),
        (0.2, 5, 30),  # a head longer than the limit: the limit holds
        (0.3, 4001, 0),  # no head: the members alone
        (0.2, 25, 0),
    )
    capped = ranked_whole = 0
    for doc in embedded_corpus[:: len(embedded_corpus) // 12][:12]:
        v = doc.vector
        assert v is not None
        for f in FILTERS:
            for floor, limit, head in cases:
                calls.clear()
                splits.clear()
                best, count, unasked = index.vector_range_head(v, f, floor, limit, head)
                listed = index.vector_range_head(v, f, floor, limit, head, members=True)
                with monkeypatch.context() as m:
                    m.setattr(vectors, "PRESCAN_MIN_ROWS", 1 << 62)
                    scan = index.vector_range(v, f, floor, limit)
                cut = len(scan.ids) >= limit
                shown = len(scan.ids) if head == 0 and cut else head  # no head, cut: ranked
                assert best.ids == scan.ids[:shown], (floor, limit, head, f)
                np.testing.assert_allclose(best.scores, scan.scores[:shown], rtol=0, atol=1e-6)
                assert count == len(scan.ids), (floor, limit, head, f)
                assert unasked is None and listed[:2] == (best, count)
                if count < limit:
                    assert listed.members is not None
                    assert sorted(listed.members) == sorted(scan.ids), (floor, limit, f)
                else:
                    assert listed.members is None, (floor, limit, f)
                capped += count == limit
                ranked_whole += head == 0 and cut
                if f.date_from is None:  # a selection too small to bound is gathered
                    assert splits, "the pre-scan answered"
                    if not (head == 0 and cut):
                        assert bool(calls) == (head > 0), "a head of 0 ranks no candidates"
    assert capped >= 12  # the limit cut the count short, as it does past the bound
    assert ranked_whole >= 6  # a head of 0 cut by the limit: ranked


def test_a_cut_walk_too_wide_to_gather_bounds_once_and_ranks_the_scan(
    calls: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """A head of 0 cut by its limit, whose candidates are too many to gather: the full
    scan ranks the best ``limit``, as ``vector_range`` without the pre-scan does, and
    the int8 bounds are worked out once (before, the scan came through ``vector_range``,
    which worked out the bounds and their candidates again first)."""
    index = _index(tmp_path / "v", embedded_corpus)
    monkeypatch.setattr(vectors, "_GATHER_MAX_FRACTION", 0.0)  # nothing is gathered
    products: list[int] = []
    bounds = Int8Copy.bounds

    def counted(copy: Int8Copy, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        products.append(1)
        return bounds(copy, q)

    monkeypatch.setattr(Int8Copy, "bounds", counted)
    for doc in embedded_corpus[:: len(embedded_corpus) // 6][:6]:
        v = doc.vector
        assert v is not None
        with monkeypatch.context() as m:
            m.setattr(vectors, "PRESCAN_MIN_ROWS", 1 << 62)
            scan = index.vector_range(v, SearchFilters(), -1.0, 40)
        products.clear()
        best, count, members = index.vector_range_head(v, SearchFilters(), -1.0, 40, 0, True)
        assert (best, count, members) == (scan, 40, None)
        assert len(products) == 1


def test_copies_of_one_vector_rank_in_row_order(
    calls: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """Copies of one paper's vector score the same (or a last bit apart, gathered):
    equal scores rank in row order, and the two paths differ at most by copies trading
    places."""
    twin = embedded_corpus[40]
    copies = [replace(twin, arxiv_id=f"2599.{n:05d}") for n in range(8)]
    docs = [*embedded_corpus, *copies]
    index = _index(tmp_path / "v", docs)
    order = [d.arxiv_id for d in docs]
    same = {twin.arxiv_id, *(c.arxiv_id for c in copies)}
    assert twin.vector is not None
    for k in (3, 5, 9, 20):
        calls.clear()
        search = lambda k=k: index.vector_search(twin.vector, SearchFilters(), k)  # noqa: E731
        got, scan = _with_and_without(monkeypatch, search)
        assert calls
        np.testing.assert_allclose(got.scores, scan.scores, rtol=0, atol=1e-6)
        assert all(a == b or {a, b} <= same for a, b in zip(got.ids, scan.ids, strict=True))
        for ranked in (got, scan):
            tied = [
                i for i, s in zip(ranked.ids, ranked.scores, strict=True) if s == ranked.scores[0]
            ]
            assert tied == sorted(tied, key=order.index)
    ranged = index.vector_range(twin.vector, SearchFilters(), 0.99, 4)
    assert len(ranged) == 4 and set(ranged.ids) <= same


def test_a_deeper_page_keeps_the_order_of_copies(
    calls: list[tuple[int, int]], tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    """A deeper page asks for a longer head (``k``), so other candidates are gathered
    with a row: each row still scores the same bits, so copies of one vector keep their
    order from page to page (BLAS's product of a gathered block computes its last rows
    with another kernel, and copies swapped between k = 100 and k = 130). Ten copies of
    the corpus: the candidates stay under the share of rows that is gathered."""
    docs = [
        replace(d, arxiv_id=f"{d.arxiv_id}v{n}")
        for n in range(10)
        for d in embedded_corpus
        if d.vector is not None
    ]
    index = _index(tmp_path / "v", docs)
    for doc in embedded_corpus[:: len(embedded_corpus) // 15][:15]:
        v = doc.vector
        assert v is not None
        for f in FILTERS[:2]:
            calls.clear()
            short, _, _ = index.vector_range_head(v, f, -1.0, 4001, 100)
            deep, _, _ = index.vector_range_head(v, f, -1.0, 4001, 130)
            assert short.ids == deep.ids[:100]
            assert short.scores == deep.scores[:100]
            near, far = index.vector_search(v, f, 100), index.vector_search(v, f, 130)
            assert near.ids == far.ids[:100] and near.scores == far.scores[:100]
            assert calls, "the pre-scan answered"


def test_searches_do_not_wait_for_the_copy(
    calls: list[tuple[int, int]],
    held_builds: HeldBuilds,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """The copy is built on a background thread after a commit; searches meanwhile scan
    in fp32 (the same answers), then take the pre-scan once it is ready."""
    release = held_builds.release
    index = _committed(tmp_path / "v", embedded_corpus)
    query = embedded_corpus[9].vector
    assert query is not None
    first = index.vector_search(query, SearchFilters(), 10)  # starts the build, no wait
    assert first.ids[0] == embedded_corpus[9].arxiv_id and not calls
    release.set()
    index.warm()
    again = index.vector_search(query, SearchFilters(), 10)
    assert calls and again.ids == first.ids  # scores: the two paths' last bit may differ
    np.testing.assert_allclose(again.scores, first.scores, rtol=0, atol=1e-6)


def test_a_replaced_generation_builds_no_copy(
    calls: list[tuple[int, int]],
    held_builds: HeldBuilds,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """Commits while searches run: a generation replaced before its build's turn is
    skipped (one build a generation would otherwise queue behind the other)."""
    release, started, built = held_builds
    index = _committed(tmp_path / "v", embedded_corpus)
    query = embedded_corpus[9].vector
    assert query is not None
    n = len(embedded_corpus)
    for gone in range(3):  # generations of n, n - 1 and n - 2 rows, each searched
        if gone:
            index.delete([embedded_corpus[-gone].arxiv_id])
            index.commit()
        index.vector_search(query, SearchFilters(), 10)
        if not gone:
            # the first build under way before the next commit (its thread may start late
            # on a busy machine: it would then find its generation replaced, and skip it)
            assert started.wait(timeout=30)
    release.set()
    index.warm()
    assert built == [n, n - 2]  # the first was under way; the second was replaced
    assert index.vector_search(query, SearchFilters(), 10).ids[0] == embedded_corpus[9].arxiv_id
    assert calls


@pytest.mark.parametrize("product", ["onnx"], indirect=True)
def test_the_copy_uses_the_configured_threads(product: str, tmp_path: Path) -> None:
    """``Settings.embedding_threads`` (a web worker's share of the cores) reaches the
    pre-scan's ONNX Runtime session, as it reaches the embedding model's (the C product
    runs on the calling thread alone)."""
    settings = Settings(home=tmp_path / "home", embedding_threads=1)
    index = open_index(settings)
    assert isinstance(index, EmbeddedIndex)
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((50, 16)).astype(np.float32)
    docs = [
        IndexDoc(f"2599.{i:05d}", "t", "a", [], [], None, None, False, vector=v)
        for i, v in enumerate(matrix)
    ]
    index.upsert(docs)
    index.commit()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(vectors, "PRESCAN_MIN_ROWS", 0)
        index.warm()
    copy = index.vectors._snap.int8()
    assert copy is not None
    assert isinstance(copy.product, prescan._OnnxProduct)
    assert copy.product.session.get_session_options().intra_op_num_threads == 1


def test_a_forked_child_searches_with_a_copy_of_its_own(
    calls: list[tuple[int, int]], tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    """A child forked after the parent built its copy builds its own and leaves the
    parent's alone (dropping it would join ONNX Runtime threads the child lacks: a
    hang)."""
    index = _index(tmp_path / "v", embedded_corpus)
    query = embedded_corpus[9].vector
    assert query is not None
    expected = index.vector_search(query, SearchFilters(), 10)
    assert calls

    def child() -> None:
        index.warm()
        found = index.vector_search(query, SearchFilters(), 10)
        os._exit(0 if found == expected and calls else 3)

    assert forked_exit_code(child) == 0


def _subsets_built(index: NumpyVectorIndex) -> list[int]:
    """Waits for the builds of the selections' own copies: the rows of each, sorted."""
    built: list[int] = []
    for job in list(index._snap._subsets.values()):
        copy = job.build.result(timeout=60)
        assert copy is not None
        built.append(copy.scale.shape[0])
    return sorted(built)


def test_a_subset_bounds_its_rows_as_the_whole_copy_does(corpus_vectors: np.ndarray) -> None:
    """A copy of some rows holds their codes, scales and errors: each row's bounds are
    the whole copy's to the last bit, one query or many at once."""
    matrix = corpus_vectors.astype(np.float32)
    whole = Int8Copy.build(matrix)
    assert whole is not None
    rng = np.random.default_rng(11)
    rows = np.sort(rng.choice(matrix.shape[0], 90, replace=False))
    part = whole.subset(rows, threads=1)
    queries = [matrix[3], matrix[rows[5]], *rng.standard_normal((6, matrix.shape[1]))]
    queries = [(q / np.linalg.norm(q)).astype(np.float32) for q in queries]
    for q in queries:
        approx, slack = whole.bounds(q)
        mine = part.bounds(q)
        assert mine[0].tobytes() == approx[rows].tobytes()
        assert mine[1].tobytes() == slack[rows].tobytes()
    many = list(part.bounds_many(queries))
    for q, (approx, slack) in zip(queries, many, strict=True):
        assert approx.tobytes() == part.bounds(q)[0].tobytes()
        assert slack.tobytes() == part.bounds(q)[1].tobytes()


def test_a_category_is_bounded_by_a_copy_of_its_rows(
    calls: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """A category of 16-26 % of the rows: the first search starts a copy of its rows
    alone (and is bounded by the whole copy meanwhile); once built, every kind of
    search is bounded by it alone (its bounds are as long as the category) and answers
    as the full scan. The category written otherwise (``cs.CL``) is another selection
    of the same rows: it shares the copy. A search of the category less some ids (a
    paper's similar papers) has rows of its own: the whole copy bounds it, and no copy
    is made. Each category's copy is held back until its first search has been
    answered: a copy of 49-79 rows can be done before that search looks for it."""
    index = _index(tmp_path / "v", embedded_corpus)
    ids = [d.arxiv_id for d in embedded_corpus]
    sizes = {
        c: sum(c in {x.lower() for x in d.categories} for d in embedded_corpus) for c in CATEGORIES
    }
    release = threading.Event()
    subset = Int8Copy.subset

    def held(copy: Int8Copy, rows: np.ndarray, threads: int | None = None) -> Int8Copy:
        release.wait(timeout=30)
        return subset(copy, rows, threads)

    monkeypatch.setattr(Int8Copy, "subset", held)
    for category in CATEGORIES[:2]:
        f = SearchFilters(category=category)
        query = embedded_corpus[0].vector
        assert query is not None
        calls.clear()
        release.clear()
        index.vector_search(query, f, 10)
        assert {n for _, n in calls} == {len(embedded_corpus)}  # the build is under way
        release.set()
        assert sizes[category] in _subsets_built(index)
        for doc in embedded_corpus[::25]:
            v = doc.vector
            assert v is not None
            searches: list[Callable[[], Any]] = [
                lambda v=v, f=f: index.vector_search(v, f, 10),
                lambda v=v, f=f: index.vector_range(v, f, 0.3, 25),
                lambda v=v, f=f: index.vector_range_head(v, f, 0.2, 4001, 10).ranked,
                lambda v=v, f=f: index.vector_search_many([v, -v], f, 10)[0],
                lambda v=v, f=f: index.vector_search_many([v, -v], f, 10)[1],
            ]
            for search in searches:
                calls.clear()
                _as_full_scan(monkeypatch, search)
                assert calls and {n for _, n in calls} == {sizes[category]}
            head = index.vector_range_head(v, f, 0.1, 4001, 5, members=True)
            with monkeypatch.context() as m:
                m.setattr(vectors, "PRESCAN_MIN_ROWS", 1 << 62)
                scan = index.vector_range(v, f, 0.1, 4001)
            assert head.size == len(scan.ids)
            assert head.members is not None and sorted(head.members) == sorted(scan.ids)
    built = _subsets_built(index)
    calls.clear()
    index.vector_search(embedded_corpus[2].vector, SearchFilters(category="cs.CL"), 10)
    assert {n for _, n in calls} == {sizes["cs.cl"]} and _subsets_built(index) == built
    kept = dict(index._snap._subsets)
    calls.clear()
    index.vector_search(embedded_corpus[1].vector, SearchFilters(category="cs.cl"), 10, ids[:3])
    assert calls and {n for _, n in calls} == {len(embedded_corpus)}
    assert index._snap._subsets == kept


def test_the_first_selections_keep_their_copies(
    calls: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    embedded_corpus: list[IndexDoc],
) -> None:
    """The first two selections asked for keep their copies for the generation's life,
    also when their rows are selected anew (more filters asked than are kept); a third
    is bounded by the whole copy; a replaced generation makes none, the next makes its
    own."""
    monkeypatch.setattr(vectors, "_KEPT_SELECTIONS", 2)
    index = _index(tmp_path / "v", embedded_corpus)
    query = embedded_corpus[4].vector
    assert query is not None
    snap = index._snap
    sizes = [snap.selection(SearchFilters(category=c)).rows.shape[0] for c in CATEGORIES]
    for category in CATEGORIES:
        index.vector_search(query, SearchFilters(category=category), 10)
        _subsets_built(index)
    assert _subsets_built(index) == sorted(sizes[:2])
    for _ in range(2):  # every category in turn, each selected anew: no copy made again
        for category, size in zip(CATEGORIES, sizes, strict=True):
            calls.clear()
            index.vector_search(query, SearchFilters(category=category), 10)
            own = category in CATEGORIES[:2]
            assert {n for _, n in calls} == {size if own else len(embedded_corpus)}
    assert _subsets_built(index) == sorted(sizes[:2])
    index.delete([embedded_corpus[-1].arxiv_id])
    index.commit()
    assert snap.retired and index._snap is not snap
    snap._subsets.clear()
    assert snap.int8_of(snap.selection(SearchFilters(category=CATEGORIES[2])).rows) is None
    assert not snap._subsets
    f = SearchFilters(category=CATEGORIES[2])
    index.warm()  # the new generation's whole copy first
    index.vector_search(query, f, 10)
    assert _subsets_built(index) == [index._snap.selection(f).rows.shape[0]]


def test_a_forked_child_makes_its_own_copies_of_selections(
    calls: list[tuple[int, int]], tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    """A child forked after its parent made copies of two categories' rows makes its
    own and leaves the parent's alone (dropping them would join threads the child
    lacks: a hang)."""
    index = _index(tmp_path / "v", embedded_corpus)
    query = embedded_corpus[9].vector
    assert query is not None
    expected = {}
    for category in CATEGORIES:
        f = SearchFilters(category=category)
        index.vector_search(query, f, 10)
        _subsets_built(index)
        expected[category] = index.vector_search(query, f, 10)

    def child() -> None:
        index.warm()  # the whole copy of its own first
        for category in [*CATEGORIES, CATEGORIES[0]]:
            f = SearchFilters(category=category)
            index.vector_search(query, f, 10)
            _subsets_built(index)
            if index.vector_search(query, f, 10) != expected[category]:
                os._exit(3)
        os._exit(0 if {j.pid for j in index._snap._subsets.values()} == {os.getpid()} else 4)

    assert forked_exit_code(child) == 0


def test_a_date_range_takes_no_copy(
    calls: list[tuple[int, int]], tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    """Readers ask date ranges of their own: a range keeping 15-50 % of the rows is
    bounded by the whole copy and takes none of the copies the categories use."""
    index = _index(tmp_path / "v", embedded_corpus)
    query = embedded_corpus[7].vector
    assert query is not None
    days = sorted(d.published for d in embedded_corpus if d.published is not None)
    recent = SearchFilters(date_from=days[int(len(days) * 0.7)])
    share = index._snap.selection(recent).rows.shape[0] / len(embedded_corpus)
    assert 0.15 < share <= 0.5
    for _ in range(2):
        calls.clear()
        index.vector_search(query, recent, 10)
        assert {n for _, n in calls} == {len(embedded_corpus)}
        assert not index._snap._subsets
    for category in CATEGORIES[:2]:
        index.vector_search(query, SearchFilters(category=category), 10)
    assert len(_subsets_built(index)) == 2
