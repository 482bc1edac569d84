"""``FollowStore``: who follows which author, organisation, category or user, and the
papers that brings them (``/following``).

One table, ``follows`` (kind + normalised target, ``models.people.follow_key``). The feed
is one query: visible papers matching any follow, newest first, with ``LIMIT``/``OFFSET``.
Organisations match the indexed ``organization_id`` (or the display name); authors and
categories match their key (the follow's target) in the indexed ``paper_authors`` and
``paper_categories`` (author names with spaces collapsed and casefolded, as author pages
match; categories lower-cased); a followed user brings the papers they submitted or are
a confirmed author of. Every condition is an index lookup, so a follow that matches
rarely is not a walk through every paper; the page's cards are read from plain columns
(``store.papers.read_cards``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from paperwire.models.papers import PaperCard
from paperwire.models.people import FollowKind, follow_key
from paperwire.store.db import Database
from paperwire.store.papers import read_cards
from paperwire.store.schema.community import Submission
from paperwire.store.schema.papers import Paper, PaperAuthor, PaperCategory
from paperwire.store.schema.people import AuthorClaim, Follow
from paperwire.store.users import utcnow


@dataclass(frozen=True)
class FollowRow:
    kind: FollowKind
    target: str
    label: str
    created_at: dt.datetime


class FollowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def follow(self, user_id: int, kind: FollowKind, target: str, label: str) -> bool:
        """True when the follow is new (following twice changes nothing)."""
        try:
            with self.db.session() as s:
                exists = s.scalar(
                    select(Follow.id).where(
                        Follow.user_id == user_id,
                        Follow.kind == kind.value,
                        Follow.target == target,
                    )
                )
                if exists is not None:
                    return False
                s.add(
                    Follow(
                        user_id=user_id,
                        kind=kind.value,
                        target=target,
                        label=label,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:  # the same follow from a concurrent request
            return False
        return True

    def unfollow(self, user_id: int, kind: FollowKind, target: str) -> bool:
        with self.db.session() as s:
            result = s.execute(
                delete(Follow).where(
                    Follow.user_id == user_id, Follow.kind == kind.value, Follow.target == target
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def is_following(self, user_id: int, kind: FollowKind, target: str) -> bool:
        with self.db.session() as s:
            found = s.scalar(
                select(Follow.id).where(
                    Follow.user_id == user_id, Follow.kind == kind.value, Follow.target == target
                )
            )
            return found is not None

    def followers(self, kind: FollowKind, target: str) -> int:
        with self.db.session() as s:
            return (
                s.scalar(
                    select(func.count(Follow.id)).where(
                        Follow.kind == kind.value, Follow.target == target
                    )
                )
                or 0
            )

    def targets(self, user_id: int, kind: FollowKind) -> frozenset[str]:
        """The normalised targets of one kind a user follows (e.g. author keys, for
        recommendations)."""
        with self.db.session() as s:
            return frozenset(
                s.scalars(
                    select(Follow.target).where(
                        Follow.user_id == user_id, Follow.kind == kind.value
                    )
                )
            )

    def list_for(self, user_id: int) -> list[FollowRow]:
        with self.db.session() as s:
            rows = s.scalars(
                select(Follow)
                .where(Follow.user_id == user_id)
                .order_by(Follow.kind, Follow.label, Follow.id)
            ).all()
            return [FollowRow(FollowKind(f.kind), f.target, f.label, f.created_at) for f in rows]

    def papers(
        self,
        follows: list[FollowRow],
        limit: int,
        offset: int = 0,
        since: dt.datetime | None = None,
    ) -> tuple[list[PaperCard], bool]:
        """A page of visible papers matching any of ``follows``, newest first (published
        after ``since`` when given); and whether more follow."""
        conds = _conditions(follows)
        if not conds:
            return [], False
        where = [Paper.hidden.is_(False), or_(*conds)]
        if since is not None:
            where.append(Paper.published_at > since)
        with self.db.reading() as s:
            ids = list(
                s.scalars(
                    select(Paper.arxiv_id)
                    .where(*where)
                    .order_by(Paper.published_at.desc().nulls_last(), Paper.id.desc())
                    .limit(limit + 1)
                    .offset(offset)
                )
            )
        cards = read_cards(self.db, ids[:limit])[0]
        return [cards[a] for a in ids[:limit] if a in cards], len(ids) > limit


def _conditions(follows: list[FollowRow]) -> list[ColumnElement[bool]]:
    by_kind: dict[FollowKind, list[FollowRow]] = {}
    for f in follows:
        by_kind.setdefault(f.kind, []).append(f)
    conds: list[ColumnElement[bool]] = []
    orgs = [f.target for f in by_kind.get(FollowKind.org, [])]
    if orgs:
        conds.append(func.lower(Paper.organization_id).in_(orgs))
        conds.append(func.lower(Paper.organization).in_(orgs))
    # (normalised again: a takeout import stores the target it is given)
    authors = [follow_key(FollowKind.author, f.target) for f in by_kind.get(FollowKind.author, [])]
    if authors:
        conds.append(Paper.id.in_(select(PaperAuthor.paper_id).where(PaperAuthor.key.in_(authors))))
    categories = [
        follow_key(FollowKind.category, f.target) for f in by_kind.get(FollowKind.category, [])
    ]
    if categories:  # a set the newest-first walk probes (``filter_conditions`` says why)
        conds.append(
            (Paper.id + 0).in_(
                select(PaperCategory.paper_id).where(PaperCategory.key.in_(categories))
            )
        )
    users = [int(f.target) for f in by_kind.get(FollowKind.user, []) if f.target.isdigit()]
    if users:
        conds.append(Paper.id.in_(select(Submission.paper_id).where(Submission.user_id.in_(users))))
        conds.append(
            Paper.id.in_(
                select(AuthorClaim.paper_id).where(
                    AuthorClaim.user_id.in_(users), AuthorClaim.status == "confirmed"
                )
            )
        )
    return conds
