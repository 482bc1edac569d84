"""``IndexJournal``: the queue of paper changes the search index has not applied yet.

Every write that changes what a paper's index documents hold (``PaperStore.upsert``,
``PaperStore.save_embeddings``, hiding and showing papers in ``AuditStore``) calls
:func:`record_changes` inside its own transaction, so a change and its journal row
commit together or not at all: a process killed at any point leaves either no change or
a change with its row. ``paperwire.services.indexer`` drains the queue.

Only one process at a time applies the journal (:meth:`IndexJournal.claim`): on
PostgreSQL a session advisory lock, on SQLite an ``flock`` beside the database file.
Both are released by the operating system when the holder dies, so a killed applier
never blocks the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from paperwire.store.db import Database
from paperwire.store.schema.papers import IndexChange, Paper

try:  # POSIX; elsewhere only threads of one process are kept apart.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["IndexJournal", "record_changes"]

# One advisory-lock key per database: "paperwire index journal" as a signed 64-bit int.
_ADVISORY_KEY = int.from_bytes(b"pw-index", "big", signed=True)
_POLL_SECONDS = 0.05
_INSERT_CHUNK = 5_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_changes(s: Session, arxiv_ids: Iterable[str], reason: str) -> None:
    """Queue ``arxiv_ids`` for the index, in the caller's transaction ``s``."""
    ids = list(dict.fromkeys(arxiv_ids))
    now = _now()
    for start in range(0, len(ids), _INSERT_CHUNK):
        chunk = ids[start : start + _INSERT_CHUNK]
        s.execute(
            insert(IndexChange), [{"arxiv_id": a, "reason": reason, "at": now} for a in chunk]
        )


def record_paper_changes(s: Session, paper_pks: Sequence[int], reason: str) -> None:
    """Like :func:`record_changes`, for papers given by primary key."""
    for start in range(0, len(paper_pks), _INSERT_CHUNK):
        chunk = list(paper_pks[start : start + _INSERT_CHUNK])
        s.execute(
            insert(IndexChange).from_select(
                ["arxiv_id", "reason", "at"],
                select(Paper.arxiv_id, literal(reason), literal(_now())).where(Paper.id.in_(chunk)),
            )
        )


class IndexJournal:
    """Reads and trims the journal; hands out the applier's claim."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._threads = threading.Lock()

    # -- the queue ------------------------------------------------------------------------

    def pending(self, limit: int) -> list[tuple[int, str]]:
        """The oldest ``limit`` rows: ``(seq, arxiv_id)``."""
        with self.db.session() as s:
            rows = s.execute(
                select(IndexChange.seq, IndexChange.arxiv_id).order_by(IndexChange.seq).limit(limit)
            ).all()
            return [(int(r[0]), str(r[1])) for r in rows]

    def pending_count(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(IndexChange)) or 0

    def done(self, seqs: Sequence[int]) -> None:
        """Delete the rows an applier read and applied (not the id's later rows)."""
        with self.db.session() as s:
            for start in range(0, len(seqs), _INSERT_CHUNK):
                chunk = list(seqs[start : start + _INSERT_CHUNK])
                s.execute(delete(IndexChange).where(IndexChange.seq.in_(chunk)))

    def enqueue(self, arxiv_ids: Iterable[str], reason: str) -> int:
        """Queue ids in a transaction of their own (repairs, reconciling on start),
        except those already queued (applying their row brings them up to date);
        returns how many were queued."""
        ids = list(dict.fromkeys(arxiv_ids))
        with self.db.session() as s:
            queued: set[str] = set()
            for start in range(0, len(ids), _INSERT_CHUNK):
                chunk = ids[start : start + _INSERT_CHUNK]
                queued.update(
                    s.scalars(select(IndexChange.arxiv_id).where(IndexChange.arxiv_id.in_(chunk)))
                )
            fresh = [i for i in ids if i not in queued]
            record_changes(s, fresh, reason)
        return len(fresh)

    def enqueue_all(self, reason: str) -> int:
        """Queue every paper not already queued (``paperwire index --rebuild``)."""
        queued = select(IndexChange.arxiv_id)
        with self.db.session() as s:
            result = s.execute(
                insert(IndexChange).from_select(
                    ["arxiv_id", "reason", "at"],
                    select(Paper.arxiv_id, literal(reason), literal(_now()))
                    .where(Paper.arxiv_id.not_in(queued))
                    .order_by(Paper.id),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # -- the claim ------------------------------------------------------------------------

    @contextlib.contextmanager
    def claim(self, wait: float = 0.0) -> Iterator[bool]:
        """Hold the right to apply the journal; yields False when another thread or
        process held it for ``wait`` seconds."""
        deadline = time.monotonic() + max(0.0, wait)
        if not self._threads.acquire(timeout=max(0.0, wait)):
            yield False
            return
        try:
            remaining = deadline - time.monotonic()
            if self.db.dialect == "postgresql":
                with self._advisory_lock(remaining) as held:
                    yield held
            else:
                with self._file_lock(remaining) as held:
                    yield held
        finally:
            self._threads.release()

    @contextlib.contextmanager
    def _advisory_lock(self, wait: float) -> Iterator[bool]:
        deadline = time.monotonic() + max(0.0, wait)
        conn = self.db.engine.connect()
        held = False
        try:
            while True:
                held = bool(
                    conn.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": _ADVISORY_KEY}
                    ).scalar()
                )
                conn.commit()
                if held or time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_SECONDS)
            yield held
        finally:
            try:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                    conn.commit()
            except Exception:
                conn.invalidate()  # closing the session releases the lock
                raise
            finally:
                conn.close()

    def _lock_path(self) -> Path | None:
        database = make_url(self.db.url).database
        if not database or database == ":memory:":
            return None
        return Path(database).with_name(Path(database).name + ".index-lock")

    @contextlib.contextmanager
    def _file_lock(self, wait: float) -> Iterator[bool]:
        path = self._lock_path()
        if path is None or fcntl is None:
            yield True  # one process: the thread lock is enough
            return
        deadline = time.monotonic() + max(0.0, wait)
        with open(path, "a+b") as fh:
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = True
                except BlockingIOError:
                    held = False
                if held or time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_SECONDS)
            try:
                yield held
            finally:
                if held:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
