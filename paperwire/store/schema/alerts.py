"""Alert tables: alerts (saved searches, follows, collection recommendations), what each
alert's webhook was sent, the log of webhook attempts, and personal access tokens.

Changes here need an Alembic revision (``0006_alerts`` created them and moved the old
``saved_searches`` rows into ``alerts`` with their ids, so the digest's sent log, whose
``saved_search_id`` names an alert, stays true). Webhook deliveries themselves are rows of
``digest_outbox`` (kind ``webhook``, ``alert_id`` set): the same claim/lease/mark protocol
as email, with ``next_attempt_at`` for the backoff.
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


class Alert(Base):
    """One thing a user wants to hear about, delivered by email (the digest of
    ``subscription_id``), its private feed and optionally a webhook.

    ``kind``: ``search`` (``query`` + ``filters``), ``follow`` (``target``: whom),
    ``collection`` (``target``: a collection id; its recommendations)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_subscription_id", "subscription_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="search", server_default="search")
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(120))
    query: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    feed_key: Mapped[str] = mapped_column(String(64))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    webhook_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    webhook_disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    webhook_disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AlertSentPaper(Base):
    """A paper an alert's webhook was sent (or has queued): never repeated."""

    __tablename__ = "alert_sent_papers"
    __table_args__ = (UniqueConstraint("alert_id", "arxiv_id", name="uq_alert_sent_papers"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    arxiv_id: Mapped[str] = mapped_column(String(64))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("digest_outbox.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AlertAttempt(Base):
    """One try at delivering a webhook: what the receiver answered (the delivery log)."""

    __tablename__ = "alert_attempts"
    __table_args__ = (Index("ix_alert_attempts_alert_id", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("digest_outbox.id", ondelete="CASCADE"))
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class PersonalToken(Base):
    """A personal access token (MCP clients, scripts): only its SHA-256 is stored."""

    __tablename__ = "personal_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
