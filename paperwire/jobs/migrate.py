"""Move to other backends: copy the store to another database (``paperwire migrate``)
and rebuild the index into another backend (``paperwire index --rebuild --backend``).

Store migration (e.g. SQLite → PostgreSQL):

1. the target's schema is created with the same Alembic migrations as any start;
2. every table is copied in foreign-key order, in primary-key order, in batches; each
   batch is one transaction and an upsert by primary key, so an interrupted copy is
   resumed by running it again with ``resume=True`` (a non-empty target is refused
   otherwise, so nothing is merged into an unrelated database by mistake);
3. PostgreSQL sequences are moved past the copied ids;
4. row counts are compared per table.

The source is only read. Stop writers (ingest, embed, web) while it runs, or run it
again with ``resume`` afterwards to pick up what changed (rows deleted meanwhile in the
source are not deleted in the target).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, and_, func, inspect, or_, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.sql import ColumnElement

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.index.base import IndexDoc, KeywordQuery, SearchIndex
from paperwire.models.search import SearchFilters
from paperwire.store import Database

__all__ = [
    "IndexComparison",
    "MigrateError",
    "MigrationReport",
    "TableCount",
    "compare_indexes",
    "migrate_store",
    "rebuild_into",
]

# Alembic's own bookkeeping: the target gets it from running the migrations. What each
# data version changed (``data_changes``) only tells this database's page caches what to
# drop: the target starts without it, and a cache that finds no rows drops everything.
_SKIP_TABLES = frozenset({"alembic_version", "data_changes"})


class MigrateError(RuntimeError):
    """The migration cannot start or did not copy everything."""


@dataclass
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass
class MigrationReport:
    source: str
    target: str
    tables: list[TableCount] = field(default_factory=list)
    copied: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)


def _schema_tables(target: Database) -> list[Table]:
    """The target's tables in foreign-key order, with the declared (ORM) column types
    where paperwire declares the table, reflected ones otherwise."""
    from paperwire.store import schema  # the package registers every table

    declared = schema.Base.metadata.tables
    reflected = MetaData()
    reflected.reflect(target.engine)
    tables = []
    for t in reflected.sorted_tables:
        if t.name in _SKIP_TABLES:
            continue
        tables.append(declared.get(t.name, t))
    return tables


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _after(table: Table, last: Sequence[Any]) -> ColumnElement[bool]:
    """Rows whose primary key sorts after ``last`` (keyset pagination, any key width)."""
    cols = list(table.primary_key.columns)
    clauses = []
    for i, col in enumerate(cols):
        equal = [c == v for c, v in zip(cols[:i], last[:i], strict=True)]
        clauses.append(and_(*equal, col > last[i]))
    return or_(*clauses)


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    else:
        raise MigrateError(f"migrating into {dialect} is not supported (PostgreSQL, SQLite)")
    keys = [c.name for c in table.primary_key.columns]
    rest = [c.name for c in table.columns if c.name not in keys]
    if rest:
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: stmt.excluded[c] for c in rest}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, rows)


def _reset_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """PostgreSQL: let new rows get ids after the copied ones."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        for col in table.primary_key.columns:
            try:
                integer = col.type.python_type is int
            except NotImplementedError:
                integer = False
            if not integer or col.autoincrement is False:
                continue
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": col.name},
            ).scalar()
            if seq:
                top = select(func.max(col)).scalar_subquery()
                conn.execute(select(func.setval(seq, func.coalesce(top, 0) + 1, False)))


def migrate_store(
    source: Database,
    target_url: str,
    *,
    resume: bool = False,
    batch_size: int = 1000,
    on_table: Callable[[str, int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> MigrationReport:
    """Copy every table of ``source`` into the database at ``target_url``.

    ``on_table(name, rows)`` is called before each table, ``on_progress(n)`` after each
    batch. Raises ``MigrateError`` when the target is the source, or is not empty and
    ``resume`` is False.
    """
    t0 = time.perf_counter()
    src_url, dst_url = make_url(source.url), make_url(target_url)
    if src_url == dst_url:
        raise MigrateError("the target database is the current database")
    target = Database(target_url)
    try:
        target.migrate()
        tables = _schema_tables(target)
        source_tables = set(inspect(source.engine).get_table_names()) - _SKIP_TABLES
        unknown = source_tables - {t.name for t in tables}
        if unknown:
            raise MigrateError(
                f"the target schema lacks table(s) {', '.join(sorted(unknown))}; "
                f"upgrade paperwire before migrating"
            )
        tables = [t for t in tables if t.name in source_tables]
        with target.engine.connect() as conn:
            filled = [t.name for t in tables if _count(conn, t)]
        if filled and not resume:
            raise MigrateError(
                f"the target database is not empty ({', '.join(filled)} have rows); "
                f"use --resume to continue an interrupted migration into it"
            )
        report = MigrationReport(source=source.display_url, target=target.display_url)
        for table in tables:
            report.copied += _copy_table(source, target, table, batch_size, on_table, on_progress)
        with target.engine.begin() as conn:
            _reset_sequences(conn, tables)
        with source.engine.connect() as s_conn, target.engine.connect() as t_conn:
            report.tables = [
                TableCount(t.name, _count(s_conn, t), _count(t_conn, t)) for t in tables
            ]
        report.seconds = round(time.perf_counter() - t0, 3)
        return report
    finally:
        target.close()


def _copy_table(
    source: Database,
    target: Database,
    table: Table,
    batch_size: int,
    on_table: Callable[[str, int], None] | None,
    on_progress: Callable[[int], None] | None,
) -> int:
    keys = list(table.primary_key.columns)
    if not keys:
        raise MigrateError(f"table {table.name} has no primary key; cannot copy it resumably")
    source_cols = {c["name"] for c in inspect(source.engine).get_columns(table.name)}
    cols = [c for c in table.columns if c.name in source_cols]
    with source.engine.connect() as conn:
        total = _count(conn, table)
    if on_table:
        on_table(table.name, total)
    copied = 0
    last: list[Any] | None = None
    while True:
        q = select(*cols).order_by(*keys).limit(batch_size)
        if last is not None:
            q = q.where(_after(table, last))
        with source.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        if not rows:
            return copied
        with target.engine.begin() as conn:
            _upsert(conn, table, rows)
        last = [rows[-1][k.name] for k in keys]
        copied += len(rows)
        if on_progress:
            on_progress(len(rows))


# ---------------------------------------------------------------------- index


@dataclass
class IndexComparison:
    """How a rebuilt index agrees with the one it replaces."""

    old_backend: str
    new_backend: str
    old_keyword: int
    new_keyword: int
    old_vectors: int
    new_vectors: int
    queries: list[str] = field(default_factory=list)
    overlaps: list[float] = field(default_factory=list)  # |top-k ∩ top-k| / k per query

    @property
    def mean_overlap(self) -> float:
        return sum(self.overlaps) / len(self.overlaps) if self.overlaps else 0.0


def rebuild_into(
    pw: Paperwire, index: SearchIndex, on_progress: Callable[[int], None] | None = None
) -> int:
    """Recreate ``index`` (any backend) from the store, committing batch by batch (a
    server-side index then never buffers the whole corpus)."""
    model = pw.model_name if pw.settings.semantic else None
    index.clear()
    n = 0
    for docs in pw.store.iter_index_docs(model):
        index.upsert(docs)
        index.commit()
        n += len(docs)
        if on_progress:
            on_progress(len(docs))
    return n


def sample_queries(pw: Paperwire, n: int = 20) -> list[KeywordQuery]:
    """``n`` keyword queries from the titles of papers spread over the store."""
    docs: list[IndexDoc] = [d for batch in pw.store.iter_index_docs(None) for d in batch]
    if not docs:
        return []
    step = max(1, len(docs) // n)
    picked = docs[::step][:n]
    return [KeywordQuery(terms=d.title.split()) for d in picked]


def compare_indexes(
    old: SearchIndex, new: SearchIndex, queries: Sequence[KeywordQuery], k: int = 10
) -> IndexComparison:
    """Counts of both indexes and the top-``k`` overlap of each keyword query."""
    cmp = IndexComparison(
        old_backend=old.name,
        new_backend=new.name,
        old_keyword=old.keyword_count(),
        new_keyword=new.keyword_count(),
        old_vectors=old.vector_count(),
        new_vectors=new.vector_count(),
    )
    for q in queries:
        a = old.keyword_search(q, SearchFilters(), k).ids
        b = new.keyword_search(q, SearchFilters(), k).ids
        cmp.queries.append(" ".join(q.terms))
        cmp.overlaps.append(len(set(a) & set(b)) / k)
    return cmp


def settings_with_index(settings: Settings, backend: str) -> Settings:
    """``settings`` with another index backend (same home, database and model)."""
    return settings.model_copy(update={"index": backend})
