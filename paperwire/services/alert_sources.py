"""Where an alert's papers come from: one ``AlertSource`` per alert kind.

Every channel (the email digest, the private feed, the webhook) asks ``alert_papers``,
so an alert brings the same papers wherever it is read. ``search`` matches by keyword
(an alert should only bring papers that contain what was asked for); ``follow`` brings
the new papers of an author, an organisation or a category; ``collection`` recommends
papers like the collection's newest ones (a reciprocal-rank vote over each one's similar
papers). A recommender or a follows table that knows better plugs in with
``register_source(kind, source)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from paperwire.core import Paperwire
from paperwire.models.alerts import AlertKind, follow_target
from paperwire.models.papers import PaperCard
from paperwire.models.people import FollowKind
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest, SortOrder
from paperwire.store.alerts import AlertRow
from paperwire.store.collections import CollectionStore

COLLECTION_SEEDS = 10  # the collection's newest papers that vote
RRF_K = 60


class AlertSource(Protocol):
    def __call__(
        self, pw: Paperwire, alert: AlertRow, since: dt.date, limit: int
    ) -> list[PaperCard]:
        """Up to ``limit`` papers for ``alert`` published on or after ``since``, best
        (or newest) first."""
        ...


def _keyword(pw: Paperwire, q: str, filters: SearchFilters, limit: int) -> list[PaperCard]:
    req = SearchRequest(
        q=q, filters=filters, sort=SortOrder.newest, mode=SearchMode.keyword, limit=limit
    )
    return [hit.paper for hit in pw.search.search(req).hits]


def _since(filters: SearchFilters, since: dt.date) -> SearchFilters:
    start = max(filters.date_from, since) if filters.date_from else since
    return filters.model_copy(update={"date_from": start})


def search_source(pw: Paperwire, alert: AlertRow, since: dt.date, limit: int) -> list[PaperCard]:
    """New papers matching the query and filters, newest first."""
    return _keyword(pw, alert.query, _since(alert.filters, since), limit)


def follow_source(pw: Paperwire, alert: AlertRow, since: dt.date, limit: int) -> list[PaperCard]:
    """New papers of the followed author, organisation or category, newest first."""
    if not alert.target:
        return []
    kind, name = follow_target(alert.target)
    if kind == FollowKind.org:
        return _keyword(pw, "", _since(SearchFilters(organization=name), since), limit)
    if kind == FollowKind.category:
        return _keyword(pw, "", _since(SearchFilters(category=name), since), limit)
    author = name.replace('"', " ")
    return _keyword(pw, f'author:"{author}"', _since(SearchFilters(), since), limit)


def collection_source(
    pw: Paperwire, alert: AlertRow, since: dt.date, limit: int
) -> list[PaperCard]:
    """Papers like the collection's newest ones that it does not hold yet."""
    if not alert.target or not alert.target.isdigit():
        return []
    found = CollectionStore(pw.db).view(int(alert.target), alert.user_id)
    if found is None:  # deleted, or made private by someone else
        return []
    held = {c.arxiv_id for c in found.papers}
    votes: dict[str, float] = {}
    filters = _since(SearchFilters(), since)
    for seed in found.papers[:COLLECTION_SEEDS]:
        ranking = pw.search.similar_ranking(seed.arxiv_id, filters, limit * 2)
        if ranking is None:
            continue
        for rank, arxiv_id in enumerate(ranking.ranked.ids):
            if arxiv_id not in held:
                votes[arxiv_id] = votes.get(arxiv_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    best = sorted(votes, key=lambda a: (-votes[a], a))[:limit]
    cards = pw.store.cards(best)
    return [cards[a] for a in best if a in cards]


_SOURCES: dict[AlertKind, AlertSource] = {
    AlertKind.search: search_source,
    AlertKind.follow: follow_source,
    AlertKind.collection: collection_source,
}


def register_source(kind: AlertKind, source: AlertSource) -> Callable[[], None]:
    """Make ``source`` bring ``kind``'s papers; returns what puts the previous one back."""
    previous = _SOURCES[kind]
    _SOURCES[kind] = source

    def restore() -> None:
        _SOURCES[kind] = previous

    return restore


def alert_papers(pw: Paperwire, alert: AlertRow, since: dt.date, limit: int) -> list[PaperCard]:
    """The alert's papers published on or after ``since`` (its kind's source)."""
    return _SOURCES[alert.kind](pw, alert, since, limit)
