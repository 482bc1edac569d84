"""``ProfileStore``: what users tell about themselves, and what their profile lists.

``PROFILE_NAME`` is the column a profile URL names (``/users/{name}``): the account's
handle (unique, lower-case, look-alikes refused). A display name finds the profile too
(the page then redirects to the handle), so credits stored by display name still link.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from paperwire.models.papers import PaperCard
from paperwire.store.convert import card_of
from paperwire.store.db import Database
from paperwire.store.schema.community import Submission, User, Vote
from paperwire.store.schema.papers import Paper
from paperwire.store.schema.people import Profile
from paperwire.store.users import utcnow

PROFILE_NAME: InstrumentedAttribute[str] = User.handle


@dataclass(frozen=True)
class ProfileRow:
    """A user's profile (defaults when they never edited it)."""

    user_id: int
    name: str
    display_name: str
    email: str
    is_admin: bool
    joined: dt.datetime
    bio: str = ""
    links: list[str] = field(default_factory=list)
    show_upvotes: bool = False
    digest_follows: bool = False
    avatar_key: str | None = None
    avatar_version: int = 0


class ProfileStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _row(self, user: User, profile: Profile | None) -> ProfileRow:
        extra = {}
        if profile is not None:
            extra = {
                "bio": profile.bio,
                "links": list(profile.links or []),
                "show_upvotes": profile.show_upvotes,
                "digest_follows": profile.digest_follows,
                "avatar_key": profile.avatar_key,
                "avatar_version": profile.avatar_version,
            }
        return ProfileRow(
            user_id=user.id,
            name=user.handle,
            display_name=user.display_name,
            email=user.email,
            is_admin=user.is_admin,
            joined=user.created_at,
            **extra,  # type: ignore[arg-type]
        )

    def by_name(self, name: str) -> ProfileRow | None:
        """The profile of ``/users/{name}``: the handle, else the display name (both
        ignoring case), or None."""
        key = name.strip().lower()
        with self.db.session() as s:
            user = s.scalar(select(User).where(PROFILE_NAME.in_([key])))
            if user is None:
                user = s.scalar(select(User).where(func.lower(User.display_name) == key))
            return self._row(user, s.get(Profile, user.id)) if user else None

    def by_id(self, user_id: int) -> ProfileRow | None:
        with self.db.session() as s:
            user = s.get(User, user_id)
            return self._row(user, s.get(Profile, user_id)) if user else None

    @staticmethod
    def _set(s: Session, user_id: int, **values: Any) -> None:
        """Update the user's profile row (created with defaults on first write)."""
        if s.get(Profile, user_id) is None:
            s.add(Profile(user_id=user_id, bio="", links=[], updated_at=utcnow()))
            s.flush()
        s.execute(
            update(Profile).where(Profile.user_id == user_id).values(**values, updated_at=utcnow())
        )

    def update(
        self, user_id: int, *, bio: str, links: list[str], show_upvotes: bool, digest_follows: bool
    ) -> None:
        with self.db.session() as s:
            self._set(
                s,
                user_id,
                bio=bio,
                links=links,
                show_upvotes=show_upvotes,
                digest_follows=digest_follows,
            )

    def set_avatar(self, user_id: int, key: str | None) -> int:
        """Point the profile at a stored avatar (None: back to the identicon); returns
        the new version (part of the avatar's URL, so caches see the change)."""
        with self.db.session() as s:
            self._set(s, user_id, avatar_key=key, avatar_version=Profile.avatar_version + 1)
            version = s.scalar(select(Profile.avatar_version).where(Profile.user_id == user_id))
            return int(version or 0)

    def submissions(self, user_id: int, limit: int) -> list[PaperCard]:
        """Visible papers the user submitted, newest submission first."""
        with self.db.session() as s:
            rows = s.execute(
                select(Paper, func.max(Submission.created_at).label("at"))
                .join(Submission, Submission.paper_id == Paper.id)
                .where(Submission.user_id == user_id, Paper.hidden.is_(False))
                .group_by(Paper.id)
                .order_by(func.max(Submission.created_at).desc(), Paper.id.desc())
                .limit(limit)
            ).all()
            return [card_of(p) for p, _ in rows]

    def upvoted(self, user_id: int, limit: int) -> list[PaperCard]:
        """Visible papers the user upvoted, most recent vote first."""
        with self.db.session() as s:
            rows = s.scalars(
                select(Paper)
                .join(Vote, Vote.paper_id == Paper.id)
                .where(Vote.user_id == user_id, Paper.hidden.is_(False))
                .order_by(Vote.created_at.desc(), Vote.id.desc())
                .limit(limit)
            ).all()
            return [card_of(p) for p in rows]

    def digest_follows_of(self, email: str) -> int | None:
        """The id of the account with this email when it wants what it follows in its
        digests; else None."""
        with self.db.session() as s:
            return s.scalar(
                select(User.id)
                .join(Profile, Profile.user_id == User.id)
                .where(User.email == email.strip().lower(), Profile.digest_follows.is_(True))
            )
