"""``0009_change_tables``: ``data_changes.written`` appears and goes on both stores; a
store at ``0008`` still commits and logs its changes (without tables: read as every
table), and rows from before the upgrade stay "every table" after it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from paperwire.store.db import Database
from paperwire.store.schema import Base
from paperwire.store.users import UserStore


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("data_changes")}


def test_written_comes_with_0009_and_older_rows_read_as_every_table(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.migrate("0008_data_changes")
        assert "written" not in _columns(db)
        users = UserStore(db)
        users.create("a@example.org", "Ada", "not-a-real-hash")  # commits at 0008
        old, _ = db.data_version()
        assert old >= 1
        assert db.change_log(old - 1, old).written is None  # no column yet: every table
        assert db.change_log(old - 1, old).tags is None

        db.migrate("heads")
        assert "written" in _columns(db)
        with db.engine.connect() as conn:  # the migration makes what the schema declares
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if "data_changes" in repr(d)] == []
        assert db.change_log(old - 1, old).written is None  # the row from before: still unknown
        users.create("b@example.org", "Bob", "not-a-real-hash")
        new, _ = db.data_version()
        assert db.change_log(old, new).written == {"users"}
        assert db.change_log(old - 1, new).written is None

        db.migrate("0008_data_changes", downgrade=True)
        assert "written" not in _columns(db)  # (this process remembers the whole log:
        # it neither reads nor writes it again before the upgrade below)
        db.migrate("heads")
        assert "written" in _columns(db)
    finally:
        db.close()
