"""One page of a search's whole match set in "newest" or "most upvoted" order.

A search's matches (every keyword match plus the semantic matches above the floor) can
be tens of thousands of papers at 74.7k; sorting all of them to show 20 would cost
4–5 µs a paper in SQL (``IN``/``json_each`` over the ids). Instead the store is read in
the sort's own order, along an index (``published_at``; ``ix_papers_upvotes_sort`` for
votes), and the matches are picked out until the page is full: a query matching half
the corpus reads about twice the page. When the matches are few (so they are rare in
that order), reading their sort keys by id and sorting them here is cheaper; the cost
model picks the cheaper way and the walk gives up for it once it has read more rows
than that would cost.

Orders (ties broken so pages never overlap or skip):

* ``newest``: ``published_at`` descending, papers without a date last, then arXiv id
  descending (newer ids first);
* ``upvotes``: source + local votes descending, then as ``newest``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence, Set
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from paperwire.models.search import SortOrder
from paperwire.store.db import Database
from paperwire.store.schema.papers import Paper

__all__ = ["sort_key", "sort_page"]

_IN_CHUNK = 900  # ids per ``IN (…)``: below SQLite's oldest variable limit
_ID_COST = 4.0  # reading one paper by id costs about this many rows of the walk
_WALK_BATCH = 512


def _order(sort: SortOrder) -> list[ColumnElement[Any]]:
    newest: list[ColumnElement[Any]] = [
        Paper.published_at.desc().nulls_last(),
        Paper.arxiv_id.desc(),
    ]
    if sort == SortOrder.upvotes:
        votes: ColumnElement[Any] = (Paper.source_upvotes + Paper.local_upvotes).desc()
        return [votes, *newest]
    return newest


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


def _by_id(
    db: Database, members: Sequence[str], sort: SortOrder, limit: int, offset: int
) -> list[str]:
    """Read the members' sort keys by id and sort them here (few members)."""
    rows: list[tuple[str, dt.datetime | None, int]] = []
    with db.session() as s:
        for start in range(0, len(members), _IN_CHUNK):
            chunk = members[start : start + _IN_CHUNK]
            found = s.execute(
                select(
                    Paper.arxiv_id, Paper.published_at, Paper.source_upvotes + Paper.local_upvotes
                ).where(Paper.arxiv_id.in_(chunk), Paper.hidden.is_(False))
            ).all()
            rows.extend((str(a), p, int(u or 0)) for a, p, u in found)
    rows.sort(key=lambda r: sort_key(sort, r[0], r[1], r[2]))
    return [r[0] for r in rows[offset : offset + limit]]


def sort_page(
    db: Database,
    members: Set[str],
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
    if not members or limit <= 0:
        return []
    density = len(members) / max(1, visible)
    walk_rows = need / max(density, 1e-9)
    budget = _ID_COST * len(members)
    if walk_rows > budget:
        return _by_id(db, sorted(members), sort, limit, offset)
    found: list[str] = []
    read = 0
    with db.session() as s:
        result = s.execute(
            select(Paper.arxiv_id)
            .where(Paper.hidden.is_(False))
            .order_by(*_order(sort))
            .execution_options(yield_per=_WALK_BATCH)
        )
        try:
            for batch in result.partitions(_WALK_BATCH):
                for (arxiv_id,) in batch:
                    if arxiv_id in members:
                        found.append(arxiv_id)
                read += len(batch)
                if len(found) >= need:
                    return found[offset:need]
                if read > budget:  # the matches sit late in this order: sort by id
                    break
            else:
                return found[offset:need]
        finally:
            result.close()
    return _by_id(db, sorted(members), sort, limit, offset)
