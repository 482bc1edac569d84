"""``RateLimitStore``: rate-limit counters in the database every worker already shares.

A sliding-window *counter*: hits are counted per key in fixed windows (an atomic
``INSERT … ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits``, on SQLite and
PostgreSQL alike), and a hit is allowed while ``previous window × (share of it still
inside the sliding window) + this window`` stays within the limit — so a burst at a
window boundary cannot double the limit. A refused hit is taken back in the same
transaction: hammering does not extend the wait. Rows expire one window after their
own (each row its own ``expires_at``), and ``prune`` deletes only expired rows.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from paperwire.store.db import Database
from paperwire.store.schema.ratelimits import RateLimitWindow


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class RateLimitStore:
    """Counts hits per key; ``prune_every`` calls (per process) delete expired rows."""

    def __init__(self, db: Database, prune_every: int = 500) -> None:
        self.db = db
        self.prune_every = prune_every
        self._calls = 0

    def hit(self, key: str, limit: int, window: int, now: float | None = None) -> float | None:
        """Count a hit of ``key``: None when allowed, else the seconds until one is
        (the refused hit is not counted)."""
        t = time.time() if now is None else now
        start = int(t // window) * window
        digest = key_hash(key)
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(RateLimitWindow)
            .values(key_hash=digest, window_start=start, hits=1, expires_at=start + 2 * window)
            .on_conflict_do_update(
                index_elements=["key_hash", "window_start"],
                set_={"hits": RateLimitWindow.hits + 1},
            )
            .returning(RateLimitWindow.hits)
        )
        with self.db.session() as s:
            current = int(s.execute(stmt).scalar_one())
            previous = s.scalar(
                select(RateLimitWindow.hits).where(
                    RateLimitWindow.key_hash == digest,
                    RateLimitWindow.window_start == start - window,
                )
            )
            wait = _wait(previous or 0, current, limit, window, t - start)
            if wait is not None:
                s.execute(
                    update(RateLimitWindow)
                    .where(
                        RateLimitWindow.key_hash == digest,
                        RateLimitWindow.window_start == start,
                    )
                    .values(hits=RateLimitWindow.hits - 1)
                )
        self._calls += 1
        if self._calls % self.prune_every == 0:
            self.prune(t)
        return wait

    def prune(self, now: float | None = None) -> int:
        """Delete the rows whose own window (and the one after it) has passed."""
        t = time.time() if now is None else now
        with self.db.session() as s:
            done = cast(
                CursorResult[Any],
                s.execute(delete(RateLimitWindow).where(RateLimitWindow.expires_at <= t)),
            )
            return int(done.rowcount or 0)

    def reset(self) -> None:
        with self.db.session() as s:
            s.execute(delete(RateLimitWindow))


def _wait(previous: int, current: int, limit: int, window: int, elapsed: float) -> float | None:
    """None when the estimate with this hit (``current`` counts it) is within ``limit``;
    else the seconds until one more hit would be allowed."""
    if previous * (1 - elapsed / window) + current <= limit:
        return None
    kept = current - 1  # this window's hits once the refused one is taken back
    if kept < limit and previous > 0:
        # later in this window, once enough of the previous one has slid out
        at = window * (1 - (limit - kept - 1) / previous)
        return max(at - elapsed, 0.0)
    # in the next window, once enough of this one has slid out (kept >= limit >= 1)
    at = window * (1 - (limit - 1) / kept)
    return window - elapsed + max(at, 0.0)
