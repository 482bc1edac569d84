"""``ClaimStore``: users claiming to be an author of a paper, and admins deciding.

A claim names the author as written on the paper; ``author_key`` (``follow_key``) lets the
author page find the confirmed claimants through an index. Deciding is the admin's
(``services.people`` logs it in the audit log).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperwire.models.papers import PaperCard
from paperwire.models.people import ClaimPublic, ClaimStatus, FollowKind, follow_key
from paperwire.store.convert import card_of
from paperwire.store.db import Database
from paperwire.store.profiles import PROFILE_NAME
from paperwire.store.schema.community import User
from paperwire.store.schema.papers import Paper
from paperwire.store.schema.people import AuthorClaim
from paperwire.store.users import utcnow


class ClaimRefused(ValueError):  # noqa: N818 - reads best at call sites
    """A claim that cannot be made; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value else None


def _public(s: Session, c: AuthorClaim) -> ClaimPublic:
    paper = s.get(Paper, c.paper_id)
    name = s.scalar(select(PROFILE_NAME).where(User.id == c.user_id)) or "?"
    return ClaimPublic(
        id=c.id,
        arxiv_id=paper.arxiv_id if paper else "?",
        title=paper.title if paper else "?",
        author=c.author,
        user=name,
        status=ClaimStatus(c.status),
        created_at=c.created_at.replace(tzinfo=dt.UTC),
        decided_at=_utc(c.decided_at),
    )


class ClaimStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, user_id: int, arxiv_id: str, author: str) -> ClaimPublic:
        """A pending claim (or the user's existing one for that author of that paper)."""
        key = follow_key(FollowKind.author, author)
        with self.db.session() as s:
            paper = s.scalar(
                select(Paper).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False))
            )
            if paper is None:
                raise ClaimRefused(404, f"No paper {arxiv_id} on this site.")
            written = next(
                (a for a in paper.authors if follow_key(FollowKind.author, a) == key), None
            )
            if written is None:
                raise ClaimRefused(
                    422, f"{author!r} is not among the authors of {arxiv_id} as written there."
                )
            existing = s.scalar(
                select(AuthorClaim).where(
                    AuthorClaim.user_id == user_id,
                    AuthorClaim.paper_id == paper.id,
                    AuthorClaim.author_key == key,
                )
            )
            if existing is not None:
                return _public(s, existing)
            taken = s.scalar(
                select(AuthorClaim.id).where(
                    AuthorClaim.paper_id == paper.id,
                    AuthorClaim.author_key == key,
                    AuthorClaim.status == ClaimStatus.confirmed.value,
                )
            )
            if taken is not None:
                raise ClaimRefused(409, f"{written} on {arxiv_id} is already claimed.")
            claim = AuthorClaim(
                user_id=user_id,
                paper_id=paper.id,
                author=written,
                author_key=key,
                status=ClaimStatus.pending.value,
                created_at=utcnow(),
            )
            s.add(claim)
            try:
                s.flush()
            except IntegrityError:
                raise ClaimRefused(409, "This claim was just made; reload the page.") from None
            return _public(s, claim)

    def decide(self, claim_id: int, admin_id: int, confirm: bool) -> ClaimPublic | None:
        with self.db.session() as s:
            claim = s.get(AuthorClaim, claim_id)
            if claim is None:
                return None
            claim.status = (ClaimStatus.confirmed if confirm else ClaimStatus.rejected).value
            claim.decided_at = utcnow()
            claim.decided_by = admin_id
            s.flush()
            return _public(s, claim)

    def listing(
        self, status: ClaimStatus | None = None, user_id: int | None = None, limit: int = 100
    ) -> list[ClaimPublic]:
        with self.db.session() as s:
            q = select(AuthorClaim).order_by(AuthorClaim.created_at, AuthorClaim.id).limit(limit)
            if status is not None:
                q = q.where(AuthorClaim.status == status.value)
            if user_id is not None:
                q = q.where(AuthorClaim.user_id == user_id)
            return [_public(s, c) for c in s.scalars(q).all()]

    def claimed_papers(self, user_id: int, limit: int) -> list[PaperCard]:
        """Visible papers the user is a confirmed author of, newest first."""
        with self.db.session() as s:
            rows = (
                s.scalars(
                    select(Paper)
                    .join(AuthorClaim, AuthorClaim.paper_id == Paper.id)
                    .where(
                        AuthorClaim.user_id == user_id,
                        AuthorClaim.status == ClaimStatus.confirmed.value,
                        Paper.hidden.is_(False),
                    )
                    .order_by(Paper.published_at.desc().nulls_last(), Paper.id.desc())
                    .limit(limit)
                )
                .unique()
                .all()
            )
            return [card_of(p) for p in rows]

    def claimants(self, author: str) -> list[str]:
        """Profile names of the users confirmed as this author (on any paper)."""
        key = follow_key(FollowKind.author, author)
        with self.db.session() as s:
            rows = s.scalars(
                select(PROFILE_NAME)
                .join(AuthorClaim, AuthorClaim.user_id == User.id)
                .where(
                    AuthorClaim.author_key == key,
                    AuthorClaim.status == ClaimStatus.confirmed.value,
                )
                .order_by(AuthorClaim.decided_at)
            ).all()
            return list(dict.fromkeys(rows))
