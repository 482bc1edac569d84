"""Recommendation tables: "not interested" marks, each reader's feed settings, and the
map of the field's build records.

Changes here need an Alembic revision (``0006_foryou`` created them). Timestamps are naive
UTC like the rest of the store.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema.base import Base


class NotInterested(Base):
    """A paper a reader asked never to be recommended again (and to steer away from)."""

    __tablename__ = "not_interested"
    __table_args__ = (
        UniqueConstraint("user_id", "paper_id", name="uq_not_interested_user_paper"),
        Index("ix_not_interested_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class RecSettings(Base):
    """One reader's feed: paused or not, signals before ``reset_at`` ignored, the topics
    (categories) picked at cold start, and whether digests carry collection picks."""

    __tablename__ = "rec_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reset_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    digest_collections: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class MapBuild(Base):
    """One computed map of the field: the layout file under the home (derived data) and
    what it was computed from, so a stale map is noticed and rebuilt."""

    __tablename__ = "map_builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    built_at: Mapped[dt.datetime] = mapped_column(DateTime)
    model: Mapped[str] = mapped_column(String(300))
    points: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
