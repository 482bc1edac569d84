"""Fixtures of the store tests: a migrated database on the backend under test
(``database_url``: SQLite, or PostgreSQL with ``PAPERWIRE_TEST_BACKEND``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paperwire.store.db import Database
from paperwire.store.papers import PaperStore


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    found = Database(database_url)
    found.migrate()
    yield found
    found.close()


@pytest.fixture
def store(db: Database) -> PaperStore:
    return PaperStore(db)
