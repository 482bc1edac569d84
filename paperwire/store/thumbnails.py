"""``ThumbnailStore``: which papers' thumbnails are cached, under which media key.

The files live in media storage (``services.media``); a row records the last try of a
paper's source URL: the key of the re-encoded image, or the error. A changed URL is tried
again; a failing one at most ``MAX_TRIES`` times.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from paperwire.store.db import Database
from paperwire.store.schema.papers import Paper
from paperwire.store.schema.people import Thumbnail
from paperwire.store.users import utcnow

MAX_TRIES = 3


class ThumbnailStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, limit: int, arxiv_ids: list[str] | None = None) -> list[tuple[int, str, str]]:
        """``(paper id, arXiv id, source URL)`` of papers whose thumbnail is not cached
        and still worth a try, newest first."""
        with self.db.session() as s:
            q = (
                select(Paper.id, Paper.arxiv_id, Paper.thumbnail)
                .outerjoin(Thumbnail, Thumbnail.paper_id == Paper.id)
                .where(
                    Paper.thumbnail.is_not(None),
                    Paper.thumbnail != "",
                    or_(
                        Thumbnail.paper_id.is_(None),
                        Thumbnail.source_url != Paper.thumbnail,
                        (Thumbnail.media_key.is_(None)) & (Thumbnail.tries < MAX_TRIES),
                    ),
                )
                .order_by(Paper.published_at.desc().nulls_last(), Paper.id.desc())
                .limit(limit)
            )
            if arxiv_ids is not None:
                q = q.where(Paper.arxiv_id.in_(arxiv_ids))
            return [(pid, aid, str(url)) for pid, aid, url in s.execute(q).all()]

    def record(
        self,
        paper_id: int,
        source_url: str,
        media_key: str | None,
        content_type: str | None,
        error: str | None,
    ) -> None:
        with self.db.session() as s:
            row = s.get(Thumbnail, paper_id)
            if row is None:
                row = Thumbnail(paper_id=paper_id, source_url=source_url, tries=0)
                s.add(row)
            if row.source_url != source_url:
                row.tries = 0
            row.source_url = source_url
            row.media_key = media_key
            row.content_type = content_type
            row.error = error[:300] if error else None
            row.tries = (row.tries or 0) + 1
            row.fetched_at = utcnow()

    def cached(self, arxiv_id: str) -> tuple[str, str] | None:
        """``(media key, content type)`` of a visible paper's cached thumbnail."""
        with self.db.session() as s:
            row = s.execute(
                select(Thumbnail.media_key, Thumbnail.content_type)
                .join(Paper, Paper.id == Thumbnail.paper_id)
                .where(
                    Paper.arxiv_id == arxiv_id,
                    Paper.hidden.is_(False),
                    Thumbnail.media_key.is_not(None),
                )
            ).first()
            return (str(row[0]), str(row[1])) if row else None

    def cached_ids(self, arxiv_ids: list[str]) -> set[str]:
        """Which of these papers have a cached thumbnail (one query per page of cards)."""
        if not arxiv_ids:
            return set()
        with self.db.session() as s:
            return set(
                s.scalars(
                    select(Paper.arxiv_id)
                    .join(Thumbnail, Thumbnail.paper_id == Paper.id)
                    .where(Paper.arxiv_id.in_(arxiv_ids), Thumbnail.media_key.is_not(None))
                )
            )
