"""Behaviour specific to the Milvus backend, on Milvus Lite (same client code as a cluster)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.index.base import IndexDoc, KeywordQuery
from paperwire.index.factory import open_index
from paperwire.index.milvus import MilvusIndex, milvus_literal
from paperwire.index.vectors import VectorDimensionError
from paperwire.models.search import SearchFilters

NO_FILTER = SearchFilters()


def _doc(i: int, vector: np.ndarray | None = None, **kw: object) -> IndexDoc:
    fields: dict[str, object] = dict(
        arxiv_id=f"2599.{i:05d}",
        title=f"Paper number {i} about wombats",
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


@pytest.fixture
def index(tmp_path: Path) -> MilvusIndex:
    ix = MilvusIndex(str(tmp_path / "milvus.db"), dim=8)
    yield ix
    ix.close()


def test_literals_are_escaped() -> None:
    assert milvus_literal('a"b\\c') == '"a\\"b\\\\c"'
    assert milvus_literal("x\ny\x00") == '"xy"'


def test_filter_values_cannot_inject(index: MilvusIndex) -> None:
    index.upsert([_doc(1, organization='nvidia" or "1', categories=['cs" or has_code == false'])])
    index.upsert([_doc(2, organization="back\\slash", has_code=True)])
    index.commit()
    q = KeywordQuery(terms=["wombats"])
    assert len(index.keyword_search(q, NO_FILTER, 10)) == 2
    for f in [
        SearchFilters(category='cs.LG" or has_code == false or "x'),
        SearchFilters(organization='x" or organization != "'),
        SearchFilters(organization="nvidia"),
    ]:
        assert not index.keyword_search(q, f, 10).ids, f
    # Odd values are stored as given (lower-cased) and match exactly.
    assert index.keyword_search(q, SearchFilters(organization='NVIDIA" or "1'), 10).ids == [
        "2599.00001"
    ]
    assert index.keyword_search(q, SearchFilters(organization="Back\\Slash"), 10).ids == [
        "2599.00002"
    ]
    both = SearchFilters(category='CS" OR HAS_CODE == FALSE')
    assert index.keyword_search(q, both, 10).ids == ["2599.00001"]


def test_dimension_is_checked(index: MilvusIndex) -> None:
    index.upsert([_doc(1, np.ones(8, np.float32))])
    index.commit()
    with pytest.raises(VectorDimensionError, match="dimensions"):
        index.upsert([_doc(2, np.ones(5, np.float32))])
    index.commit()  # nothing bad was queued
    assert index.vector_count() == 1
    with pytest.raises(ValueError, match="dimension"):
        index.vector_search(np.ones(5, np.float32), NO_FILTER, 3)


def test_huge_records_are_clipped_not_refused(index: MilvusIndex) -> None:
    authors = [f"Author {i} Collaboration" for i in range(5000)]  # > 64 KB joined
    long = _doc(3, abstract="wombat " * 20_000, authors=authors, categories=["x"] * 100)
    index.upsert([long])
    index.commit()
    assert index.keyword_search(KeywordQuery(authors=["Author 7"]), NO_FILTER, 5).ids == [
        long.arxiv_id
    ]


def test_factory_opens_milvus_lite_in_the_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, index="milvus")
    ix = open_index(settings)
    try:
        assert isinstance(ix, MilvusIndex) and ix.name == "milvus"
        assert Path(ix.uri) == (tmp_path / "index" / "milvus.db").resolve()
        # Keyword-only rows first: the collection takes the model's size (384) from
        # the bundled model's files, without loading it.
        ix.upsert([_doc(1)])
        ix.commit()
        assert ix.keyword_count() == 1 and ix.vector_count() == 0
        assert ix._dim == 384
        ix.clear()
        assert ix.keyword_count() == 0
        ix.upsert([_doc(2)])
        ix.commit()
        assert ix.keyword_count() == 1
    finally:
        ix.close()


def test_close_frees_the_file_for_another_process(tmp_path: Path) -> None:
    uri = str(tmp_path / "milvus.db")
    ix = MilvusIndex(uri, dim=8)
    ix.upsert([_doc(1, np.ones(8, np.float32))])
    ix.commit()
    ix.close()
    code = (
        "from paperwire.index.milvus import MilvusIndex\n"
        f"ix = MilvusIndex({uri!r})\n"
        "print(ix.keyword_count(), ix.vector_count())\n"
        "ix.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "1"]


def test_counts_are_cached_until_refresh(tmp_path: Path) -> None:
    uri = str(tmp_path / "milvus.db")
    writer = MilvusIndex(uri, dim=8)
    reader = MilvusIndex(uri, count_ttl=0)  # as a web process: searches, counts
    try:
        assert reader.keyword_count() == 0  # no collection yet
        writer.upsert([_doc(1, np.ones(8, np.float32)), _doc(2)])
        writer.commit()
        q = KeywordQuery(terms=["wombats"])
        reader.refresh()  # notices the collection was created
        assert len(reader.keyword_search(q, NO_FILTER, 5)) == 2
        assert (reader.keyword_count(), reader.vector_count()) == (2, 1)
        writer.delete(["2599.00002"])
        writer.commit()
        assert reader.keyword_search(q, NO_FILTER, 5).ids == ["2599.00001"]  # at once
        assert reader.keyword_count() == 2  # cached...
        reader.refresh()
        assert reader.keyword_count() == 1  # ...renewed (count_ttl=0)
        writer.clear()
        reader.refresh()
        assert reader.keyword_count() == 0 and not reader.keyword_search(q, NO_FILTER, 5).ids
    finally:
        writer.close()
        reader.close()


def test_vectors_of_keyword_hits_are_served_without_a_query(tmp_path: Path) -> None:
    uri = str(tmp_path / "milvus.db")
    writer = MilvusIndex(uri, dim=8)
    reader = MilvusIndex(uri)
    try:
        v1, v2 = np.arange(1, 9, dtype=np.float32), np.arange(8, 0, -1).astype(np.float32)
        writer.upsert([_doc(1, v1), _doc(2)])
        writer.commit()
        reader.refresh()
        hits = reader.keyword_search(KeywordQuery(terms=["wombats"]), NO_FILTER, 5)
        assert set(hits.ids) == {"2599.00001", "2599.00002"}
        assert set(reader._vector_cache) == set(hits.ids)
        np.testing.assert_array_equal(reader.vector_of("2599.00001"), v1)
        assert reader.vector_of("2599.00002") is None
        writer.upsert([_doc(1, v2)])
        writer.commit()
        reader.refresh()  # another process committed: cached vectors are dropped
        np.testing.assert_array_equal(reader.vector_of("2599.00001"), v2)
    finally:
        writer.close()
        reader.close()


def test_papers_without_a_vector_hold_a_unit_placeholder_never_returned(
    index: MilvusIndex,
) -> None:
    """Zero vectors break HNSW routing under cosine (docs/benchmarks.md, Backends), so a
    paper without an embedding stores a seeded unit vector, hidden by ``has_vector``."""
    rng = np.random.default_rng(5)
    real = rng.standard_normal((3, 8)).astype(np.float32)
    index.upsert([_doc(i, real[i]) for i in range(3)] + [_doc(i) for i in range(3, 40)])
    index.commit()
    rows = index._client.query(
        index.collection,
        filter="has_vector == false",
        output_fields=["arxiv_id", "vector"],
        consistency_level="Strong",
    )
    assert len(rows) == 37
    norms = [float(np.linalg.norm(np.asarray(r["vector"], dtype=np.float32))) for r in rows]
    assert min(norms) == pytest.approx(1.0, abs=1e-5) and max(norms) == pytest.approx(1.0, abs=1e-5)
    placeholder = np.asarray(rows[0]["vector"], dtype=np.float32)
    assert index.vector_of(str(rows[0]["arxiv_id"])) is None
    # Even a query equal to a placeholder finds only papers with real vectors.
    found = index.vector_search(placeholder, SearchFilters(), 10)
    assert sorted(found.ids) == sorted(_doc(i).arxiv_id for i in range(3))
