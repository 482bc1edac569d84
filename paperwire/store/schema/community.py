"""Community tables: accounts, sessions, votes, submissions, collections, audit log.

Changes here need an Alembic revision (``0002_community`` created them). Timestamps are
naive UTC like the rest of the store. ``votes`` and ``papers.local_upvotes`` are kept
consistent by ``store.votes.VoteStore`` in one transaction per vote.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema.base import Base


class User(Base):
    """An account. ``email`` is stored lower-cased; ``display_name`` is public;
    ``name_key`` is its TR39 skeleton (``text.confusables``): no two accounts share one.
    ``handle`` (``text.handles``: lower-case, URL- and mention-safe) names the account in
    ``/users/{handle}`` and ``@handle``; ``handle_key`` is its skeleton, also unique."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(40), unique=True)
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    handle_key: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class UserSession(Base):
    """A server-side login session; the cookie holds a token, the table its SHA-256."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Vote(Base):
    """One user's upvote of one paper (at most one: the unique constraint)."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("user_id", "paper_id", name="uq_votes_user_paper"),
        Index("ix_votes_paper_id", "paper_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Submission(Base):
    """A paper a user submitted; ``created_paper``: the submission added it to the site."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_user_id", "user_id"),
        Index("ix_submissions_paper_id", "paper_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    created_paper: Mapped[bool] = mapped_column(Boolean, default=False)
    featured_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Collection(Base):
    """A named list of papers; private ones are visible to their owner only."""

    __tablename__ = "collections"
    __table_args__ = (Index("ix_collections_owner_id", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CollectionItem(Base):
    __tablename__ = "collection_items"
    __table_args__ = (
        UniqueConstraint("collection_id", "paper_id", name="uq_collection_items_paper"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """One moderation or account action: who did what to which target, and when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
