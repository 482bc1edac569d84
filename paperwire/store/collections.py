"""``CollectionStore``: named lists of papers, private or public.

Visibility is decided here, once: ``view`` returns None for a private collection unless
the viewer owns it, so every page, API call and export answers 404 the same way.
Writes take the owner's id and touch only that owner's collections.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperwire.models.community import (
    CollectionCreate,
    CollectionExportRow,
    CollectionPublic,
    CollectionSummary,
    CollectionUpdate,
)
from paperwire.models.papers import PaperCard
from paperwire.store.convert import as_utc, card_of, links_for
from paperwire.store.db import Database
from paperwire.store.schema.community import Collection, CollectionItem, User
from paperwire.store.schema.papers import Paper
from paperwire.store.users import utcnow
from paperwire.store.votes import PaperNotFound


class CollectionNotFound(LookupError):  # noqa: N818 - reads best at call sites
    """No such collection, or not visible / not writable for this user."""


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC)


class CollectionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _summary(s: Session, c: Collection, owner: str | None = None) -> CollectionSummary:
        count = s.scalar(
            select(func.count(CollectionItem.id))
            .join(Paper, Paper.id == CollectionItem.paper_id)
            .where(CollectionItem.collection_id == c.id, Paper.hidden.is_(False))
        )
        if owner is None:
            owner = s.scalar(select(User.display_name).where(User.id == c.owner_id)) or "?"
        return CollectionSummary(
            id=c.id,
            name=c.name,
            description=c.description,
            public=c.is_public,
            owner_id=c.owner_id,
            owner=owner,
            paper_count=count or 0,
            created_at=_utc(c.created_at),
            updated_at=_utc(c.updated_at),
        )

    @staticmethod
    def _owned(s: Session, collection_id: int, owner_id: int) -> Collection:
        c = s.get(Collection, collection_id)
        if c is None or c.owner_id != owner_id:
            raise CollectionNotFound(collection_id)
        return c

    @staticmethod
    def _visible(s: Session, collection_id: int, viewer_id: int | None) -> Collection:
        c = s.get(Collection, collection_id)
        if c is None or (not c.is_public and c.owner_id != viewer_id):
            raise CollectionNotFound(collection_id)
        return c

    @staticmethod
    def _items(s: Session, collection_id: int) -> list[tuple[Paper, dt.datetime]]:
        rows = s.execute(
            select(Paper, CollectionItem.added_at)
            .join(CollectionItem, CollectionItem.paper_id == Paper.id)
            .where(CollectionItem.collection_id == collection_id, Paper.hidden.is_(False))
            .order_by(CollectionItem.added_at.desc(), CollectionItem.id.desc())
        ).all()
        return [(p, added) for p, added in rows]

    # -- reads ----------------------------------------------------------------------------

    def view(self, collection_id: int, viewer_id: int | None) -> CollectionPublic | None:
        """The collection with its papers (newest additions first); None when it does not
        exist or is private and ``viewer_id`` is not its owner."""
        with self.db.session() as s:
            try:
                c = self._visible(s, collection_id, viewer_id)
            except CollectionNotFound:
                return None
            papers: list[PaperCard] = [card_of(p) for p, _ in self._items(s, c.id)]
            return CollectionPublic(**self._summary(s, c).model_dump(), papers=papers)

    def export_rows(
        self, collection_id: int, viewer_id: int | None, *, any_owner: bool = False
    ) -> list[CollectionExportRow]:
        """Rows for BibTeX/JSONL; ``any_owner`` (the CLI) skips the privacy check."""
        with self.db.session() as s:
            if any_owner:
                found = s.get(Collection, collection_id)
                if found is None:
                    raise CollectionNotFound(collection_id)
                c = found
            else:
                c = self._visible(s, collection_id, viewer_id)
            return [
                CollectionExportRow(
                    arxiv_id=p.arxiv_id,
                    title=p.title,
                    authors=list(p.authors),
                    abstract=p.abstract,
                    categories=list(p.categories),
                    published_at=as_utc(p.published_at),
                    organization=p.organization,
                    upvotes=p.upvotes,
                    links=links_for(p),
                    added_at=_utc(added),
                )
                for p, added in self._items(s, c.id)
            ]

    def list_for(self, owner_id: int) -> list[CollectionSummary]:
        with self.db.session() as s:
            owner = s.scalar(select(User.display_name).where(User.id == owner_id)) or "?"
            rows = s.scalars(
                select(Collection)
                .where(Collection.owner_id == owner_id)
                .order_by(Collection.updated_at.desc(), Collection.id.desc())
            ).all()
            return [self._summary(s, c, owner) for c in rows]

    def list_all(self, public_only: bool = False) -> list[CollectionSummary]:
        with self.db.session() as s:
            q = select(Collection).order_by(Collection.id)
            if public_only:
                q = q.where(Collection.is_public.is_(True))
            return [self._summary(s, c) for c in s.scalars(q).all()]

    def containing(self, owner_id: int, arxiv_id: str) -> set[int]:
        """Ids of the owner's collections that hold the paper."""
        with self.db.session() as s:
            return set(
                s.scalars(
                    select(Collection.id)
                    .join(CollectionItem, CollectionItem.collection_id == Collection.id)
                    .join(Paper, Paper.id == CollectionItem.paper_id)
                    .where(Collection.owner_id == owner_id, Paper.arxiv_id == arxiv_id)
                )
            )

    # -- writes ---------------------------------------------------------------------------

    def create(self, owner_id: int, data: CollectionCreate) -> CollectionSummary:
        now = utcnow()
        with self.db.session() as s:
            c = Collection(
                owner_id=owner_id,
                name=data.name,
                description=data.description.strip(),
                is_public=data.public,
                created_at=now,
                updated_at=now,
            )
            s.add(c)
            s.flush()
            return self._summary(s, c)

    def update(
        self, collection_id: int, owner_id: int, data: CollectionUpdate
    ) -> CollectionSummary:
        with self.db.session() as s:
            c = self._owned(s, collection_id, owner_id)
            if data.name is not None and data.name.strip():
                c.name = " ".join(data.name.split())
            if data.description is not None:
                c.description = data.description.strip()
            if data.public is not None:
                c.is_public = data.public
            c.updated_at = utcnow()
            s.flush()
            return self._summary(s, c)

    def delete(self, collection_id: int, owner_id: int) -> None:
        with self.db.session() as s:
            c = self._owned(s, collection_id, owner_id)
            s.execute(delete(CollectionItem).where(CollectionItem.collection_id == c.id))
            s.delete(c)

    def add(self, collection_id: int, owner_id: int, arxiv_id: str) -> bool:
        """Add a paper; False when it was already there. ``PaperNotFound`` for unknown or
        hidden papers, ``CollectionNotFound`` unless the owner's."""
        try:
            with self.db.session() as s:
                c = self._owned(s, collection_id, owner_id)
                pid = s.scalar(
                    select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False))
                )
                if pid is None:
                    raise PaperNotFound(arxiv_id)
                exists = s.scalar(
                    select(CollectionItem.id).where(
                        CollectionItem.collection_id == c.id, CollectionItem.paper_id == pid
                    )
                )
                if exists is not None:
                    return False
                s.add(CollectionItem(collection_id=c.id, paper_id=pid, added_at=utcnow()))
                c.updated_at = utcnow()
                s.flush()
                return True
        except IntegrityError:  # the same paper added concurrently
            return False

    def remove(self, collection_id: int, owner_id: int, arxiv_id: str) -> bool:
        with self.db.session() as s:
            c = self._owned(s, collection_id, owner_id)
            pid = s.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id))
            if pid is None:
                return False
            result = s.execute(
                delete(CollectionItem).where(
                    CollectionItem.collection_id == c.id, CollectionItem.paper_id == pid
                )
            )
            removed = (getattr(result, "rowcount", 0) or 0) > 0
            if removed:
                c.updated_at = utcnow()
            return removed
