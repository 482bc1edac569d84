"""``VoteStore``: one upvote per user per paper, counted exactly under concurrency.

A vote is ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` into ``votes`` (unique on
user + paper); only when that inserted a row does the same transaction run
``UPDATE papers SET local_upvotes = local_upvotes + 1``. Unvoting mirrors it with a
``DELETE … RETURNING`` guarding ``local_upvotes - 1``. The increment is computed by the database,
never read-modify-written in Python, so concurrent voters on SQLite (writes serialised)
and PostgreSQL (row locks, READ COMMITTED re-check) always leave
``papers.local_upvotes == count(votes)``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperwire.models.community import VoteState
from paperwire.store.db import Database
from paperwire.store.schema.community import Vote
from paperwire.store.schema.papers import Paper
from paperwire.store.users import utcnow
from paperwire.store.versions import declare_changes, paper_tags


class PaperNotFound(LookupError):  # noqa: N818 - reads best at call sites
    """The paper is unknown or hidden."""


def _paper_id(s: Session, arxiv_id: str) -> int:
    pid = s.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False)))
    if pid is None:
        raise PaperNotFound(arxiv_id)
    return pid


def _voting_on(s: Session, arxiv_id: str) -> int:
    """The paper's row id, declaring that this transaction changes that paper's counts
    only: a cached page that shows neither it nor its days' feeds stays."""
    pid = _paper_id(s, arxiv_id)
    declare_changes(s, paper_tags(s, pid, arxiv_id))
    return pid


def _state(s: Session, pid: int, arxiv_id: str, voted: bool, changed: bool) -> VoteState:
    src, local = s.execute(
        select(Paper.source_upvotes, Paper.local_upvotes).where(Paper.id == pid)
    ).one()
    return VoteState(
        arxiv_id=arxiv_id,
        voted=voted,
        changed=changed,
        upvotes=src + local,
        source_upvotes=src,
        local_upvotes=local,
    )


class VoteStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock() if db.dialect == "sqlite" else None

    def _insert_vote(self, s: Session, user_id: int, pid: int) -> bool:
        """Insert the vote row; True when a row was inserted (False: it existed)."""
        values = {"user_id": user_id, "paper_id": pid, "created_at": utcnow()}
        if self.db.dialect in ("sqlite", "postgresql"):
            dialect_insert = sqlite.insert if self.db.dialect == "sqlite" else postgresql.insert
            stmt = (
                dialect_insert(Vote)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["user_id", "paper_id"])
                .returning(Vote.id)
            )
            # RETURNING yields the new row's id, or nothing when the vote existed
            # (rowcount is not reliable here: the ORM may report -1 on PostgreSQL).
            return s.execute(stmt).scalar() is not None
        try:  # other databases: a savepoint turns the duplicate into "nothing changed"
            with s.begin_nested():
                s.execute(insert(Vote).values(**values))
        except IntegrityError:
            return False
        return True

    def _serialized(self) -> AbstractContextManager[object]:
        """SQLite takes one writer at a time anyway; queueing this process's voters on a
        lock hands the write lock over at once instead of in SQLite's busy-handler sleeps
        (1–100 ms steps), which keeps latency flat under load. Other processes still
        wait on ``busy_timeout``; PostgreSQL needs no lock (row locks do the work)."""
        return self._lock if self._lock is not None else nullcontext()

    def _bump(self, s: Session, pid: int, arxiv_id: str, delta: int, voted: bool) -> VoteState:
        src, local = s.execute(
            update(Paper)
            .where(Paper.id == pid)
            .values(local_upvotes=Paper.local_upvotes + delta)
            .returning(Paper.source_upvotes, Paper.local_upvotes)
            .execution_options(synchronize_session=False)
        ).one()
        return VoteState(
            arxiv_id=arxiv_id,
            voted=voted,
            changed=True,
            upvotes=src + local,
            source_upvotes=src,
            local_upvotes=local,
        )

    def vote(self, user_id: int, arxiv_id: str) -> VoteState:
        """Upvote (idempotent); ``PaperNotFound`` for unknown or hidden papers."""
        with self._serialized(), self.db.session() as s:
            pid = _voting_on(s, arxiv_id)
            if self._insert_vote(s, user_id, pid):
                return self._bump(s, pid, arxiv_id, +1, True)
            return _state(s, pid, arxiv_id, True, False)

    def unvote(self, user_id: int, arxiv_id: str) -> VoteState:
        """Take an upvote back (idempotent)."""
        with self._serialized(), self.db.session() as s:
            pid = _voting_on(s, arxiv_id)
            deleted = s.execute(
                delete(Vote)
                .where(Vote.user_id == user_id, Vote.paper_id == pid)
                .returning(Vote.id)
                .execution_options(synchronize_session=False)
            ).scalar()
            if deleted is not None:
                return self._bump(s, pid, arxiv_id, -1, False)
            return _state(s, pid, arxiv_id, False, False)

    def state(self, user_id: int | None, arxiv_id: str) -> VoteState:
        with self.db.session() as s:
            pid = _paper_id(s, arxiv_id)
            voted = user_id is not None and (
                s.scalar(select(Vote.id).where(Vote.user_id == user_id, Vote.paper_id == pid))
                is not None
            )
            return _state(s, pid, arxiv_id, voted, False)

    def voted_ids(self, user_id: int, arxiv_ids: Sequence[str] | None = None) -> set[str]:
        """arXiv ids this user has upvoted (restricted to ``arxiv_ids`` when given)."""
        q = select(Paper.arxiv_id).join(Vote, Vote.paper_id == Paper.id)
        q = q.where(Vote.user_id == user_id)
        if arxiv_ids is not None:
            q = q.where(Paper.arxiv_id.in_(list(arxiv_ids)))
        with self.db.reading() as conn:  # every signed-in page of cards asks: no session
            return set(conn.scalars(q))

    def counts(self, arxiv_id: str) -> tuple[int, int]:
        """``(papers.local_upvotes, count of vote rows)`` — equal unless something broke."""
        with self.db.session() as s:
            pid, local = s.execute(
                select(Paper.id, Paper.local_upvotes).where(Paper.arxiv_id == arxiv_id)
            ).one()
            rows = s.scalar(select(func.count(Vote.id)).where(Vote.paper_id == pid)) or 0
            return local, rows
