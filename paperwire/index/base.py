"""The index contract every backend implements (embedded today, distributed later).

Every search returns the same ``Ranked`` shape — ``(ids, scores)``, best first — so
the fusion code in ``paperwire.search`` never depends on a backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from paperwire.models.search import SearchFilters

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Ranked:
    """Search results: arXiv ids and their scores, best first (higher is better)."""

    ids: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class IndexDoc:
    """The searchable view of one paper. ``vector`` is None until it is embedded."""

    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    organization: str | None  # organisation slug (``PaperRecord.organization_id``) or name
    published: dt.date | None
    has_code: bool
    vector: Vector | None = None


@dataclass
class KeywordQuery:
    """A parsed user query (see ``paperwire.search.query.parse_query``).

    ``terms`` are free-text words in query order, repeats kept (a backend should weight
    a term by its count, which matters for long "papers like this abstract" queries);
    ``phrases`` are quoted phrases that must match in title or abstract; ``authors``
    are author names that must match (``author:"Li Dong"``).
    """

    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.authors)


@runtime_checkable
class SearchIndex(Protocol):
    """Keyword + vector search over ``IndexDoc``s with ``SearchFilters``."""

    name: str

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        """Insert or replace documents. A doc whose ``vector`` is None keeps the vector
        already stored for its id (text updates must not drop embeddings)."""

    def delete(self, arxiv_ids: Sequence[str]) -> None: ...

    def commit(self) -> None:
        """Make all upserts/deletes durable and visible to searches."""

    def keyword_search(self, query: KeywordQuery, filters: SearchFilters, k: int) -> Ranked:
        """BM25 over title + abstract (stemmed), phrases and authors as constraints."""

    def vector_search(
        self, vector: Vector, filters: SearchFilters, k: int, exclude: Sequence[str] = ()
    ) -> Ranked:
        """Nearest neighbours by cosine similarity among documents that have vectors."""

    def vector_of(self, arxiv_id: str) -> Vector | None: ...

    def vectors_of(self, arxiv_ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of those of ``arxiv_ids`` that have one, read at once: a
        server-side index answers in one round trip instead of one per paper."""

    def keyword_count(self) -> int: ...

    def vector_count(self) -> int: ...

    def refresh(self) -> None:
        """Pick up changes committed by another process (e.g. a running ingest)."""

    def clear(self) -> None:
        """Drop every document (used by ``paperwire index --rebuild``)."""

    def close(self) -> None: ...
