"""``paper_authors`` and ``paper_categories`` (``0011_paper_authors``): author pages and
author and category follows look a name up in them, on SQLite and PostgreSQL. They
follow every write of a paper's lists (a re-ingest that adds or drops an author), match
names with spaces collapsed and case folded beyond ASCII (the JSON ``LIKE`` they
replaced matched neither), are filled for an install made before them, and the lookup
reads no more than the name's papers (no scan of ``papers``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, text

from paperwire.models.papers import PaperRecord
from paperwire.models.people import FollowKind, follow_key
from paperwire.store import Database, PaperStore
from paperwire.store.follows import FollowRow, FollowStore
from paperwire.store.people import PeopleStore
from paperwire.store.schema import Base

DAY = dt.datetime(2026, 5, 4, tzinfo=dt.UTC)


def _rec(
    aid: str, authors: list[str], source: str = "hf-daily", **kw: Any
) -> tuple[PaperRecord, str]:
    record = PaperRecord(
        arxiv_id=aid,
        source=source,
        title=f"Paper {aid}",
        abstract="An abstract.",
        authors=authors,
        published_at=DAY,
        **kw,
    )
    return record, f"test:{aid}"


def _as_stored_before_spacing(aid: str, authors: list[str], **kw: Any) -> tuple[PaperRecord, str]:
    """A record whose names keep their spacing as written, as installs made before
    records were spaced (``PaperRecord._spaced_names``) hold them: lookups still find
    those rows by the plain spelling."""
    record, location = _rec(aid, [], **kw)
    return record.model_copy(update={"authors": authors}), location


def _found(people: PeopleStore, name: str) -> list[str]:
    return [c.arxiv_id for c in people.by_author(name, 10)[2]]


def _followed(db: Database, name: str, kind: FollowKind = FollowKind.author) -> list[str]:
    row = FollowRow(kind, follow_key(kind, name), name, DAY)
    return sorted(c.arxiv_id for c in FollowStore(db).papers([row], 10)[0])


def test_the_author_page_and_follows_follow_a_reingest(db: Database) -> None:
    """A re-ingest from a more authoritative source adds one author and drops another:
    the page and a follow of each see it at once (same transaction, no catching up)."""
    store, people = PaperStore(db), PeopleStore(db)
    store.upsert([_rec("2605.00001", ["Ada Lovelace", "Bob Stone"], upvotes=5)])
    store.upsert([_rec("2605.00002", ["Ada Lovelace"], upvotes=1)])
    assert _found(people, "Ada Lovelace") == ["2605.00001", "2605.00002"]  # most upvoted first
    assert _found(people, "Carol Jones") == []

    store.upsert([_rec("2605.00001", ["Bob Stone", "Carol Jones"], source="arxiv")])
    assert _found(people, "Ada Lovelace") == ["2605.00002"]
    assert people.by_author("ada lovelace", 10)[1] == 1  # the total too
    assert _found(people, "Carol Jones") == ["2605.00001"]
    assert _followed(db, "Ada Lovelace") == ["2605.00002"]
    assert _followed(db, "Carol Jones") == ["2605.00001"]
    # a less authoritative record keeps the arXiv authors (the merging rule)
    store.upsert([_rec("2605.00001", ["Ada Lovelace"], upvotes=9)])
    assert _found(people, "Ada Lovelace") == ["2605.00002"]
    # categories are a union: a record adds one, and its follow finds the paper
    assert _followed(db, "cs.RO", FollowKind.category) == []
    store.upsert([_rec("2605.00002", ["Ada Lovelace"], categories=["cs.RO"])])
    assert _followed(db, "cs.ro", FollowKind.category) == ["2605.00002"]


def test_names_match_with_spaces_collapsed_and_case_folded(db: Database) -> None:
    """As ``follow_key`` says: a name written with two spaces, or an accented capital,
    is found by its plain spelling (and is shown as written on the papers)."""
    store, people = PaperStore(db), PeopleStore(db)
    store.upsert([_as_stored_before_spacing("2605.00003", ["Émile  Durand", "Zoë Roy"])])
    shown, total, cards = people.by_author("émile durand", 10)
    assert (shown, total, [c.arxiv_id for c in cards]) == ("Émile  Durand", 1, ["2605.00003"])
    assert _found(people, "  ZOË   ROY ") == ["2605.00003"]
    assert _followed(db, "Émile Durand") == ["2605.00003"]


def test_hidden_papers_and_pages(db: Database) -> None:
    """Hidden papers are neither counted nor shown; pages split the same order."""
    store, people = PaperStore(db), PeopleStore(db)
    store.upsert([_rec(f"2605.1000{n}", ["Pat Lee"], upvotes=n) for n in range(5)])
    with db.session() as s:
        s.execute(text("UPDATE papers SET hidden = :h WHERE arxiv_id = '2605.10004'"), {"h": True})
    assert people.by_author("Pat Lee", 2)[1] == 4
    assert [c.arxiv_id for c in people.by_author("Pat Lee", 2, 2)[2]] == [
        "2605.10001",
        "2605.10000",
    ]


def _plans(db: Database, call: Any) -> list[str]:
    """The query plan of every statement ``call`` runs (PostgreSQL: with sequential
    scans off, as on a big table, where a tiny one would be read whole)."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    plans = []
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if not sqlite:
            cursor.execute("SET enable_seqscan = off")
        for statement, params in seen:
            cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, params)
            plans.append(" | ".join(str(r[3] if sqlite else r[0]) for r in cursor.fetchall()))
        conn.rollback()
    return plans


def test_the_author_lookup_reads_no_table_scan(db: Database) -> None:
    """Every statement of an author page searches an index: none scans ``papers``
    (the JSON ``LIKE`` read every paper's authors: ~4 s at a million papers)."""
    store, people = PaperStore(db), PeopleStore(db)
    store.upsert([_rec(f"2605.2{n:04d}", [f"Author {n % 7}", "Ada Lovelace"]) for n in range(50)])
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    plans = _plans(db, lambda: people.by_author("Ada Lovelace", 10, 10))
    assert plans, "no statement seen"
    assert any("ix_paper_authors_key" in p for p in plans), plans
    scans = ("SCAN papers", "Seq Scan on papers")
    assert not [p for p in plans if any(s in p for s in scans)], plans


def test_the_migration_fills_the_table_for_an_install_made_before_it(db: Database) -> None:
    """Papers stored at ``0010_sort_walks`` (no ``paper_authors``) are found by their
    authors after the upgrade, which makes what the schema declares and undoes it."""
    store = PaperStore(db)
    store.upsert(
        [
            _as_stored_before_spacing(
                "2605.30001", ["Ada Lovelace", "Bob  Stone"], upvotes=2, categories=["cs.CL"]
            )
        ]
    )
    store.upsert([_rec("2605.30002", ["Bob Stone"], upvotes=1)])
    store.upsert([_rec("2605.30003", [])])
    db.migrate("0010_sort_walks", downgrade=True)
    assert not {"paper_authors", "paper_categories"} & set(inspect(db.engine).get_table_names())

    db.migrate("heads")
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "paper_authors" in repr(d) or "paper_categories" in repr(d)] == []
    people = PeopleStore(db)
    assert _found(people, "bob stone") == ["2605.30001", "2605.30002"]
    assert people.by_author("Bob Stone", 10)[0] == "Bob  Stone"  # as written, top paper
    assert _found(people, "Ada Lovelace") == ["2605.30001"]
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM paper_authors")).scalar() == 3
    assert _followed(db, "CS.cl", FollowKind.category) == ["2605.30001"]
