"""``RecStore``: what a reader's recommendations are built from, and their settings.

The signals are rows other stores own (``votes``, ``collection_items``) plus this area's
``not_interested``; ``rec_settings`` holds pause, reset and the cold-start topics. A reset
does not delete anyone's votes or collections: signals older than ``reset_at`` are simply
not read, and the "not interested" marks are cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperwire.store.convert import as_utc
from paperwire.store.db import Database
from paperwire.store.schema.community import Collection, CollectionItem, Vote
from paperwire.store.schema.papers import Embedding, Paper
from paperwire.store.schema.recommend import MapBuild, NotInterested, RecSettings
from paperwire.store.users import utcnow
from paperwire.store.votes import PaperNotFound


@dataclass(frozen=True)
class Liked:
    """A paper a reader liked, and how (``why``: "upvoted" or "saved in <collection>")."""

    arxiv_id: str
    title: str
    authors: list[str]
    why: str
    at: dt.datetime


@dataclass(frozen=True)
class CandidateFacts:
    """A candidate paper's facts that its score reads (``search.recommend.score``)."""

    published: dt.date | None
    upvotes: int
    authors: list[str]


# Visible papers' facts by arXiv id; built once (a statement with an expanding parameter).
_FACTS_OF = select(Paper.arxiv_id, Paper.published_at, Paper.upvotes, Paper.authors).where(
    Paper.arxiv_id.in_(bindparam("ids", expanding=True)), Paper.hidden.is_(False)
)


@dataclass(frozen=True)
class Settings:
    paused: bool = False
    reset_at: dt.datetime | None = None
    topics: tuple[str, ...] = ()
    digest_collections: bool = False


@dataclass(frozen=True)
class MapRecord:
    built_at: dt.datetime
    model: str
    points: int
    method: str
    fingerprint: str
    path: str
    seconds: float


def _paper_pk(s: Session, arxiv_id: str) -> int:
    pk = s.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False)))
    if pk is None:
        raise PaperNotFound(arxiv_id)
    return pk


class RecStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- signals --------------------------------------------------------------------------

    def liked(
        self, user_id: int, since: dt.datetime | None = None, limit: int = 200
    ) -> list[Liked]:
        """The reader's upvotes and collection papers (newest first, one row per paper:
        the most recent way it was liked), at most ``limit``."""
        with self.db.session() as s:
            votes = select(
                Paper.arxiv_id, Paper.title, Paper.authors, Vote.created_at, Paper.id
            ).join(Vote, Vote.paper_id == Paper.id)
            votes = votes.where(Vote.user_id == user_id, Paper.hidden.is_(False))
            saved = (
                select(
                    Paper.arxiv_id,
                    Paper.title,
                    Paper.authors,
                    CollectionItem.added_at,
                    Collection.name,
                )
                .join(CollectionItem, CollectionItem.paper_id == Paper.id)
                .join(Collection, Collection.id == CollectionItem.collection_id)
                .where(Collection.owner_id == user_id, Paper.hidden.is_(False))
            )
            if since is not None:
                votes = votes.where(Vote.created_at > since)
                saved = saved.where(CollectionItem.added_at > since)
            rows = [(r[0], r[1], r[2], r[3], "upvoted") for r in s.execute(votes)]
            rows += [(r[0], r[1], r[2], r[3], f"saved in {r[4]}") for r in s.execute(saved)]
        rows.sort(key=lambda r: (r[3], r[0]), reverse=True)
        out: dict[str, Liked] = {}
        for aid, title, authors, at, why in rows:
            out.setdefault(aid, Liked(aid, title, list(authors or []), why, at))
        return list(out.values())[:limit]

    def collection_papers(self, collection_id: int) -> list[Liked]:
        """The visible papers of one collection (the caller checked who may see it)."""
        with self.db.session() as s:
            c = s.get(Collection, collection_id)
            name = c.name if c else ""
            rows = s.execute(
                select(Paper.arxiv_id, Paper.title, Paper.authors, CollectionItem.added_at)
                .join(CollectionItem, CollectionItem.paper_id == Paper.id)
                .where(CollectionItem.collection_id == collection_id, Paper.hidden.is_(False))
                .order_by(CollectionItem.added_at.desc(), CollectionItem.id.desc())
            ).all()
        return [Liked(r[0], r[1], list(r[2] or []), f"saved in {name}", r[3]) for r in rows]

    def candidate_facts(self, arxiv_ids: Sequence[str]) -> dict[str, CandidateFacts]:
        """What scoring a candidate needs (its day, upvotes and authors), for the visible
        papers among ``arxiv_ids``: a reader's pool is ~1,000 papers, of which ~20 are
        shown, so whole cards are built for the picks only (``services.recommend``)."""
        if not arxiv_ids:
            return {}
        with self.db.reading() as s:
            rows = s.execute(_FACTS_OF, {"ids": list(arxiv_ids)}).all()
        out: dict[str, CandidateFacts] = {}
        for aid, published, upvotes, authors in rows:
            when = as_utc(published)
            out[aid] = CandidateFacts(
                when.date() if when else None, int(upvotes or 0), list(authors or [])
            )
        return out

    def seen(self, user_id: int) -> set[str]:
        """Papers never to recommend to this reader: upvoted, in any of their
        collections, or marked not interested."""
        with self.db.session() as s:
            voted = select(Paper.arxiv_id).join(Vote, Vote.paper_id == Paper.id)
            saved = (
                select(Paper.arxiv_id)
                .join(CollectionItem, CollectionItem.paper_id == Paper.id)
                .join(Collection, Collection.id == CollectionItem.collection_id)
            )
            out = set(s.scalars(voted.where(Vote.user_id == user_id)))
            out |= set(s.scalars(saved.where(Collection.owner_id == user_id)))
        return out | set(self.not_interested(user_id))

    def not_interested(self, user_id: int) -> list[str]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Paper.arxiv_id)
                    .join(NotInterested, NotInterested.paper_id == Paper.id)
                    .where(NotInterested.user_id == user_id)
                    .order_by(NotInterested.created_at.desc(), NotInterested.id.desc())
                )
            )

    def mark_not_interested(self, user_id: int, arxiv_id: str) -> bool:
        """Mark; False when it was marked already. ``PaperNotFound`` for unknown ids."""
        try:
            with self.db.session() as s:
                pk = _paper_pk(s, arxiv_id)
                s.add(NotInterested(user_id=user_id, paper_id=pk, created_at=utcnow()))
                s.flush()
        except IntegrityError:
            return False
        return True

    def unmark_not_interested(self, user_id: int, arxiv_id: str) -> bool:
        with self.db.session() as s:
            pk = _paper_pk(s, arxiv_id)
            gone = s.execute(
                delete(NotInterested).where(
                    NotInterested.user_id == user_id, NotInterested.paper_id == pk
                )
            )
            return bool(getattr(gone, "rowcount", 0))

    # -- settings -------------------------------------------------------------------------

    def settings(self, user_id: int) -> Settings:
        with self.db.session() as s:
            row = s.get(RecSettings, user_id)
            if row is None:
                return Settings()
            return Settings(row.paused, row.reset_at, tuple(row.topics), row.digest_collections)

    def update_settings(
        self,
        user_id: int,
        *,
        paused: bool | None = None,
        topics: Sequence[str] | None = None,
        digest_collections: bool | None = None,
        reset: bool = False,
    ) -> Settings:
        """Change what is given; ``reset`` ignores every signal so far and clears the
        "not interested" marks."""
        now = utcnow()
        with self.db.session() as s:
            row = s.get(RecSettings, user_id)
            if row is None:
                row = RecSettings(
                    user_id=user_id, paused=False, topics=[], digest_collections=False
                )
                s.add(row)
            if paused is not None:
                row.paused = paused
            if topics is not None:
                row.topics = list(dict.fromkeys(topics))
            if digest_collections is not None:
                row.digest_collections = digest_collections
            if reset:
                row.reset_at = now
                s.execute(delete(NotInterested).where(NotInterested.user_id == user_id))
            row.updated_at = now
        return self.settings(user_id)

    def digest_readers(self) -> list[int]:
        """Readers who asked for their collections' picks in the digest."""
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(RecSettings.user_id).where(RecSettings.digest_collections.is_(True))
                )
            )

    # -- map builds ---------------------------------------------------------------------

    def map_rows(
        self, model: str
    ) -> tuple[list[str], list[str], list[dt.datetime | None], list[str], list[bytes]]:
        """Every visible paper with a current vector of ``model``: ids, titles, publication
        times, primary categories and the raw float32 vectors (what the map lays out)."""
        with self.db.session() as s:
            rows = s.execute(
                select(
                    Paper.arxiv_id,
                    Paper.title,
                    Paper.published_at,
                    Paper.primary_category,
                    Embedding.vector,
                )
                .join(Embedding, Embedding.paper_id == Paper.id)
                .where(
                    Paper.hidden.is_(False),
                    Embedding.model == model,
                    Embedding.text_hash == Paper.text_hash,
                )
                .order_by(Paper.id)
            ).all()
        return (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] or "" for r in rows],
            [r[4] for r in rows],
        )

    def map_ids(self, model: str) -> list[str]:
        """The ids ``map_rows`` would return, without reading any vector."""
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Paper.arxiv_id)
                    .join(Embedding, Embedding.paper_id == Paper.id)
                    .where(
                        Paper.hidden.is_(False),
                        Embedding.model == model,
                        Embedding.text_hash == Paper.text_hash,
                    )
                )
            )

    # -- map build records --------------------------------------------------------------

    def record_map(self, record: MapRecord) -> None:
        with self.db.session() as s:
            s.add(
                MapBuild(
                    built_at=record.built_at,
                    model=record.model,
                    points=record.points,
                    method=record.method,
                    fingerprint=record.fingerprint,
                    path=record.path,
                    seconds=record.seconds,
                )
            )

    def latest_map(self) -> MapRecord | None:
        with self.db.session() as s:
            row = s.scalar(select(MapBuild).order_by(MapBuild.id.desc()).limit(1))
            if row is None:
                return None
            return MapRecord(
                row.built_at,
                row.model,
                row.points,
                row.method,
                row.fingerprint,
                row.path,
                row.seconds,
            )
