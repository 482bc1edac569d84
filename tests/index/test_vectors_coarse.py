"""The binary-code candidate pass of the exact vector index (used at ~1M rows), forced
on the small real corpus by lowering its thresholds."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from paperwire.index import vectors
from paperwire.index.base import IndexDoc, Ranked
from paperwire.index.vectors import NumpyVectorIndex, binary_codes, hamming_candidates
from paperwire.models.search import SearchFilters


@pytest.fixture
def coarse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidate pass from 100 rows on, 60 candidates (of 300) per search."""
    monkeypatch.setattr(vectors, "COARSE_MIN_ROWS", 100)
    monkeypatch.setattr(vectors, "COARSE_CANDIDATES", 60)
    monkeypatch.setattr(vectors, "COARSE_PER_RESULT", 3)


def _index(path: Path, docs: list[IndexDoc]) -> NumpyVectorIndex:
    index = NumpyVectorIndex(path)
    index.upsert([replace(d) for d in docs])
    index.commit()
    return index


def test_candidates_are_scored_exactly(
    coarse: None, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    index = _index(tmp_path / "v", embedded_corpus)
    matrix = np.stack([d.vector for d in embedded_corpus if d.vector is not None])
    ids = [d.arxiv_id for d in embedded_corpus]
    overlap = []
    for doc in embedded_corpus[:: len(embedded_corpus) // 20][:20]:
        assert doc.vector is not None
        got = index.vector_search(doc.vector, SearchFilters(), 10)
        assert got.ids[0] == doc.arxiv_id
        exact = matrix @ doc.vector
        for i, s in zip(got.ids, got.scores, strict=True):
            assert s == pytest.approx(float(exact[ids.index(i)]), abs=1e-5)
        assert got.scores == sorted(got.scores, reverse=True)
        truth = {ids[r] for r in np.argsort(-exact)[:10]}
        overlap.append(len(truth & set(got.ids)) / 10)
    assert float(np.mean(overlap)) >= 0.9


def test_filters_and_exclusions_apply_to_candidates(
    coarse: None, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    index = _index(tmp_path / "v", embedded_corpus)
    by_id = {d.arxiv_id: d for d in embedded_corpus}
    query = embedded_corpus[5]
    assert query.vector is not None
    no_code = index.vector_search(query.vector, SearchFilters(has_code=False), 30)
    assert len(no_code) == 30 and all(not by_id[i].has_code for i in no_code.ids)
    since = dt.date(2025, 3, 10)
    dated = index.vector_search(query.vector, SearchFilters(date_from=since), 30)
    assert dated.ids and all((by_id[i].published or dt.date.min) >= since for i in dated.ids)
    excluded = index.vector_search(query.vector, SearchFilters(), 10, exclude=[query.arxiv_id])
    assert query.arxiv_id not in excluded.ids and len(excluded) == 10


def test_codes_are_written_with_the_generation_and_reloaded(
    coarse: None, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    _index(tmp_path / "v", embedded_corpus).close()
    manifest = json.loads((tmp_path / "v" / "manifest.json").read_text())
    assert manifest["codes"].startswith("codes-")
    assert (tmp_path / "v" / manifest["codes"]).is_file()
    reopened = NumpyVectorIndex(tmp_path / "v")
    snap = reopened._snap
    codes, center = snap.codes()
    expected_codes, expected_center = binary_codes(np.asarray(snap.matrix))
    np.testing.assert_array_equal(codes, expected_codes)
    np.testing.assert_allclose(center, expected_center, atol=1e-6)
    assert codes.shape == (6, len(embedded_corpus)) and codes.dtype == np.uint64
    # A later, smaller generation drops the codes file with the old generation.
    reopened.delete([d.arxiv_id for d in embedded_corpus[:250]])
    reopened.commit()
    manifest = json.loads((tmp_path / "v" / "manifest.json").read_text())
    assert "codes" not in manifest
    assert not list((tmp_path / "v").glob("codes-*"))


def test_hamming_candidates_counts_masks_and_ties() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((1000, 384)).astype(np.float32)
    codes, center = binary_codes(matrix)
    q = matrix[3]
    qcode = vectors._query_code(q, center, codes.shape[0])
    got = hamming_candidates(codes, qcode, 50, None)
    assert got.shape == (50,) and 3 in got and np.all(np.diff(got) > 0)
    # The 50 nearest by Hamming distance: nothing left out is strictly closer.
    bits = np.unpackbits(codes.T.copy().view(np.uint8), axis=1)
    qbits = np.unpackbits(qcode.view(np.uint8))
    dist = (bits != qbits).sum(axis=1)
    assert dist[np.setdiff1d(np.arange(1000), got)].min() >= dist[got].max()
    mask = np.zeros(1000, dtype=np.bool_)
    mask[::7] = True
    masked = hamming_candidates(codes, qcode, 50, mask)
    assert masked.shape == (50,) and mask[masked].all()
    few = np.zeros(1000, dtype=np.bool_)
    few[[1, 2, 999]] = True
    np.testing.assert_array_equal(hamming_candidates(codes, qcode, 50, few), [1, 2, 999])


def test_a_bounded_range_takes_the_best_candidates_without_a_full_scan(
    coarse: None, tmp_path: Path, embedded_corpus: list[IndexDoc], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range with more candidates above the floor than its ``limit`` (a relevance
    search's bound) answers the best ``limit`` of its ``COARSE_RANGE_FACTOR ×
    COARSE_CANDIDATES`` candidates, scored exactly: what ``vector_search`` ranks from
    the same candidates, not a full scan's answer."""
    monkeypatch.setattr(vectors, "COARSE_CANDIDATES", 30)  # a range scores 2 × 30 = 60
    assert vectors.COARSE_RANGE_FACTOR == 2
    index = _index(tmp_path / "v", embedded_corpus)
    differs_from_scan = 0
    for doc in embedded_corpus[:: len(embedded_corpus) // 20][:20]:
        assert doc.vector is not None
        ranged = index.vector_range(doc.vector, SearchFilters(), -1.0, 10)
        wide = index.vector_search(doc.vector, SearchFilters(), 20)  # 3 × 20 = 60 candidates
        assert ranged == Ranked(wide.ids[:10], wide.scores[:10])
        scan = index.vector_search(doc.vector, SearchFilters(), 100)  # 300 candidates: all
        differs_from_scan += ranged.ids != scan.ids[:10]
    assert differs_from_scan > 0  # the candidates, not the full scan, answered


@pytest.mark.parametrize("path", ["full scan", "binary codes"])
def test_a_walks_set_is_listed_unranked_and_ranked_where_cut(
    path: str, tmp_path: Path, embedded_corpus: list[IndexDoc], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without int8 bounds (1M rows: binary codes; a small index: the full scan), a
    head of 0 with members (a newest / most upvoted walk's set) lists every row above
    the floor, as ``vector_range`` finds them, without ranking them; where the limit
    cuts the range it ranks the best ``limit``, as ``vector_range`` does."""
    if path == "binary codes":  # 2 × 100 candidates of 300: a small range is theirs
        monkeypatch.setattr(vectors, "COARSE_MIN_ROWS", 100)
        monkeypatch.setattr(vectors, "COARSE_CANDIDATES", 100)
    index = _index(tmp_path / "v", embedded_corpus)
    ranked_calls: list[int] = []
    real_ranked = NumpyVectorIndex._ranked

    def ranked(snap: object, rows: object, scores: np.ndarray, k: int) -> Ranked:
        ranked_calls.append(scores.shape[0])
        return real_ranked(snap, rows, scores, k)  # type: ignore[arg-type]

    monkeypatch.setattr(NumpyVectorIndex, "_ranked", staticmethod(ranked))
    listed = cut = 0
    for doc in embedded_corpus[:: len(embedded_corpus) // 12][:12]:
        assert doc.vector is not None
        for floor, limit in ((0.3, 4001), (0.2, 25), (0.5, 301)):
            for f in (SearchFilters(), SearchFilters(category="cs.CL")):
                whole = index.vector_range(doc.vector, f, floor, limit)
                ranked_calls.clear()
                head = index.vector_range_head(doc.vector, f, floor, limit, 0, members=True)
                assert head.size == len(whole.ids), (floor, limit, f)
                if len(whole.ids) < limit:
                    assert head.members is not None
                    assert sorted(head.members) == sorted(whole.ids), (floor, limit, f)
                    assert head.ranked == Ranked() and not ranked_calls, "ranked a set"
                    listed += 1
                else:
                    assert head.members is None and head.ranked == whole, (floor, limit, f)
                    cut += 1
    assert listed >= 12 and cut >= 6


def _nearest_by_sorting(dist: np.ndarray, count: int, mask: np.ndarray | None) -> np.ndarray:
    """The definition ``nearest_rows`` keeps: allowed rows by (distance, row), first
    ``count``, in row order."""
    rows = np.arange(dist.shape[0]) if mask is None else np.flatnonzero(mask)
    ordered = rows[np.lexsort((rows, dist[rows]))]
    return np.sort(ordered[:count])


def test_nearest_rows_equal_a_full_sort_whatever_the_sample_sees() -> None:
    """The sampled cut gives the full histogram's rows: many ties, spread distances,
    near rows only where the sample does not look, or only where it does (it guesses
    short and the room must grow), masks from
    none to one that hides every sampled row, counts around the selection's size."""
    rng = np.random.default_rng(7)
    n = 5_000
    step = vectors._CUT_SAMPLE_STEP
    unsampled = np.arange(n) % step != 0
    shapes = {
        "ties": rng.integers(0, 4, n),
        "spread": rng.binomial(384, 0.5, n),
        "near where unsampled": np.where(unsampled & (rng.random(n) < 0.2), 3, 300),
        "near where sampled": np.where(~unsampled, 3, rng.integers(100, 300, n)),
    }
    masks = {
        "none": None,
        "half": rng.random(n) < 0.5,
        "one in a hundred": rng.random(n) < 0.01,
        "no sampled row": unsampled & (rng.random(n) < 0.3),
    }
    checked = 0
    for dist_name, values in shapes.items():
        dist = values.astype(np.uint16)
        for mask_name, mask in masks.items():
            selected = n if mask is None else int(mask.sum())
            for count in (1, 37, 800, selected - 1, selected, selected + 5):
                if count < 1:
                    continue
                got = vectors.nearest_rows(dist, count, mask)
                want = _nearest_by_sorting(dist, count, mask)
                assert np.array_equal(got, want), (dist_name, mask_name, count)
                checked += 1
    assert checked == len(shapes) * len(masks) * 6


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_hamming_distances_in_chunks_and_threads_equal_counting_bits(
    monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setattr(vectors, "_HAMMING_CHUNK", 64)  # many chunks, a short last one
    rng = np.random.default_rng(threads)
    matrix = rng.standard_normal((1_000, 384)).astype(np.float32)
    codes, center = binary_codes(matrix)
    qcode = vectors._query_code(matrix[11], center, codes.shape[0])
    bits = np.unpackbits(codes.T.copy().view(np.uint8), axis=1)
    qbits = np.unpackbits(qcode.view(np.uint8))
    expected = (bits != qbits).sum(axis=1)
    got = vectors.hamming_distances(codes, qcode, threads)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, expected)
    assert got[11] == 0
    assert vectors.hamming_distances(codes[:, :0], qcode, threads).shape == (0,)


def test_a_busy_pool_never_holds_up_a_search() -> None:
    """Another search's part occupies every pool thread: this search does its own
    parts itself instead of waiting for them (a crowd of 1M searches must not queue
    behind the pool)."""
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((3 * vectors._HAMMING_CHUNK, 384)).astype(np.float32)
    codes, center = binary_codes(matrix)
    qcode = vectors._query_code(matrix[0], center, codes.shape[0])
    alone = vectors.hamming_distances(codes, qcode, 1)
    release = threading.Event()
    started = threading.Barrier(vectors._SHARED_SCANS.workers + 1, timeout=10)

    def busy() -> None:
        started.wait()
        release.wait(10)

    blockers = [
        vectors._SHARED_SCANS.pool().submit(busy) for _ in range(vectors._SHARED_SCANS.workers)
    ]
    started.wait()
    freed_late = threading.Timer(10, release.set)
    freed_late.start()
    try:
        shared = vectors.hamming_distances(codes, qcode, 4)
        waited = release.is_set()
    finally:
        release.set()
        freed_late.cancel()
        for b in blockers:
            b.result()
    assert not waited, "the search waited for the busy pool"
    np.testing.assert_array_equal(shared, alone)


def test_a_failing_span_leaves_no_span_running() -> None:
    """The first two spans fail: the caller gets the error only once no other span
    can still write into the answer it drops."""
    finished: list[int] = []

    def part(start: int, stop: int) -> None:
        if start < 2:
            raise ValueError(f"span {start}")
        time.sleep(0.05)
        finished.append(start)

    with pytest.raises(ValueError, match="span"):
        vectors._SHARED_SCANS.share(4, part, 4, 1)
    seen = list(finished)
    time.sleep(0.3)
    assert finished == seen
