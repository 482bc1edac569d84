"""``Database``: owns the engine, sessions and schema migrations.

SQLite runs in WAL mode so the web server keeps reading while an ingest or the
embedding job writes; PostgreSQL is selected by URL with the same code.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.log import InstanceLogger
from sqlalchemy.orm import Session, sessionmaker

from paperwire.store.versions import (
    ChangeLog,
    VersionReader,
    VersionWatch,
    read_log,
    track_writes,
)

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class _InterruptedCursorClose(logging.Filter):
    """Drops SQLAlchemy's "Error closing cursor" where a Ctrl-C caused it.

    A KeyboardInterrupt that lands in a fetch makes SQLAlchemy drop the connection, then
    close the cursor, which fails on the closed connection: the pool logs that with a
    traceback (to stderr where nothing configured logging, as in every CLI command).
    The command then says what the interrupt left (e.g. a compaction's "no document
    was lost"); the traceback only alarmed. Any other cursor-close error is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "Error closing cursor" or not record.exc_info:
            return True
        cause: BaseException | None = record.exc_info[1]
        while cause is not None:
            if isinstance(cause, KeyboardInterrupt):
                return False
            cause = cause.__context__
        return True


_INTERRUPTED_CURSOR_CLOSE = _InterruptedCursorClose()


def _quiet_interrupted_cursor_close(engine: Engine) -> None:
    # the pool's logger, or the logger an echoing pool's ``InstanceLogger`` wraps
    pool_logger = engine.pool.logger
    logger = pool_logger.logger if isinstance(pool_logger, InstanceLogger) else pool_logger
    logger.addFilter(_INTERRUPTED_CURSOR_CLOSE)  # once: ``addFilter`` skips a filter it has


class Database:
    """One per process: readers and writers get sessions from here, nowhere else."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        _quiet_interrupted_cursor_close(self.engine)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        track_writes(self._sessions)  # every data-changing commit raises the data version
        self._versions = VersionReader(self.engine)

    @property
    def file(self) -> Path | None:
        """The SQLite database's file; None for a server's database or one in memory."""
        database = make_url(self.url).database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database)

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self._sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A bare connection for reads of plain columns (a list of cards, a feed): no
        ORM unit of work around them, which cost more than the query itself (~1 ms of a
        ~1.5 ms read of 30 cards; issue 16). Never for writes: those go through
        ``session`` (the data version is raised there)."""
        with self.engine.connect() as conn:
            yield conn

    def migrate(self, revision: str = "heads", *, downgrade: bool = False) -> None:
        """Bring the schema up to an Alembic ``revision`` (default: the newest of every
        head; idempotent), or with ``downgrade`` back down to it (a migration's tests,
        an operator's rollback), in one transaction."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    def data_version(self) -> tuple[int, dt.datetime | None]:
        """``(version, changed_at)`` of the data (``store.versions``)."""
        return self._versions.read()

    def change_log(self, after: int, upto: int) -> ChangeLog:
        """What versions ``after`` (exclusive) to ``upto`` changed: the tags they declared
        and the tables the others wrote (``store.versions.read_log``)."""
        return read_log(self.engine, after, upto)

    def watch(self) -> VersionWatch:
        """A new reader's place in the data versions (``store.versions.VersionWatch``)."""
        return VersionWatch(self.change_log)

    def is_migrated(self) -> bool:
        return inspect(self.engine).has_table("papers")

    def close(self) -> None:
        self._versions.close()
        self.engine.dispose()
