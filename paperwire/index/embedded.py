"""The default index backend: tantivy (BM25) + an exact numpy vector matrix, both as
files under one directory, no server to run.

Layout: ``<index_dir>/keyword-2`` (tantivy) and ``<index_dir>/vectors`` (numpy). Both are
derived from the store and can be rebuilt at any time (``paperwire index --rebuild``).
Several processes may search the same directory; only one may write the keyword index
at a time (tantivy's writer lock, taken on the first write, released by ``commit``).

The keyword directory's name carries its schema version: paperwire 0.x before issue 11
wrote ``keyword`` without fingerprints; that directory is left alone (an older process
may still use it; ``paperwire index --rebuild`` removes it) and the new one is filled
from the store by the index journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from paperwire.index.base import (
    IndexDoc,
    IndexInventory,
    KeywordQuery,
    MatchCount,
    RangeHead,
    Ranked,
    TermStat,
    Vector,
)
from paperwire.index.keyword import TantivyKeywordIndex
from paperwire.index.vectors import NumpyVectorIndex
from paperwire.models.search import SearchFilters

__all__ = ["KEYWORD_DIR", "LEGACY_KEYWORD_DIRS", "VECTORS_DIR", "EmbeddedIndex"]

KEYWORD_DIR = "keyword-2"
LEGACY_KEYWORD_DIRS = ("keyword",)
VECTORS_DIR = "vectors"


class EmbeddedIndex:
    """``SearchIndex`` over ``index_dir``; ``dim`` (optional) guards the vector size;
    ``threads``: the vectors' int8 pre-scan's (None: every usable core)."""

    name = "embedded"
    # In-process and CPU-bound: a search's reads do not run side by side, but for a
    # hybrid search's brief BM25 search, beside the query embedding and on beside the
    # vector search where it is not done by then (``SearchService._relevance``).
    parallel_reads = False
    members_by_id = True  # tantivy seeks each id (``TantivyKeywordIndex._members``)
    prefix_rankings = True  # exact top k from tantivy and the vectors, ties by address/row

    def __init__(
        self, index_dir: Path, *, dim: int | None = None, threads: int | None = None
    ) -> None:
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.keyword = TantivyKeywordIndex(self.index_dir / KEYWORD_DIR)
        self.vectors = NumpyVectorIndex(self.index_dir / VECTORS_DIR, dim, threads)

    def __repr__(self) -> str:
        return f"EmbeddedIndex({str(self.index_dir)!r})"

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        self.keyword.upsert(docs)
        self.vectors.upsert(docs)

    def delete(self, arxiv_ids: Sequence[str]) -> None:
        self.keyword.delete(arxiv_ids)
        self.vectors.delete(arxiv_ids)

    def commit(self) -> None:
        self.vectors.commit()
        self.keyword.commit()

    def rollback(self) -> None:
        self.keyword.rollback()
        self.vectors.rollback()

    def keyword_search(self, query: KeywordQuery, filters: SearchFilters, k: int) -> Ranked:
        return self.keyword.keyword_search(query, filters, k)

    def keyword_search_with_members(
        self, query: KeywordQuery, filters: SearchFilters, k: int, min_coverage: float
    ) -> tuple[Ranked, frozenset[str]]:
        return self.keyword.search_with_members(query, filters, k, min_coverage)

    def vector_search(
        self, vector: Vector, filters: SearchFilters, k: int, exclude: Sequence[str] = ()
    ) -> Ranked:
        return self.vectors.vector_search(vector, filters, k, exclude)

    def vector_search_many(
        self, vectors: Sequence[Vector], filters: SearchFilters, k: int
    ) -> list[Ranked]:
        return self.vectors.vector_search_many(vectors, filters, k)

    def vector_of(self, arxiv_id: str) -> Vector | None:
        return self.vectors.vector_of(arxiv_id)

    def vectors_of(self, arxiv_ids: Sequence[str]) -> dict[str, Vector]:
        found = {i: self.vectors.vector_of(i) for i in dict.fromkeys(arxiv_ids)}
        return {i: v for i, v in found.items() if v is not None}

    def cosines_of(self, vector: Vector, arxiv_ids: Sequence[str]) -> dict[str, float]:
        return self.vectors.cosines_of(vector, arxiv_ids)

    def keyword_match_ids(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        also: Sequence[str] = (),
        up_to: int | None = None,
    ) -> list[str]:
        return self.keyword.match_ids(query, filters, min_coverage, also, up_to)

    def keyword_match_count(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        among: Sequence[str] = (),
        overlap: Sequence[str] = (),
        exact_up_to: int | None = None,
    ) -> MatchCount:
        return self.keyword.match_count(query, filters, min_coverage, among, overlap, exact_up_to)

    def keyword_match_members(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        ids: Sequence[str],
    ) -> frozenset[str]:
        return self.keyword.match_members(query, filters, min_coverage, ids)

    def keyword_postings(self, query: KeywordQuery) -> int:
        return self.keyword.postings(query)

    def keyword_best_matches(
        self, query: KeywordQuery, filters: SearchFilters, min_coverage: float, k: int
    ) -> tuple[Ranked, MatchCount] | None:
        return self.keyword.best_matches(query, filters, min_coverage, k)

    def vector_range(
        self, vector: Vector, filters: SearchFilters, min_score: float, limit: int
    ) -> Ranked:
        return self.vectors.vector_range(vector, filters, min_score, limit)

    def vector_range_head(
        self,
        vector: Vector,
        filters: SearchFilters,
        min_score: float,
        limit: int,
        head: int,
        members: bool = False,
    ) -> RangeHead:
        return self.vectors.vector_range_head(vector, filters, min_score, limit, head, members)

    def term_statistics(self, text: str) -> list[TermStat]:
        return self.keyword.term_statistics(text)

    def keyword_count(self) -> int:
        return self.keyword.count()

    def vector_count(self) -> int:
        return self.vectors.count()

    def vector_dim(self) -> int | None:
        return self.vectors.dim

    def warm(self) -> None:
        self.vectors.warm()

    def data_files(self) -> list[Path]:
        """The keyword folder in use (not a legacy one left for ``--rebuild``) and the
        committed vectors matrix (its ids and codes are read into memory)."""
        return [self.keyword.path, *self.vectors.data_files()]

    def inventory(self) -> IndexInventory:
        return IndexInventory(
            keyword=self.keyword.fingerprints(), vectors=self.vectors.fingerprints()
        )

    def refresh(self) -> None:
        self.keyword.refresh()
        self.vectors.refresh()

    def follow_content(self, generation: int, settled: bool) -> None:
        """Nothing to renew: every cached answer is per snapshot (``refresh`` renews it)."""

    def clear(self) -> None:
        """Drop every document and every pending change; durable immediately."""
        self.keyword.clear()
        self.vectors.clear()

    def close(self) -> None:
        """Discard uncommitted changes and release the keyword writer lock."""
        self.keyword.close()
        self.vectors.close()
