"""The data version (``0006_speed``): one row counting the commits that changed data.

Every committed write that changes what a page shows (papers, votes, submissions,
collections, the index journal, …) raises ``version`` in the same transaction
(``store.versions``), so every process of a deployment agrees on "has anything changed
since I rendered this?" with one small read: the anonymous page cache and the ``ETag``
of the web layer key on it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema.base import Base


class DataVersion(Base):
    __tablename__ = "data_version"

    # one row, id 1, written by the first commit that changes data
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)


class DataChange(Base):
    """What one version changed (``0008_data_changes``), so a page cache can keep the
    pages a change does not touch.

    ``tags`` lists what the commit's writer declared it changed (``store.versions.
    declare_changes``: ``paper:<arxiv id>``, ``day:<featured day>``), space-separated;
    NULL when it declared nothing, i.e. anything may have changed. Only the latest
    ``CHANGES_KEPT`` versions are kept: a reader further behind starts afresh.

    ``written`` (``0009_change_tables``), for a commit that declared nothing: the tables
    it wrote (outside ``UNTRACKED``), space-separated; ``<table>:counts`` for a table
    of which it only moved counter columns (a comment's ``papers.local_comments``). A
    reader that cares about some tables only (the kept search rankings: ``store.papers.
    SEARCH_READS``) keeps what a signup or a follow does not touch. NULL on a declared
    change, and on rows of older stores and processes: unknown, i.e. any table.
    """

    __tablename__ = "data_changes"

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tags: Mapped[str | None] = mapped_column(Text, nullable=True)
    written: Mapped[str | None] = mapped_column(Text, nullable=True)
