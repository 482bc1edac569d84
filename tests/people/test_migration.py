"""``0006_people`` creates exactly the tables the schema declares (both stores)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from paperwire.store.schema import Base
from tests.conftest import AppFactory

PEOPLE_TABLES = {"profiles", "follows", "author_claims", "thumbnails"}


def test_migration_matches_the_people_schema(make_app: AppFactory) -> None:
    pw = make_app(semantic=False)
    with pw.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    ours = [d for d in diff if any(f"'{t}'" in repr(d) for t in PEOPLE_TABLES)]
    assert ours == [], ours
    with pw.db.engine.connect() as conn:
        names = set(conn.dialect.get_table_names(conn))
    assert names >= PEOPLE_TABLES
