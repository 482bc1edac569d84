"""The walk of "newest" / "most upvoted" searches (``store.match_sort``), on SQLite and
PostgreSQL: it reads an index in its sort's exact order (no sort step), takes the walk
or the read by id as the match set's size says, and pages through ties, papers without a
date and hidden papers without overlap or gap, the same way on both paths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from collections.abc import Set as AbstractSet

import pytest
from sqlalchemy import text, update

from paperwire.models.papers import PaperRecord
from paperwire.models.search import SortOrder
from paperwire.store import PaperStore, match_sort
from paperwire.store.match_sort import ListedMatches, sort_key, walk_statement
from paperwire.store.schema.papers import Paper

SORTS = (SortOrder.newest, SortOrder.upvotes)
N = 300


@pytest.fixture
def filled(store: PaperStore) -> PaperStore:
    """``N`` papers in few distinct sort keys (ties everywhere): 5 dates and no date,
    4 vote counts, some local votes making the same sums, some hidden."""
    days = [dt.datetime(2026, 5, d, tzinfo=dt.UTC) for d in (1, 2, 3, 4, 5)]
    batch = []
    for n in range(N):
        published = None if n % 7 == 0 else days[n % 5]
        record = PaperRecord(
            arxiv_id=f"2605.{n:05d}",
            source="hf-daily",
            title=f"Paper {n}",
            abstract="An abstract.",
            published_at=published,
            upvotes=(n * 13) % 4,
        )
        batch.append((record, f"t{n}"))
    store.upsert(batch)
    with store.db.session() as s:
        s.execute(update(Paper).where(Paper.arxiv_id.like("%3")).values(hidden=True))
        # 1 local + 2 source votes ties with 3 source votes
        s.execute(
            update(Paper).where(Paper.arxiv_id.like("%5")).values(local_upvotes=1, source_upvotes=2)
        )
    return store


def _oracle(store: PaperStore, members: AbstractSet[str], sort: SortOrder) -> list[str]:
    """Every visible member in ``sort`` order, sorted here from all the rows."""
    with store.db.reading() as conn:
        rows = conn.execute(
            text(
                "SELECT arxiv_id, published_at, source_upvotes + local_upvotes FROM papers "
                "WHERE NOT hidden"
            )
        ).all()
    keys = {}
    for aid, published, votes in rows:
        if aid in members:
            when = published
            if isinstance(when, str):  # SQLite hands text to a raw query
                when = dt.datetime.fromisoformat(when)
            keys[aid] = sort_key(sort, aid, when, int(votes))
    return sorted(keys, key=keys.__getitem__)


class Recorded(ListedMatches):
    """A listed match set that says which way the walk read it."""

    def __init__(self, members: AbstractSet[str]) -> None:
        super().__init__(members)
        self.asked = 0
        self.was_listed = False

    def among(self, ids: Sequence[str]) -> AbstractSet[str]:
        self.asked += len(ids)
        return super().among(ids)

    def listed(self) -> Collection[str]:
        self.was_listed = True
        return super().listed()


def _pages(store: PaperStore, members: AbstractSet[str], sort: SortOrder, limit: int) -> list[str]:
    got: list[str] = []
    for offset in range(0, N + limit, limit):
        got += store.sort_page(members, sort, limit, offset)
    return got


@pytest.mark.parametrize("sort", SORTS)
def test_walk_reads_an_index_in_the_sorts_exact_order(store: PaperStore, sort: SortOrder) -> None:
    """The walk's query is answered by its index alone: no sort step (SQLite: no temp
    B-tree; PostgreSQL: no Sort node; before 0010_sort_walks "newest" sorted each day's
    papers by id, and on PostgreSQL both orders sorted: their indexes said NULLS FIRST)."""
    index = f"ix_papers_{sort.value}_sort"
    with store.db.reading() as conn:
        sql = str(walk_statement(sort).compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            plan = " | ".join(str(r[3]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "TEMP B-TREE" not in plan, plan
            assert f"USING INDEX {index}" in plan or f"COVERING INDEX {index}" in plan, plan
        else:
            # a tiny table: reading all of it and sorting is cheaper, unlike a real one
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            plan = " | ".join(str(r[0]) for r in conn.execute(text("EXPLAIN " + sql)))
            assert "Sort" not in plan, plan
            assert index in plan, plan


@pytest.mark.parametrize("sort", SORTS)
def test_the_read_by_id_reads_an_index_alone(filled: PaperStore, sort: SortOrder) -> None:
    """The read by id (``_by_id``: each chunk's first in the sort's order) finds its
    members and their sort keys in ``ix_papers_sort_keys`` without reading the papers'
    rows (0012_sort_keys_by_id; before, each member's row was read for its keys:
    SQLite ``USING INDEX ix_papers_arxiv_id``, PostgreSQL an index scan and the
    table's rows)."""
    # a few of the 300: a share that a table this small would rather walk in order
    members = sorted(f"2605.{n:05d}" for n in range(0, N, 60))
    statement = match_sort._FIRSTS_OF[sort]
    engine = filled.db.engine
    if engine.dialect.name == "postgresql":  # the visibility map an index-only scan reads
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE papers"))
    with filled.db.reading() as conn:
        bound = statement.params(ids=members, need=20)
        literal = {"literal_binds": True, "render_postcompile": True}
        sql = str(bound.compile(conn, compile_kwargs=literal))
        if conn.dialect.name == "sqlite":
            plan = " | ".join(str(r[3]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "COVERING INDEX ix_papers_sort_keys" in plan, plan
        else:
            # a tiny table: reading all of it is cheaper, unlike a real one
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            plan = " | ".join(str(r[0]) for r in conn.execute(text("EXPLAIN " + sql)))
            assert "Index Only Scan using ix_papers_sort_keys" in plan, plan
    assert (
        match_sort._by_id(filled.db, members, sort, 20, 0)
        == _oracle(filled, set(members), sort)[:20]
    )


@pytest.mark.parametrize("sort", SORTS)
def test_pages_through_ties_alike_on_the_walk_and_by_id(
    filled: PaperStore, sort: SortOrder
) -> None:
    every = {f"2605.{n:05d}" for n in range(N)}
    sets = {
        "every": every,  # dense: the walk
        "half": {a for a in every if int(a[-3:]) % 2},
        "few": set(sorted(every)[::29]),  # sparse: by id
        "oldest": {a for a in every if int(a[-3:]) % 7 == 0},  # no date: last in the walk
        "none": set(),
    }
    for name, members in sets.items():
        want = _oracle(filled, members, sort)
        for limit in (7, 20, 100):
            assert _pages(filled, members, sort, limit) == want, (name, limit)
    assert all(a[-1] != "3" for a in _oracle(filled, every, sort))  # hidden: never shown


@pytest.mark.parametrize("sort", SORTS)
def test_the_walk_or_the_read_by_id_as_the_size_says(filled: PaperStore, sort: SortOrder) -> None:
    """A dense match set is walked (asked about a batch at a time, never listed); a
    sparse one is listed and read by id without a walk; matches sitting late in the
    order make the walk give up for the read by id, with the same page."""
    every = {f"2605.{n:05d}" for n in range(N)}
    dense = Recorded(every)
    assert filled.sort_page(dense, sort, 20, 0, visible=N) == _oracle(filled, every, sort)[:20]
    assert dense.asked and not dense.was_listed
    few = set(sorted(every)[::100])
    sparse = Recorded(few)
    assert filled.sort_page(sparse, sort, 20, 0, visible=N) == _oracle(filled, few, sort)
    assert sparse.was_listed and not sparse.asked
    late = set(_oracle(filled, every, sort)[-12:])
    walked_first = Recorded(late)
    # claim a dense share so that the walk starts, then finds the matches late
    got = filled.sort_page(walked_first, sort, 5, 0, visible=len(late) * 2)
    assert got == _oracle(filled, late, sort)[:5]
    assert walked_first.asked and walked_first.was_listed


@pytest.mark.parametrize("sort", SORTS)
def test_the_read_by_id_merges_its_chunks_firsts(
    filled: PaperStore, sort: SortOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read by id, the members come in chunks of which the database returns the first
    ``offset + limit`` in the sort's order: merged, every page is the whole set's,
    through ties, papers without a date and hidden ones."""
    monkeypatch.setattr(match_sort, "_IN_CHUNK", 7)
    members = {f"2605.{n:05d}" for n in range(0, N, 3)}
    want = _oracle(filled, members, sort)
    for limit in (5, 20):
        pages: list[str] = []
        for offset in range(0, len(want) + limit, limit):
            pages += match_sort._by_id(filled.db, sorted(members), sort, limit, offset)
        assert pages == want, limit
