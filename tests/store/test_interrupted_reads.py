"""A Ctrl-C that lands in a database read prints no traceback of SQLAlchemy's own.

SQLAlchemy drops the connection for a KeyboardInterrupt, then fails to close the cursor
on it and logs "Error closing cursor" with a traceback: a compaction interrupted in its
read of the store printed one above its "no document was lost" (a kill test caught it
once in many runs, where the interrupt landed in the fetch). Here the same call is made
on purpose, through SQLAlchemy's own code, with and without an interrupt under way."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from paperwire.store import Database


def test_a_cursor_that_cannot_close_during_a_ctrl_c_logs_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'interrupted.db'}")
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        raw.close()  # as SQLAlchemy leaves it once the interrupt dropped the connection
        with caplog.at_level(logging.ERROR):
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                conn._safe_close_cursor(cursor)
            assert "Error closing cursor" not in caplog.text
            conn._safe_close_cursor(cursor)  # no interrupt under way: a real error, logged
            assert "Error closing cursor" in caplog.text
            assert "Cannot operate on a closed database" in caplog.text
        conn.invalidate()
    db.engine.dispose()
