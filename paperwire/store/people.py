"""``PeopleStore``: every visible paper of one organisation or one author, by upvotes.

Organisations match their slug (``organization_id``) or display name, case-insensitive.
Authors are stored as a JSON list per paper; the query narrows with a ``LIKE`` on the
JSON text (portable across SQLite and PostgreSQL) and the exact, case-insensitive name
match happens in Python.
"""

from __future__ import annotations

import json

from sqlalchemy import ColumnElement, String, cast, func, or_, select

from paperwire.models.papers import PaperCard
from paperwire.store.convert import card_of
from paperwire.store.db import Database
from paperwire.store.schema.papers import Paper

_ORDER = (
    Paper.upvotes.desc(),
    Paper.published_at.desc(),
    Paper.arxiv_id,
)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _org_match(org: str) -> ColumnElement[bool]:
    """Papers of an organisation named by its slug or display name, any case."""
    key = org.strip().lower()
    return or_(func.lower(Paper.organization_id) == key, func.lower(Paper.organization) == key)


class PeopleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def org_name(self, org: str) -> str | None:
        """The display name of an organisation (slug or name, any case) with a visible
        paper; None when it has none (the slug when no paper names it otherwise)."""
        cond = _org_match(org)
        with self.db.session() as s:
            row = s.execute(
                select(Paper.organization).where(cond, Paper.hidden.is_(False)).limit(1)
            ).first()
            return None if row is None else (row[0] or org)

    def by_org(
        self, org: str, limit: int, offset: int = 0
    ) -> tuple[str | None, int, list[PaperCard]]:
        """``(display name, total, page of cards)``; the name is None when nothing matches."""
        cond = _org_match(org)
        with self.db.session() as s:
            where = (cond, Paper.hidden.is_(False))
            total = s.scalar(select(func.count(Paper.id)).where(*where)) or 0
            if not total:
                return None, 0, []
            name = s.scalar(
                select(Paper.organization)
                .where(*where, Paper.organization.is_not(None))
                .order_by(Paper.published_at.desc())
                .limit(1)
            )
            rows = s.scalars(
                select(Paper).where(*where).order_by(*_ORDER).limit(limit).offset(offset)
            )
            return name or org, total, [card_of(p) for p in rows]

    def by_author(
        self, name: str, limit: int, offset: int = 0
    ) -> tuple[str | None, int, list[PaperCard]]:
        """``(name as written on the papers, total, page of cards)``."""
        wanted = " ".join(name.split()).casefold()
        if not wanted:
            return None, 0, []
        pattern = "%" + _like_escape(json.dumps(" ".join(name.split())).lower()) + "%"
        with self.db.session() as s:
            rows = s.scalars(
                select(Paper)
                .where(
                    Paper.hidden.is_(False),
                    func.lower(cast(Paper.authors, String)).like(pattern, escape="\\"),
                )
                .order_by(*_ORDER)
            ).all()
            matched = []
            shown: str | None = None
            for p in rows:
                hit = next((a for a in p.authors if " ".join(a.split()).casefold() == wanted), None)
                if hit is not None:
                    shown = shown or hit
                    matched.append(p)
            return shown, len(matched), [card_of(p) for p in matched[offset : offset + limit]]
