"""The data version: raised by every commit that changes data, read by the page cache.

``track_writes(sessions)`` (``Database`` calls it once) watches every session of the
process: the tables a flush or a DML statement wrote are noted on the session, and
before it commits, a session that wrote any table outside ``UNTRACKED`` raises the one
``data_version`` row in the same transaction (an upsert: the row appears with the first
change). So every writer — a vote, an edit, an ingest, the index journal's applier, a
process that never heard of caching — bumps it without knowing, and the bump commits or
rolls back with the data.

``UNTRACKED`` tables hold bookkeeping no page shows to a signed-out visitor: rate-limit
counters (written on every login attempt), sessions, the audit log, the digest outbox.
"""

from __future__ import annotations

import datetime as dt
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from paperwire.store.schema.versions import DataVersion

__all__ = ["UNTRACKED", "read_version", "track_writes"]

UNTRACKED = frozenset(
    {
        "data_version",
        "rate_limits",
        "user_sessions",
        "audit_log",
        "digest_outbox",
        "digest_sent_papers",
    }
)
_WRITTEN = "paperwire_written_tables"


def _note(session: Session, tables: set[str]) -> None:
    session.info.setdefault(_WRITTEN, set()).update(tables)


def _after_flush(session: Session, _context: Any) -> None:
    objects = chain(session.new, session.dirty, session.deleted)
    _note(session, {o.__table__.name for o in objects if hasattr(o, "__table__")})


def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        _note(state.session, {str(name) if name else "?"})


def _before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: note its tables now
    written = session.info.pop(_WRITTEN, set())
    if not written - UNTRACKED:
        return
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stmt = insert(DataVersion).values(id=1, version=1, changed_at=now)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[DataVersion.id],
            set_={"version": DataVersion.version + 1, "changed_at": now},
        )
    )
    session.info.pop(_WRITTEN, None)


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_WRITTEN, None)


def track_writes(sessions: sessionmaker[Session]) -> None:
    """Raise the data version in every commit of ``sessions`` that changes data."""
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "do_orm_execute", _on_execute)
    event.listen(sessions, "before_commit", _before_commit)
    event.listen(sessions, "after_rollback", _forget)


_READ = select(DataVersion.version, DataVersion.changed_at).where(DataVersion.id == 1)


def read_version(engine: Engine) -> tuple[int, dt.datetime | None]:
    """``(version, changed_at)`` (naive UTC); ``(0, None)`` before the first change.
    A bare connection, not a session: the page cache asks on every request."""
    with engine.connect() as conn:
        row = conn.execute(_READ).first()
    return (int(row[0]), row[1]) if row else (0, None)
