"""``0006_people`` creates exactly the tables the schema declares, and undoes them (both
stores)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from paperwire.store.schema import Base
from tests.conftest import AppFactory

PEOPLE_TABLES = {"profiles", "follows", "author_claims", "thumbnails"}


def test_migration_matches_the_people_schema(make_app: AppFactory, database_url: str) -> None:
    pw = make_app(semantic=False, database_url=database_url)
    with pw.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    ours = [d for d in diff if any(f"'{t}'" in repr(d) for t in PEOPLE_TABLES)]
    assert ours == [], ours
    with pw.db.engine.connect() as conn:
        names = set(conn.dialect.get_table_names(conn))
    assert names >= PEOPLE_TABLES


def test_migration_downgrades_and_upgrades_again(make_app: AppFactory, database_url: str) -> None:
    pw = make_app(semantic=False, database_url=database_url)
    # to its parent: 0007_one_head (the merge point) and 0006_discussions (a sibling on
    # the same parent) go down with it; migrate() brings everything back
    pw.db.migrate("0006_handles", downgrade=True)
    with pw.db.engine.connect() as conn:
        assert not PEOPLE_TABLES & set(conn.dialect.get_table_names(conn))
    pw.db.migrate()
    with pw.db.engine.connect() as conn:
        assert set(conn.dialect.get_table_names(conn)) >= PEOPLE_TABLES
