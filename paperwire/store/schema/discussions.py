"""Discussion tables: comments on papers, their upvotes and reports, and notifications.

Changes here need an Alembic revision (``0006_discussions`` created them). Timestamps are
naive UTC like the rest of the store. ``comments.upvotes`` equals the number of
``comment_votes`` rows, and ``papers.local_comments`` the number of shown comments of the
paper: ``store.comments.CommentStore`` changes each with its rows in one transaction.

A comment is *deleted* by its author (``deleted_at``) or *hidden* by a moderator
(``hidden_at``; also every comment of a user whose ``users.comments_hidden_at`` is set).
Either way its text is no longer shown: a comment with replies stays as a tombstone so
the thread keeps its shape; one without replies disappears.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema.base import Base


class Comment(Base):
    """One comment on a paper; ``parent_id`` is the comment it answers (None: top level)."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_paper_created", "paper_id", "created_at"),
        Index("ix_comments_user_created", "user_id", "created_at"),
        Index("ix_comments_parent_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    edited_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    hidden_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CommentVote(Base):
    """One user's upvote of one comment (at most one: the unique constraint)."""

    __tablename__ = "comment_votes"
    __table_args__ = (
        UniqueConstraint("user_id", "comment_id", name="uq_comment_votes_user_comment"),
        Index("ix_comment_votes_comment_id", "comment_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CommentReport(Base):
    """A user's report of a comment, open until a moderator resolves it."""

    __tablename__ = "comment_reports"
    __table_args__ = (
        UniqueConstraint("comment_id", "reporter_id", name="uq_comment_reports_reporter"),
        Index("ix_comment_reports_open", "resolved_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(String(32))


class Notification(Base):
    """Something a user is told about on ``/notifications`` (and maybe by email).

    ``kind`` names a registered kind (``services.notifications``); ``text`` and ``url``
    are written when it is created, so showing the page needs no other table."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class NotificationSetting(Base):
    """A user's choice for one kind (no row: the kind's defaults)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    web: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
