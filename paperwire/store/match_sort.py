"""One page of a search's whole match set in "newest" or "most upvoted" order.

A search's matches (every keyword match plus the semantic matches above the floor) can
be tens of thousands of papers at 74.7k; sorting all of them to show 20 would cost
4–5 µs a paper in SQL (``IN``/``json_each`` over the ids), and even listing them costs
the keyword index about 1 µs each (4 µs on a fresh snapshot). Instead the store is read
in the sort's own order, along an index in that order (``ix_papers_newest_sort``,
which covers the walk, ``ix_papers_upvotes_sort``: ~1 µs a row), and the match set is
asked which of each batch it holds (``MatchSet.among``), until the page is full: a
query matching half the corpus reads about twice the page and never lists its matches.
When the matches are few (so they are rare in that order), listing them and reading
their sort keys by id (``MatchSet.listed``) is cheaper; the cost model picks the cheaper
way from the match set's size and the walk gives up for it once it has read more rows
than that would cost.

Orders (ties broken so pages never overlap or skip):

* ``newest``: ``published_at`` descending, papers without a date last, then arXiv id
  descending (newer ids first);
* ``upvotes``: source + local votes descending, then as ``newest``.

The indexes match these orders column for column (migration ``0010_sort_walks``); an
``EXPLAIN`` of ``walk_statement`` shows the plan (``tests/store/test_sort_walks.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence, Set
from typing import Any, Protocol

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.sql import ColumnElement

from paperwire.models.search import SortOrder
from paperwire.store.db import Database
from paperwire.store.schema.papers import Paper

__all__ = ["SORT_KEYS_OF", "ListedMatches", "MatchSet", "sort_key", "sort_page", "walk_statement"]

_IN_CHUNK = 900  # ids per ``IN (…)``: below SQLite's oldest variable limit
# Listing a match and reading it by id costs about this many rows of the walk (each
# read along the sort's index and asked of the match set). By the rows' costs alone
# (~20 µs against ~1–2 µs) it would be 10–20, but a long walk also allocates every id it
# reads: over 61 queries × 2 modes × 2 sorts at 74.7k papers, 4 and 10 cost the same at
# the first page, 20 doubled the slowest deep pages, and 4 kept them under 100 ms
# (docs/benchmarks.md, "Sorted searches: covering walks").
_ID_COST = 4.0
# Visible papers' ``(arxiv_id, published_at, upvotes)`` by id; built once (a statement with
# hundreds of ids built anew cost ~1.5 ms of a ~10 ms read).
SORT_KEYS_OF = select(Paper.arxiv_id, Paper.published_at, Paper.upvotes).where(
    Paper.arxiv_id.in_(bindparam("ids", expanding=True)), Paper.hidden.is_(False)
)
_FIRST_BATCH = 256  # the least rows of the walk's first batch
_MAX_BATCH = 8192  # batches double up to this many rows


class MatchSet(Protocol):
    """A search's matches as the walk needs them: their number, which of a batch of
    ids are matches, and (only when there are few) all of them."""

    def size(self) -> int: ...

    def among(self, ids: Sequence[str]) -> Set[str]: ...

    def listed(self) -> Collection[str]: ...


class ListedMatches:
    """A match set already listed (a set of ids)."""

    def __init__(self, members: Set[str]) -> None:
        self._members = members

    def size(self) -> int:
        return len(self._members)

    def among(self, ids: Sequence[str]) -> Set[str]:
        return {i for i in ids if i in self._members}

    def listed(self) -> Collection[str]:
        return self._members


def _order(sort: SortOrder) -> list[ColumnElement[Any]]:
    newest: list[ColumnElement[Any]] = [
        Paper.published_at.desc().nulls_last(),
        Paper.arxiv_id.desc(),
    ]
    if sort == SortOrder.upvotes:
        votes: ColumnElement[Any] = (Paper.source_upvotes + Paper.local_upvotes).desc()
        return [votes, *newest]
    return newest


def walk_statement(sort: SortOrder) -> Select[Any]:
    """Every visible paper's id in ``sort`` order: the walk's query, which reads the
    sort's index in order with no sort step (its plan is tested)."""
    return select(Paper.arxiv_id).where(Paper.hidden.is_(False)).order_by(*_order(sort))


def sort_key(
    sort: SortOrder, arxiv_id: str, published: dt.datetime | None, upvotes: int
) -> tuple[Any, ...]:
    """The order of ``_order`` as a Python sort key (ascending sorts best first)."""
    when = published.timestamp() if published is not None else None
    newest = (when is None, -(when or 0.0), _Desc(arxiv_id))
    return (-upvotes, *newest) if sort == SortOrder.upvotes else newest


class _Desc:
    """Reverses string order inside a sort key."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def _firsts_statement(sort: SortOrder) -> Select[str, dt.datetime | None, int]:
    """The visible papers among ``:ids`` with their sort keys, the first ``:need`` of
    them in ``sort`` order (the database sorts them: ``_by_id``)."""
    # (typed, so that the statement renders with literal values: its plan's test)
    return SORT_KEYS_OF.order_by(*_order(sort)).limit(bindparam("need", type_=Integer))


_FIRSTS_OF = {sort: _firsts_statement(sort) for sort in (SortOrder.newest, SortOrder.upvotes)}


def _by_id(
    db: Database, members: Sequence[str], sort: SortOrder, limit: int, offset: int
) -> list[str]:
    """Read the members by id, the first ``offset + limit`` of each chunk in ``sort``
    order (the page's papers are among those), and merge those here (few members).
    Why the database orders each chunk: it sorts in C what Python would read and sort
    a paper at a time (5,000 members: 29.7 → 19.8 ms; 500: 4.9 → 3.1)."""
    need = offset + limit
    rows: list[tuple[str, dt.datetime | None, int]] = []
    with db.reading() as conn:
        for start in range(0, len(members), _IN_CHUNK):
            chunk = list(members[start : start + _IN_CHUNK])
            found = conn.execute(_FIRSTS_OF[sort], {"ids": chunk, "need": need}).all()
            rows.extend((str(a), p, int(u or 0)) for a, p, u in found)
    rows.sort(key=lambda r: sort_key(sort, r[0], r[1], r[2]))
    return [r[0] for r in rows[offset:need]]


def _walk(
    db: Database, members: MatchSet, sort: SortOrder, need: int, first: int, budget: float
) -> list[str] | None:
    """The first ``need`` members in ``sort`` order, read along the index in batches
    (``first`` rows, then twice as many each time) and asked of ``members``; None once
    more than ``budget`` rows are read without filling the page."""
    found: list[str] = []
    read = 0
    size = first
    with db.reading() as conn:
        result = conn.execution_options(stream_results=True).execute(walk_statement(sort))
        try:
            while True:
                batch = [str(a) for (a,) in result.fetchmany(size)]
                if batch:
                    held = members.among(batch)
                    found.extend(i for i in batch if i in held)
                    read += len(batch)
                if len(found) >= need or len(batch) < size:
                    return found[:need]
                if read > budget:  # the matches sit late in this order
                    return None
                size = min(2 * size, _MAX_BATCH)
        finally:
            result.close()


def sort_page(
    db: Database,
    members: MatchSet,
    sort: SortOrder,
    limit: int,
    offset: int,
    visible: int,
) -> list[str]:
    """Ids of the visible ``members`` at ``[offset, offset + limit)`` in ``sort`` order.

    ``visible`` is the number of visible papers in the store (for the cost model).
    """
    if sort == SortOrder.relevance:
        raise ValueError("relevance order is the search's own ranking, not a store sort")
    need = offset + limit
    size = members.size()
    if not size or limit <= 0:
        return []
    walk_rows = need * max(1, visible) / size  # rows read to meet ``need`` matches
    budget = _ID_COST * size
    if walk_rows <= budget:
        # a quarter more than the rows expected, so that one batch usually fills the page
        first = min(_MAX_BATCH, max(_FIRST_BATCH, int(walk_rows * 1.25)), int(budget) + 1)
        walked = _walk(db, members, sort, need, first, budget)
        if walked is not None:
            return walked[offset:need]
    return _by_id(db, sorted(members.listed()), sort, limit, offset)
