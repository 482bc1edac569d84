"""Scoring a selection of rows alone (``vectors._gathered``): rows in long runs (a date
filter's) are read as slices, scattered rows copied out; both give the full scan's
cosines, in row order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from paperwire.index import vectors


def _selection(*parts: Any) -> np.ndarray:
    return np.unique(np.concatenate([np.asarray(p, dtype=np.intp) for p in parts]))


RUN = vectors._RUN_ROWS
SELECTIONS = {
    "one run": _selection(np.arange(10, 10 + 3 * RUN)),
    "three runs": _selection(*(np.arange(s, s + RUN + 5) for s in (0, 200, 400))),
    "runs and strays": _selection(np.arange(5, 5 + 4 * RUN), [300, 302, 304]),
    "runs at the average": _selection(np.arange(0, RUN - 1), np.arange(100, 100 + RUN + 1)),
    "runs short of it": _selection(np.arange(0, RUN - 1), np.arange(100, 100 + RUN)[:-2]),
    "scattered": np.arange(0, 600, 3, dtype=np.intp),
    "every row": np.arange(600, dtype=np.intp),
    # as ``cosines_of`` asks: in the ids' order, repeats kept
    "runs out of order": np.concatenate([np.arange(300, 300 + 2 * RUN), np.arange(0, 2 * RUN)]),
    "repeats": np.concatenate([np.arange(0, 2 * RUN), np.arange(0, 2 * RUN)]),
}


def test_runs_are_found_where_they_average_enough_rows() -> None:
    assert vectors._runs(SELECTIONS["one run"]) == [(10, 9 + 3 * RUN)]
    assert vectors._runs(SELECTIONS["three runs"]) == [(s, s + RUN + 4) for s in (0, 200, 400)]
    assert vectors._runs(SELECTIONS["runs at the average"]) == [(0, RUN - 2), (100, 100 + RUN)]
    assert vectors._runs(SELECTIONS["runs short of it"]) is None
    assert vectors._runs(SELECTIONS["scattered"]) is None
    assert vectors._runs(np.arange(RUN - 1, dtype=np.intp)) is None  # too few rows
    assert vectors._runs(SELECTIONS["runs out of order"]) == [
        (300, 299 + 2 * RUN),
        (0, 2 * RUN - 1),
    ]


@pytest.mark.parametrize("name", sorted(SELECTIONS))
def test_a_selection_scores_as_the_full_scan(
    name: str, corpus_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # scans shared between threads from 64 rows, in slices of 32 (1M: 16,384 and 4,096)
    monkeypatch.setattr(vectors, "_SHARED_SCAN_ROWS", 64)
    monkeypatch.setattr(vectors, "_SCAN_SLICE_ROWS", 32)
    monkeypatch.setattr(vectors, "_SHARED_GATHER_ROWS", 32)
    rows = SELECTIONS[name]
    rng = np.random.default_rng(7)
    # 600 rows: the corpus's real vectors, then perturbed copies of them
    base = np.asarray(corpus_vectors, dtype=np.float32)
    extra = base[rng.integers(0, len(base), 600 - len(base))]
    matrix = np.vstack([base, extra + rng.normal(0, 0.02, extra.shape).astype(np.float32)])
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    snap = SimpleNamespace(matrix=matrix)
    runs = vectors._runs(rows)
    for q in matrix[[0, 17, 599]]:
        scored = [vectors._gathered(snap, rows, q, threads) for threads in (1, 2)]  # type: ignore[arg-type]
        for threads in (1, 2):
            whole = vectors._scanned(snap, [(0, len(matrix) - 1)], q, threads)  # type: ignore[arg-type]
            scored.append(whole[rows])
            if runs is not None:
                scored.append(vectors._scanned(snap, runs, q, threads))  # type: ignore[arg-type]
        for got in scored:
            assert got.shape == rows.shape
            np.testing.assert_allclose(got, (matrix @ q)[rows], rtol=0, atol=1e-6)


def test_a_gathered_row_scores_the_same_bits_whatever_is_gathered_with_it(
    corpus_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search's candidates change with its ``k`` (a deeper page): a row must score the
    same bits in any gather, or copies of one vector trade places from page to page;
    also when a gather is shared between threads (from 16 rows here)."""
    monkeypatch.setattr(vectors, "_SHARED_GATHER_ROWS", 16)
    matrix = np.asarray(corpus_vectors, dtype=np.float32)
    snap = SimpleNamespace(matrix=matrix)
    rng = np.random.default_rng(3)
    q = matrix[5]
    base = vectors._gathered(snap, np.arange(len(matrix), dtype=np.intp), q)  # type: ignore[arg-type]
    for trial in range(50):
        rows = np.sort(rng.choice(len(matrix), int(rng.integers(1, len(matrix))), replace=False))
        got = vectors._gathered(snap, rows, q, 1 + trial % 3)  # type: ignore[arg-type]
        assert np.array_equal(got, base[rows])
