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

Each version also gets a ``data_changes`` row saying what it changed, so a page cache
can keep what a change does not touch: a writer that knows exactly what it changes
declares it (``declare_changes``: a vote changes one paper's count and the order of the
feeds of the days it was featured on, ``paper_tags``); a commit that declared nothing
says "anything" (NULL), which is always safe. ``read_changes`` gives a reader the tags
since the version it last saw, or None when they are no longer all kept.

Within ``one_version_per_request()`` (the web app enters it around every request),
``read_version`` reads each database's version once and answers again from that read:
the page cache, the kept rankings and the "submitted by" map each ask, and three reads
of the same row were ~3 % of a loaded server (issue 16). A commit made inside the
request forgets the read, so the request sees its own writes.

``VersionWatch`` is how a reader of the version learns what changed since it last
looked: the page cache, the kept rankings and the "submitted by" map each keep one, so
the rules (a first look and a lost change log mean "anything"; an older version than
seen is no news) are written once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain
from typing import Any

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from paperwire.store.schema.papers import Featured
from paperwire.store.schema.versions import DataChange, DataVersion

__all__ = [
    "CHANGES_KEPT",
    "UNTRACKED",
    "News",
    "VersionWatch",
    "declare_changes",
    "one_version_per_request",
    "paper_tags",
    "read_changes",
    "read_version",
    "track_writes",
]

UNTRACKED = frozenset(
    {
        "data_version",
        "data_changes",
        "rate_limits",
        "user_sessions",
        "audit_log",
        "digest_outbox",
        "digest_sent_papers",
    }
)
_WRITTEN = "paperwire_written_tables"
_DECLARED = "paperwire_declared_changes"
_RAISED = "paperwire_raised_version"
CHANGES_KEPT = 4096  # versions whose changes stay readable (pruned every _PRUNE_EVERY)
_PRUNE_EVERY = 256


def declare_changes(session: Session, tags: set[str]) -> None:
    """Say that this transaction changes only what ``tags`` name (``paper_tags``), so
    cached pages that show none of it stay. A promise: a writer that changes anything
    else must not declare (its commit then counts as "anything changed")."""
    session.info.setdefault(_DECLARED, set()).update(tags)


def paper_tags(session: Session, paper_id: int, arxiv_id: str) -> set[str]:
    """What a change to one paper's counts touches: the paper (``paper:<arxiv id>``)
    and the feed of each day it was featured on (``day:<date>``), whose order it may
    change."""
    days = session.scalars(select(Featured.day).where(Featured.paper_id == paper_id).distinct())
    return {f"paper:{arxiv_id}", *(f"day:{d.isoformat()}" for d in days)}


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
    declared = session.info.pop(_DECLARED, None)
    if not written - UNTRACKED:
        return
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stmt = insert(DataVersion).values(id=1, version=1, changed_at=now)
    version = session.execute(
        stmt.on_conflict_do_update(
            index_elements=[DataVersion.id],
            set_={"version": DataVersion.version + 1, "changed_at": now},
        ).returning(DataVersion.version)
    ).scalar_one()
    session.info[_RAISED] = True
    if _logs_changes(session):
        tags = " ".join(sorted(declared)) if declared else None
        session.execute(insert(DataChange).values(version=version, tags=tags))
        if version % _PRUNE_EVERY == 0:
            session.execute(delete(DataChange).where(DataChange.version <= version - CHANGES_KEPT))
    session.info.pop(_WRITTEN, None)


_LOGGING: set[str] = set()  # databases (URLs) known to have the change log


def _logs_changes(session: Session) -> bool:
    """Whether the database has ``data_changes`` (Alembic ``0008``): a store at an older
    revision (a migration test, a half-upgraded copy) still commits; its readers find no
    rows and so treat every change as "anything", which is always safe."""
    url = str(session.connection().engine.url)
    if url not in _LOGGING and inspect(session.connection()).has_table(DataChange.__tablename__):
        _LOGGING.add(url)
    return url in _LOGGING


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_DECLARED, None)
    session.info.pop(_RAISED, None)


def _forget_request_versions(session: Session) -> None:
    """After a commit that raised the version: the request reads it again."""
    if session.info.pop(_RAISED, False):
        held = _REQUEST_VERSIONS.get()
        if held:
            held.clear()


def track_writes(sessions: sessionmaker[Session]) -> None:
    """Raise the data version in every commit of ``sessions`` that changes data."""
    event.listen(sessions, "after_commit", _forget_request_versions)
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "do_orm_execute", _on_execute)
    event.listen(sessions, "before_commit", _before_commit)
    event.listen(sessions, "after_rollback", _forget)


_READ = select(DataVersion.version, DataVersion.changed_at).where(DataVersion.id == 1)


# per request: engine (id) → its version as first read in the request (see module doc)
_REQUEST_VERSIONS: ContextVar[dict[int, tuple[int, dt.datetime | None]] | None] = ContextVar(
    "paperwire_request_versions", default=None
)


@contextmanager
def one_version_per_request() -> Iterator[None]:
    """Inside, ``read_version`` reads each database's version at most once (until a
    commit made inside). The worker threads a request's views run in see it too:
    they run in a copy of the request's context, which holds the same dict."""
    token = _REQUEST_VERSIONS.set({})
    try:
        yield
    finally:
        _REQUEST_VERSIONS.reset(token)


def read_version(engine: Engine) -> tuple[int, dt.datetime | None]:
    """``(version, changed_at)`` (naive UTC); ``(0, None)`` before the first change.
    A bare connection, not a session: the page cache asks on every request."""
    held = _REQUEST_VERSIONS.get()
    key = id(engine)
    if held is not None and key in held:
        return held[key]
    with engine.connect() as conn:
        row = conn.execute(_READ).first()
    found = (int(row[0]), row[1]) if row else (0, None)
    if held is not None:
        held[key] = found
    return found


def read_changes(engine: Engine, after: int, upto: int) -> set[str] | None:
    """The tags of versions ``after`` (exclusive) to ``upto`` (inclusive); None when one
    of them changed anything (declared nothing) or is no longer kept."""
    if upto <= after:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(
            select(DataChange.tags).where(DataChange.version > after, DataChange.version <= upto)
        ).all()
    if len(rows) != upto - after:
        return None
    tags: set[str] = set()
    for (text,) in rows:
        if text is None:
            return None
        tags.update(text.split())
    return tags


class VersionWatch:
    """One reader's place in the data versions: ``news(version)`` says what changed
    since the version it last saw, and moves it there. Thread-safe.

    ``None``: nothing is new, the same version or an **older** one (with one read per
    request, a request that read the version on arrival and then queued reaches a kept
    value after one that read a newer version: its older version is no news, and must
    not count as "anything changed"). Else a ``News``: the tags of the changes
    (``paper_tags``), or "anything" on the first look, after a change that declared
    nothing, or when the changes are no longer all kept."""

    def __init__(self, changes: Callable[[int, int], set[str] | None]) -> None:
        self._changes = changes  # ``Database.data_changes``
        self._lock = threading.Lock()
        self.seen: int | None = None  # the newest version looked at

    def news(self, version: int) -> News | None:
        with self._lock:
            seen = self.seen
            if seen is not None and version <= seen:
                return None
            self.seen = version
            tags = None if seen is None else self._changes(seen, version)
            return News(version, None if tags is None else frozenset(tags))


class News:
    """What changed up to ``version`` (``VersionWatch.news``): ``tags`` None means anything
    may have changed."""

    __slots__ = ("tags", "version")

    def __init__(self, version: int, tags: frozenset[str] | None) -> None:
        self.version = version
        self.tags = tags

    @property
    def anything(self) -> bool:
        return self.tags is None
