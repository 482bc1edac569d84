"""The rows a filter selects, kept by the exact vector index's snapshot for the filters a
crowd asks again and again (``_Snapshot.selection``): a kept selection must answer as a
fresh one, never be changed by a search that excludes rows, follow every commit, and stay
bounded."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from paperwire.index import vectors
from paperwire.index.base import IndexDoc, Vector
from paperwire.index.vectors import NumpyVectorIndex
from paperwire.models.search import SearchFilters

from .conftest import passes_filters


def _opened(path: Path, docs: list[IndexDoc], query_of: int) -> tuple[NumpyVectorIndex, Vector]:
    """An index of ``docs`` and the vector of the ``query_of``-th, as a query."""
    index = NumpyVectorIndex(path)
    index.upsert([replace(d) for d in docs])
    index.commit()
    query = docs[query_of].vector
    assert query is not None
    return index, query


def _filters(docs: list[IndexDoc]) -> list[SearchFilters]:
    dates = sorted(d.published for d in docs if d.published is not None)
    mid = dates[len(dates) // 2]
    category = docs[0].categories[0]
    org = next(d.organization for d in docs if d.organization)
    return [
        SearchFilters(category=category),
        SearchFilters(category=category.upper()),
        SearchFilters(date_from=mid),
        SearchFilters(date_from=dates[0], date_to=mid),
        SearchFilters(organization=org),
        SearchFilters(has_code=True),
        SearchFilters(category=category, date_from=mid, has_code=False),
        SearchFilters(category="no-such-category"),
    ]


def _all_by_score(index: NumpyVectorIndex, v: np.ndarray, f: SearchFilters) -> list[str]:
    return index.vector_range(v, f, -1.0, 10_000).ids


def test_a_kept_selection_answers_as_the_filter_asks_and_excluding_rows_never_changes_it(
    tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    index, query = _opened(tmp_path / "v", embedded_corpus, 7)
    for f in _filters(embedded_corpus):
        want = {d.arxiv_id for d in embedded_corpus if passes_filters(d, f)}
        first = _all_by_score(index, query, f)
        assert set(first) == want, f
        kept = index._snap.selection(f)
        if not want:
            assert not first
            continue
        assert kept is not None
        assert not kept.mask.flags.writeable and not kept.rows.flags.writeable
        assert int(kept.mask.sum()) == len(want) == kept.rows.size
        # a search that leaves rows out works on its own copy of the mask
        dropped = first[:2]
        top = index.vector_search(query, f, len(want), exclude=dropped)
        assert set(top.ids) == want - set(dropped)
        assert _all_by_score(index, query, f) == first  # the kept one again: same answer
        assert index._snap.selection(f) is kept


def test_a_commit_starts_from_fresh_selections(
    tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    index, query = _opened(tmp_path / "v", embedded_corpus, 0)
    moved = embedded_corpus[3]
    f = SearchFilters(category="paperwire.moved")
    assert _all_by_score(index, query, f) == []
    index.upsert([replace(moved, categories=["paperwire.moved"])])
    index.commit()
    assert _all_by_score(index, query, f) == [moved.arxiv_id]
    gone = SearchFilters(date_from=moved.published, date_to=moved.published)
    assert moved.arxiv_id in _all_by_score(index, query, gone)
    index.delete([moved.arxiv_id])
    index.commit()
    assert moved.arxiv_id not in _all_by_score(index, query, gone)
    assert _all_by_score(index, query, f) == []


def test_selections_are_kept_for_the_last_few_filters_only(
    tmp_path: Path, embedded_corpus: list[IndexDoc], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "_KEPT_SELECTIONS", 3)
    index, query = _opened(tmp_path / "v", embedded_corpus, 1)
    days = sorted({d.published for d in embedded_corpus if d.published is not None})[:6]
    asked = [SearchFilters(date_from=day, date_to=day + dt.timedelta(days=30)) for day in days]
    answers = [_all_by_score(index, query, f) for f in asked]
    snap = index._snap
    assert len(snap._selections) == 3
    assert snap.selection(asked[-1]) is snap.selection(asked[-1])  # the last ones kept
    # the first ones went, and answer as before when asked again
    assert [_all_by_score(index, query, f) for f in asked] == answers
    assert len(snap._selections) == 3


def test_a_category_written_otherwise_is_the_same_selection(
    tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    """Categories and organisations are matched normalised, so ``cs.CL`` and `` cs.cl ``
    select the same rows: one selection, kept once."""
    index, _ = _opened(tmp_path / "v", embedded_corpus, 0)
    snap = index._snap
    kept = snap.selection(SearchFilters(category="cs.cl"))
    assert kept is not None and kept.rows.size
    assert snap.selection(SearchFilters(category=" cs.CL ")) is kept
    org = snap.selection(SearchFilters(organization="Google", has_code=False))
    assert org is snap.selection(SearchFilters(organization="google ", has_code=False))
    assert snap.selection(SearchFilters(organization="google", has_code=True)) is not org
    assert len(snap._selections) == 3
