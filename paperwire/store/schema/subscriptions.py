"""Subscription tables: email subscriptions, saved searches, the digest outbox, the sent log.

Changes here need an Alembic revision (``0003_subscriptions`` created them). Timestamps are
naive UTC like the rest of the store. ``user_id`` refers to an account (``users.id``) but
has no foreign key: the subscriptions branch of the migrations does not depend on the
community one.

Exactly-once digests: ``digest_outbox`` holds one row per (subscription, period) — the
unique constraint makes planning idempotent — and a row is marked ``sent_at`` right after
the SMTP server accepted it. ``digest_sent_papers`` remembers which papers an address has
been sent (written in the same transaction as the outbox row), so an alert never repeats.
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


class Subscription(Base):
    """One email address's digest subscription (double opt-in: ``pending`` → ``active``)."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_status_frequency", "status", "frequency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    frequency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    trending: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SavedSearch(Base):
    """A query + filters whose new matches go into the subscription's digest."""

    __tablename__ = "saved_searches"
    __table_args__ = (Index("ix_saved_searches_subscription_id", "subscription_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(120))
    query: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class DigestOutbox(Base):
    """One digest email for one subscription and period, rendered when it was planned."""

    __tablename__ = "digest_outbox"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period_key", name="uq_digest_outbox_period"),
        Index("ix_digest_outbox_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DigestSentPaper(Base):
    """A paper that went (or is queued to go) to a subscription: never repeated."""

    __tablename__ = "digest_sent_papers"
    __table_args__ = (
        UniqueConstraint("subscription_id", "arxiv_id", name="uq_digest_sent_papers"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    arxiv_id: Mapped[str] = mapped_column(String(64))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("digest_outbox.id", ondelete="CASCADE"))
    saved_search_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
