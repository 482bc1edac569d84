"""Paper tables: papers, their sources, featured days, embeddings, meta.

Changes here need an Alembic revision in ``store/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paperwire.store.schema.base import COUNTER, Base


class Paper(Base):
    """One paper, merged from every source that mentioned it."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    primary_category: Mapped[str | None] = mapped_column(String(32), index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    organization: Mapped[str | None] = mapped_column(String(200))
    organization_id: Mapped[str | None] = mapped_column(String(200), index=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    source_upvotes: Mapped[int] = mapped_column(Integer, default=0)
    local_upvotes: Mapped[int] = mapped_column(Integer, default=0, info=COUNTER)
    num_comments: Mapped[int] = mapped_column(Integer, default=0)  # the source's count
    # Shown comments written here (``0006_discussions``); pages show the sum of the two.
    local_comments: Mapped[int] = mapped_column(Integer, default=0, info=COUNTER)
    github_repo: Mapped[str | None] = mapped_column(String(500))
    github_stars: Mapped[int | None] = mapped_column(Integer)
    project_page: Mapped[str | None] = mapped_column(String(1000))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    ai_summary: Mapped[str | None] = mapped_column(Text)
    thumbnail: Mapped[str | None] = mapped_column(String(1000))
    meta_source: Mapped[str] = mapped_column(String(32))
    text_hash: Mapped[str] = mapped_column(String(40))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)

    # Search's "most upvoted" and "newest" orders walk these covering indexes (migration
    # 0010_sort_walks, which says ``published_at DESC NULLS LAST`` on PostgreSQL).
    __table_args__ = (
        Index(
            "ix_papers_upvotes_sort",
            text("(source_upvotes + local_upvotes) DESC"),
            text("published_at DESC"),
            text("arxiv_id DESC"),
            "hidden",
        ),
        Index("ix_papers_newest_sort", text("published_at DESC"), text("arxiv_id DESC"), "hidden"),
    )

    features: Mapped[list[Featured]] = relationship(
        back_populates="paper", cascade="all, delete-orphan", lazy="selectin"
    )
    sources: Mapped[list[PaperSource]] = relationship(
        back_populates="paper", cascade="all, delete-orphan", lazy="selectin"
    )

    @hybrid_property
    def upvotes(self) -> int:
        """Source votes plus local votes; also an SQL expression (``Paper.upvotes``)."""
        return self.source_upvotes + self.local_upvotes


class Featured(Base):
    """A day on which a paper was featured in a daily feed (by a source or a user)."""

    __tablename__ = "featured"
    __table_args__ = (
        UniqueConstraint("paper_id", "day", "source", name="uq_featured_paper_day_source"),
        Index("ix_featured_day", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32))
    submitted_by: Mapped[str | None] = mapped_column(String(200))

    paper: Mapped[Paper] = relationship(back_populates="features")


class PaperSource(Base):
    """Which importers have seen a paper, and when (provenance for merged records)."""

    __tablename__ = "paper_sources"
    __table_args__ = (UniqueConstraint("paper_id", "source", name="uq_paper_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime)

    paper: Mapped[Paper] = relationship(back_populates="sources")


class Embedding(Base):
    """A paper's document embedding for one model; stale when ``text_hash`` differs."""

    __tablename__ = "embeddings"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(300), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(40))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class Meta(Base):
    """Small key/value state (e.g. the last day a live sync reached)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IndexChange(Base):
    """A change to a paper's index documents, not yet applied to the search index.

    Written in the same transaction as the change itself (paper added, updated, hidden,
    shown, embedded), so the index can always catch up with the store: the applier
    (``paperwire.services.indexer``) reads pending rows, makes the index match the store
    for their papers, commits the index, then deletes exactly the rows it read. Rows
    committed meanwhile, in any ``seq`` order, stay for the next pass (PostgreSQL's
    sequences may commit out of order, so a "last applied seq" mark could skip them).
    """

    __tablename__ = "index_journal"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    arxiv_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
