"""The corpus read as rows for a dataset export, in bounded memory.

Keyset pagination by primary key (``id > last``, one short transaction per batch) rather
than one long cursor: it streams the same way on SQLite and PostgreSQL, holds no
snapshot or lock for the length of a million-paper export, and a batch's memory is all
there is. The export's papers are fixed up front by ``upto`` (the largest id when it
started), so papers ingested meanwhile do not make the counts in the card wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select

from paperwire.models.search import SearchFilters
from paperwire.store.convert import as_utc, link
from paperwire.store.db import Database
from paperwire.store.papers import PaperStore
from paperwire.store.schema.papers import Embedding, Featured, Paper

Row = dict[str, Any]

_COLUMNS = (
    Paper.id,
    Paper.arxiv_id,
    Paper.title,
    Paper.abstract,
    Paper.authors,
    Paper.organization,
    Paper.organization_id,
    Paper.categories,
    Paper.comment,
    Paper.published_at,
    Paper.upvotes.label("upvotes"),
    Paper.num_comments,
    Paper.github_repo,
    Paper.github_stars,
    Paper.project_page,
    Paper.keywords,
    Paper.ai_summary,
    Paper.thumbnail,
)


def _row(r: Any, days: list[dt.date]) -> Row:
    aid = r.arxiv_id
    return {
        "arxiv_id": aid,
        "title": r.title,
        "abstract": r.abstract or "",
        "authors": list(r.authors or []),
        "organization": r.organization,
        "organization_id": r.organization_id,
        "categories": list(r.categories or []),
        "comment": r.comment,
        "published_at": as_utc(r.published_at),
        "featured_on": days[-1] if days else None,
        "featured_days": days,
        "upvotes": int(r.upvotes or 0),
        "num_comments": int(r.num_comments or 0),
        "github_repo": link(r.github_repo),
        "github_stars": r.github_stars,
        "project_page": link(r.project_page),
        "keywords": list(r.keywords or []),
        "ai_summary": r.ai_summary,
        "thumbnail": link(r.thumbnail),
        "arxiv_url": f"https://arxiv.org/abs/{aid}",
        "pdf_url": f"https://arxiv.org/pdf/{aid}",
    }


class CorpusReader:
    """Visible papers matching ``filters`` with ids up to ``upto``, in id order."""

    def __init__(self, db: Database, filters: SearchFilters | None = None) -> None:
        self.db = db
        self.filters = filters or SearchFilters()
        with db.session() as s:
            self.upto: int = s.scalar(select(func.max(Paper.id))) or 0

    def _conditions(self) -> list[Any]:
        # One definition of the search filters in SQL: the store's own.
        return [
            Paper.hidden.is_(False),
            Paper.id <= self.upto,
            *PaperStore.filter_conditions(self.filters),
        ]

    def count(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count(Paper.id)).where(*self._conditions())) or 0

    def batches(self, batch_size: int = 5000) -> Iterator[list[Row]]:
        """Rows in batches of at most ``batch_size``; each batch one short transaction."""
        last = 0
        while True:
            with self.db.session() as s:
                rows = s.execute(
                    select(*_COLUMNS)
                    .where(Paper.id > last, *self._conditions())
                    .order_by(Paper.id)
                    .limit(batch_size)
                ).all()
                if not rows:
                    return
                last = rows[-1].id
                days: dict[int, list[dt.date]] = {}
                for pk, day in s.execute(
                    select(Featured.paper_id, Featured.day)
                    .where(Featured.paper_id.in_([r.id for r in rows]))
                    .distinct()
                    .order_by(Featured.paper_id, Featured.day)
                ):
                    days.setdefault(pk, []).append(day)
            yield [_row(r, days.get(r.id, [])) for r in rows]

    def embeddings(self, model: str, arxiv_ids: Sequence[str]) -> list[Row]:
        """``{"arxiv_id", "embedding"}`` rows of ``model`` for these papers, when current
        (computed for the paper's present text); the others are left out."""
        if not arxiv_ids:
            return []
        with self.db.session() as s:
            found = s.execute(
                select(Paper.arxiv_id, Embedding.vector)
                .join(Embedding, Embedding.paper_id == Paper.id)
                .where(
                    Paper.arxiv_id.in_(list(arxiv_ids)),
                    Embedding.model == model,
                    Embedding.text_hash == Paper.text_hash,
                )
                .order_by(Paper.id)
            ).all()
        return [
            {"arxiv_id": aid, "embedding": np.frombuffer(blob, dtype=np.float32).tolist()}
            for aid, blob in found
        ]

    def embedding_dim(self, model: str) -> int | None:
        with self.db.session() as s:
            return s.scalar(select(Embedding.dim).where(Embedding.model == model).limit(1))
