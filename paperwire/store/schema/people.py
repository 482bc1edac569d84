"""People tables: profiles, follows, authorship claims, cached thumbnails.

Changes here need an Alembic revision (``0006_people`` created them). Timestamps are
naive UTC like the rest of the store. Files (avatars, thumbnails) live in media storage
(``services.media``); these tables hold only their keys.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema.base import Base
from paperwire.store.schema.papers import Paper

# Organisation follows (and pages) match the slug or the name in any case: these indexes
# let ``/following`` find a followed organisation's papers without scanning every paper.
Index("ix_papers_org_id_lower", func.lower(Paper.organization_id))
Index("ix_papers_org_name_lower", func.lower(Paper.organization))


class Profile(Base):
    """What a user tells about themselves; one row per user, created on first edit.

    ``avatar_key`` names the uploaded avatar in media storage (None: the identicon);
    ``avatar_version`` changes with each upload so its URL can be cached for long."""

    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    bio: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    show_upvotes: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_follows: Mapped[bool] = mapped_column(Boolean, default=False)
    avatar_key: Mapped[str | None] = mapped_column(String(200))
    avatar_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Follow(Base):
    """A user follows an author, organisation, category or user.

    ``target`` is normalised (``services.follows.normalise``) so one thing is followed
    once however it was written; ``label`` is how it was shown when followed."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "target", name="uq_follows_user_kind_target"),
        Index("ix_follows_kind_target", "kind", "target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuthorClaim(Base):
    """A user says they are ``author`` (as written) on a paper; an admin decides.

    ``status``: ``pending``, ``confirmed`` or ``rejected``; ``author_key`` is the
    normalised name, so the author page finds confirmed claims without scanning."""

    __tablename__ = "author_claims"
    __table_args__ = (
        UniqueConstraint("user_id", "paper_id", "author_key", name="uq_author_claims_one"),
        Index("ix_author_claims_author_key", "author_key", "status"),
        Index("ix_author_claims_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(300))
    author_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Thumbnail(Base):
    """A paper's thumbnail as cached from its source URL.

    ``media_key`` names the re-encoded image in media storage; None with ``error`` set
    when the last try failed (``tries`` counts them, so a dead URL is not fetched
    forever)."""

    __tablename__ = "thumbnails"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    source_url: Mapped[str] = mapped_column(String(1000))
    media_key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(300))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime)
