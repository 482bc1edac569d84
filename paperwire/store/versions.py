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
says "anything" (NULL), which is always safe. ``read_log`` gives a reader the tags
since the version it last saw, or None when they are no longer all kept.

An undeclared change also logs **which tables it wrote** (``written``; a table of which
it only moved counter columns, ``schema.base.COUNTER``, as ``<table>:counts``), and
``read_log`` gives them too: a reader that depends on some tables only (the kept search
rankings and the Milvus word holders, ``store.papers.SEARCH_READS``) keeps what a signup,
a comment or a follow does not touch. A row without them (an older store or process) or
a table the hooks could not name counts as every table.

Within ``one_version_per_request()`` (the web app enters it around every request),
``VersionReader.read`` reads each database's version once and answers again from that read:
the page cache, the kept rankings and the "submitted by" map each ask, and three reads
of the same row were ~3 % of a loaded server (issue 16). A commit made inside the
request forgets the read, so the request sees its own writes.

``VersionWatch`` is how a reader of the version learns what changed since it last
looked: the page cache, the kept rankings, the kept feed reads, the kept result cards
and the "submitted by" map each keep one, so the rules (a first look and a lost change
log mean "anything"; an older version than seen is no news) are written once.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import delete, event, inspect, null, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from paperwire.store.schema.papers import Featured
from paperwire.store.schema.versions import DataChange, DataVersion

__all__ = [
    "CHANGES_KEPT",
    "COUNTS",
    "UNTRACKED",
    "ChangeLog",
    "News",
    "VersionReader",
    "VersionWatch",
    "days_in",
    "declare_changes",
    "one_version_per_request",
    "paper_tags",
    "papers_in",
    "read_log",
    "tags_of",
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
COUNTS = ":counts"  # suffix of a table of which a commit only moved counters
_UNNAMED = "?"  # a statement whose table the hooks could not name: any table
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


_PAPER_TAG = "paper:"
_DAY_TAG = "day:"


def tags_of(papers: Iterable[str] = (), days: Iterable[dt.date] = ()) -> set[str]:
    """The tags that name ``papers`` (their cards and counts: ``paper:<arxiv id>``) and
    ``days`` (the order of their feeds: ``day:<date>``): what a change declares and what
    a kept page or read depends on, in one spelling."""
    return {*(_PAPER_TAG + p for p in papers), *(_DAY_TAG + d.isoformat() for d in days)}


def days_in(tags: Iterable[str]) -> set[dt.date]:
    """The days that ``tags`` name (``tags_of``)."""
    return {dt.date.fromisoformat(t[len(_DAY_TAG) :]) for t in tags if t.startswith(_DAY_TAG)}


def papers_in(tags: Iterable[str]) -> set[str]:
    """The arXiv ids of the papers that ``tags`` name (``tags_of``)."""
    return {t[len(_PAPER_TAG) :] for t in tags if t.startswith(_PAPER_TAG)}


def paper_tags(session: Session, paper_id: int, arxiv_id: str) -> set[str]:
    """What a change to one paper's counts touches: the paper and the feed of each day
    it was featured on, whose order it may change (``tags_of``)."""
    days = session.scalars(select(Featured.day).where(Featured.paper_id == paper_id).distinct())
    return tags_of([arxiv_id], days)


def _note(session: Session, tables: set[str]) -> None:
    session.info.setdefault(_WRITTEN, set()).update(tables)


def _after_flush(session: Session, _context: Any) -> None:
    objects = chain(session.new, session.dirty, session.deleted)
    _note(session, {o.__table__.name for o in objects if hasattr(o, "__table__")})


def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if not name:
            _note(state.session, {_UNNAMED})
        elif state.is_update and _counters_only(state):
            _note(state.session, {f"{name}{COUNTS}"})
        else:
            _note(state.session, {str(name)})


def _counters_only(state: ORMExecuteState) -> bool:
    """Whether an UPDATE sets nothing but counter columns (``COUNTER``: a comment moving
    ``papers.local_comments``), known from the statement alone: values given per row as
    parameters (a bulk update by key) may set anything, so they do not count."""
    values = getattr(state.statement, "_values", None)
    if not values or state.parameters or getattr(state.statement, "_multi_values", None):
        return False
    table = state.statement.table  # type: ignore[attr-defined]
    for key in values:
        column = table.c.get(key) if isinstance(key, str) else key
        if column is None or not getattr(column, "info", {}).get("counter"):
            return False
    return True


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
    logged = _log_columns(session.connection())
    if logged:
        row: dict[str, object] = {"version": version, "tags": None}
        if declared:
            row["tags"] = " ".join(sorted(declared))
        elif "written" in logged and _UNNAMED not in written:
            row["written"] = " ".join(sorted(written - UNTRACKED))
        session.execute(insert(DataChange).values(**row))
        if version % _PRUNE_EVERY == 0:
            session.execute(delete(DataChange).where(DataChange.version <= version - CHANGES_KEPT))
    session.info.pop(_WRITTEN, None)


_LOGGING: set[str] = set()  # databases (URLs) known to have the whole change log
_ALL_COLUMNS = frozenset({"version", "tags", "written"})


def _log_columns(conn: Connection) -> frozenset[str]:
    """The columns ``data_changes`` has: none before Alembic ``0008``, no ``written``
    before ``0009``. A store at an older revision (a migration test, a half-upgraded
    copy) still commits and reads; what it cannot log reads as "anything", which is
    always safe. Only the whole log is remembered (a store migrated meanwhile is seen at
    once; an older one is looked at each time)."""
    url = str(conn.engine.url)
    if url in _LOGGING:
        return _ALL_COLUMNS
    inspector = inspect(conn)
    if not inspector.has_table(DataChange.__tablename__):
        return frozenset()
    columns = frozenset(c["name"] for c in inspector.get_columns(DataChange.__tablename__))
    if columns >= _ALL_COLUMNS:
        _LOGGING.add(url)
    return columns


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
# the same statement as SQLite's own text, for the plain ``sqlite3`` reads
_READ_SQL = str(_READ.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


# per request: engine (id) → its version as first read in the request (see module doc)
_REQUEST_VERSIONS: ContextVar[dict[int, tuple[int, dt.datetime | None]] | None] = ContextVar(
    "paperwire_request_versions", default=None
)


@contextmanager
def one_version_per_request() -> Iterator[None]:
    """Inside, ``VersionReader.read`` reads each database's version at most once (until a
    commit made inside). The worker threads a request's views run in see it too:
    they run in a copy of the request's context, which holds the same dict."""
    token = _REQUEST_VERSIONS.set({})
    try:
        yield
    finally:
        _REQUEST_VERSIONS.reset(token)


class VersionReader:
    """Reads one database's ``(version, changed_at)`` (naive UTC; ``(0, None)`` before
    the first change), once per request inside ``one_version_per_request``.

    The page cache asks on every request, so the read itself counts. On a SQLite file it
    goes through plain ``sqlite3`` connections of its own, kept for the process and never
    writing: 7 µs a read, against 114 µs for checking a SQLAlchemy connection out and
    back in (74.7k store; 5 % of a loaded server's samples, issue 16). A statement read to
    its end holds no snapshot, so each read sees the latest commit of any connection.

    No lock is held across a read: the event loop asks too, and must never wait for a
    worker thread that waits for the GIL inside ``sqlite3``. Each read takes an idle
    connection or opens one (``list.pop`` and ``append`` are atomic), so there are as
    many as reads ever ran at once. A forked child starts with none of its own
    (``_after_fork_in_child``, while the child has one thread) and never closes its
    parent's: SQLite's close would drop the process's file locks.

    Elsewhere (a PostgreSQL server, an in-memory SQLite), and after ``close``, it takes a
    pooled connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._key = id(engine)
        url = engine.url
        self._own = (
            url.get_backend_name() == "sqlite"
            and url.database not in (None, "", ":memory:")
            and url.query.get("mode") != "memory"
        )
        self._idle: list[sqlite3.Connection] = []
        self._inherited: list[sqlite3.Connection] = []  # a forked child's: never closed
        # the last row read and what it parsed to, swapped in one assignment
        self._parsed: tuple[tuple[Any, ...] | None, tuple[int, dt.datetime | None]] = (
            None,
            (0, None),
        )
        _READERS.add(self)

    def read(self) -> tuple[int, dt.datetime | None]:
        held = _REQUEST_VERSIONS.get()
        if held is not None and self._key in held:
            return held[self._key]
        found = self._fetch()
        if held is not None:
            held[self._key] = found
        return found

    def _fetch(self) -> tuple[int, dt.datetime | None]:
        if self._own:
            try:
                return self._fetch_own()
            except sqlite3.Error:
                pass  # the pooled read below raises what is wrong, as SQLAlchemy does
        with self.engine.connect() as conn:
            row = conn.execute(_READ).first()
        return (int(row[0]), row[1]) if row else (0, None)

    def _fetch_own(self) -> tuple[int, dt.datetime | None]:
        try:
            conn = self._idle.pop()
        except IndexError:
            conn = self._open()
        try:
            rows = conn.execute(_READ_SQL).fetchall()  # to the end: no snapshot held
        except sqlite3.Error:
            conn.close()
            raise
        if self._own:
            self._idle.append(conn)
        else:  # closed meanwhile
            conn.close()
        row = tuple(rows[0]) if rows else None
        last, found = self._parsed
        if row != last:
            found = (
                (int(row[0]), dt.datetime.fromisoformat(row[1]) if row[1] else None)
                if row
                else (0, None)
            )
            self._parsed = (row, found)
        return found

    def _open(self) -> sqlite3.Connection:
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        params: dict[str, Any] = {**cparams, "check_same_thread": False}
        conn: sqlite3.Connection = sqlite3.connect(cargs[0], isolation_level=None, **params)
        return conn

    def _forget_parents(self) -> None:
        self._inherited.extend(self._idle)
        self._idle = []

    def close(self) -> None:
        """Close the idle connections; later reads (and a read under way, when it ends)
        take the pooled path and keep nothing."""
        self._own = False
        while self._idle:
            self._idle.pop().close()


_READERS: weakref.WeakSet[VersionReader] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for reader in list(_READERS):
        reader._forget_parents()


os.register_at_fork(after_in_child=_after_fork_in_child)


class ChangeLog(NamedTuple):
    """What some versions changed (``read_log``). ``tags``: what they declared; None when
    one declared nothing. ``written``: the tables written by those that declared nothing
    (a declared change wrote only what its tags name); None when one of them does not
    say. Both None when the versions are no longer all kept."""

    tags: frozenset[str] | None
    written: frozenset[str] | None


_NOTHING = ChangeLog(frozenset(), frozenset())
_UNKNOWN = ChangeLog(None, None)


def read_log(engine: Engine, after: int, upto: int) -> ChangeLog:
    """What versions ``after`` (exclusive) to ``upto`` (inclusive) changed, in one read."""
    if upto <= after:
        return _NOTHING
    with engine.connect() as conn:
        columns = _log_columns(conn)
        if not columns:
            return _UNKNOWN
        written_col = DataChange.written if "written" in columns else null()
        rows = conn.execute(
            select(DataChange.tags, written_col).where(
                DataChange.version > after, DataChange.version <= upto
            )
        ).all()
    if len(rows) != upto - after:
        return _UNKNOWN
    tags: set[str] | None = set()
    written: set[str] | None = set()
    for declared, tables in rows:
        if declared is not None:
            if tags is not None:
                tags.update(declared.split())
            continue
        tags = None
        if tables is None:
            written = None
        elif written is not None:
            written.update(tables.split())
    return ChangeLog(
        None if tags is None else frozenset(tags),
        None if written is None else frozenset(written),
    )


class VersionWatch:
    """One reader's place in the data versions: ``news(version)`` says what changed
    since the version it last saw, and moves it there. Thread-safe.

    ``None``: nothing is new, the same version or an **older** one (with one read per
    request, a request that read the version on arrival and then queued reaches a kept
    value after one that read a newer version: its older version is no news, and must
    not count as "anything changed"). Else a ``News``: the tags of the changes
    (``paper_tags``), or "anything" on the first look, after a change that declared
    nothing, or when the changes are no longer all kept; and the tables the undeclared
    changes wrote (``News.touches``), unknown in the same cases but the second."""

    def __init__(self, changes: Callable[[int, int], ChangeLog]) -> None:
        self._changes = changes  # ``Database.change_log``
        self._lock = threading.Lock()
        self.seen: int | None = None  # the newest version looked at

    def news(self, version: int) -> News | None:
        with self._lock:
            seen = self.seen
            if seen is not None and version <= seen:
                return None
            # read before moving: a failed read (a locked or lost database) leaves this
            # watch where it was, so the next look reports these changes
            log = _UNKNOWN if seen is None else self._changes(seen, version)
            self.seen = version
            return News(version, log.tags, log.written)


class News:
    """What changed up to ``version`` (``VersionWatch.news``): ``tags`` None means anything
    may have changed; ``written``, the tables the changes that declared nothing wrote
    (None: any table)."""

    __slots__ = ("tags", "version", "written")

    def __init__(
        self,
        version: int,
        tags: frozenset[str] | None,
        written: frozenset[str] | None = None,
    ) -> None:
        self.version = version
        self.tags = tags
        self.written = written

    @property
    def anything(self) -> bool:
        return self.tags is None

    def touches(self, tables: AbstractSet[str]) -> bool:
        """Whether the changes may have changed what is read from ``tables`` (a reader
        that depends on those only): an undeclared change wrote one of them, or which
        tables is unknown. A declared change touches none (it changed counts only)."""
        return self.written is None or not self.written.isdisjoint(tables)
