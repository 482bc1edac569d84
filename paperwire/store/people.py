"""``PeopleStore``: every visible paper of one organisation or one author, by upvotes.

Organisations match their slug (``organization_id``) or display name, case-insensitive
(indexed by ``0006_people``). Authors match their name with spaces collapsed and case
folded (``models.people.follow_key``), looked up in ``paper_authors`` (``0011``): one
index lookup, not a read of every paper's JSON list.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select

from paperwire.models.papers import PaperCard
from paperwire.models.people import FollowKind, follow_key
from paperwire.store.db import Database
from paperwire.store.papers import read_cards
from paperwire.store.schema.papers import Paper, PaperAuthor

_ORDER = (
    Paper.upvotes.desc(),
    Paper.published_at.desc(),
    Paper.arxiv_id,
)


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
            page = list(
                s.scalars(
                    select(Paper.arxiv_id)
                    .where(*where)
                    .order_by(*_ORDER)
                    .limit(limit)
                    .offset(offset)
                )
            )
        cards = read_cards(self.db, page)[0]
        return name or org, total, [cards[a] for a in page if a in cards]

    def by_author(
        self, name: str, limit: int, offset: int = 0
    ) -> tuple[str | None, int, list[PaperCard]]:
        """``(name as written on the most upvoted paper, total, page of cards)``.

        One read of the name's rows in ``paper_authors`` (its index) joined to their
        papers by id, in page order; cards for the shown page only (plain columns)."""
        wanted = follow_key(FollowKind.author, name)
        if not wanted:
            return None, 0, []
        with self.db.reading() as s:
            rows = s.execute(
                select(Paper.arxiv_id, PaperAuthor.name)
                .join(Paper, Paper.id == PaperAuthor.paper_id)
                .where(PaperAuthor.key == wanted, Paper.hidden.is_(False))
                .order_by(*_ORDER, PaperAuthor.position)
            ).all()
        if not rows:
            return None, 0, []
        ids = list(dict.fromkeys(aid for aid, _ in rows))  # a name twice on a paper: once
        page = ids[offset : offset + limit]
        cards = read_cards(self.db, page)[0]
        return rows[0][1], len(ids), [cards[a] for a in page if a in cards]
