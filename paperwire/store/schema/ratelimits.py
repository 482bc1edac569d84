"""Rate-limit counters, shared by every web worker of a deployment (``0004_hardening``).

One row per key and fixed window: ``hits`` is raised by an atomic upsert, so any number
of processes count together. ``key_hash`` is the SHA-256 of the key (keys hold IPs and
email addresses; the table needs only to tell them apart). Each row carries its own
``expires_at`` (the end of the window after its own: the sliding estimate reads the
previous window), so pruning never cuts a longer window short.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema.base import Base


class RateLimitWindow(Base):
    __tablename__ = "rate_limits"
    __table_args__ = (Index("ix_rate_limits_expires_at", "expires_at"),)

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger)
