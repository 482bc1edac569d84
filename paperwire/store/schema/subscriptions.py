"""Subscription tables: email subscriptions, the digest outbox, the sent log.

Saved searches are alerts now (``store.schema.alerts``; ``0006_alerts`` moved them).

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


class DigestOutbox(Base):
    """One message, rendered when it was queued: ``kind`` ``digest`` (one per subscription
    and period), ``account`` (a password-reset link: no subscription) or ``webhook`` (one
    per alert and period: ``alert_id``, the JSON body in ``body_text``, retried at
    ``next_attempt_at``)."""

    __tablename__ = "digest_outbox"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period_key", name="uq_digest_outbox_period"),
        Index("uq_digest_outbox_alert_period", "alert_id", "period_key", unique=True),
        Index("ix_digest_outbox_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16), default="digest", server_default="digest")
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
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", name="fk_digest_outbox_alert_id", ondelete="CASCADE")
    )
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DigestSentPaper(Base):
    """A paper that went (or is queued to go) to a subscription: never repeated
    (``saved_search_id``: the alert it came with, an ``alerts.id``)."""

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
