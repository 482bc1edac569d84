"""Recommendations: a reader's "For you" feed and a collection's "more like this".

``recommend_for_user`` and ``recommend_for_collection`` return ``Picks`` (ids, scores,
reasons, best first); the web pages, JSON twins, Atom feeds, digests and alerts all call
them. Both work in three steps:

1. **seeds**: the papers liked (upvotes and collection papers since the last reset; a
   collection's own papers), and the "not interested" marks;
2. **candidates**: the nearest neighbours of each recent seed and of their centroid
   (``SearchIndex.vector_search_many``: all of them at once), plus the papers of the
   seeds' most frequent authors and of followed authors (the keyword index's author
   constraint), minus everything already seen;
3. **scoring**: ``search.recommend.score`` (the mix ``paperwire bench recommend``
   measures), recency counted from the data clock's today, then the reasons.

A reader who liked nothing yet gets the newest papers of the topics they picked (cold
start); a paused feed recommends nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from paperwire.core import Paperwire
from paperwire.index.base import KeywordQuery
from paperwire.models.papers import PaperCard
from paperwire.models.people import FollowKind
from paperwire.models.recommend import Reason, ReasonKind, Recommendation
from paperwire.models.search import SearchFilters, SortOrder
from paperwire.search.recommend import (
    AuthorTable,
    Profile,
    author_key,
    day_numbers,
    explain,
    score,
)
from paperwire.services.clock import data_clock
from paperwire.store.follows import FollowStore
from paperwire.store.recommend import Liked, RecStore

SEEDS = 30  # recent liked papers whose neighbours are candidates
NEIGHBOURS = 40  # per seed
TOP_AUTHORS = 5  # the seeds' most frequent authors whose papers are candidates
PER_AUTHOR = 20


@dataclass
class Picks:
    """Recommended papers, best first, with a score and the reasons for each."""

    ids: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    reasons: list[list[Reason]] = field(default_factory=list)
    cards: dict[str, PaperCard] = field(default_factory=dict)

    def items(self) -> list[Recommendation]:
        return [
            Recommendation(paper=self.cards[i], score=round(s, 4), reasons=r)
            for i, s, r in zip(self.ids, self.scores, self.reasons, strict=True)
            if i in self.cards
        ]


def rec_store(pw: Paperwire) -> RecStore:
    return RecStore(pw.store.db)


def followed_authors(pw: Paperwire, user_id: int) -> frozenset[str]:
    """Author names the reader follows (``author_key``s of the names as they were shown
    when followed)."""
    rows = FollowStore(pw.db).list_for(user_id)
    return frozenset(author_key(r.label or r.target) for r in rows if r.kind == FollowKind.author)


def _candidates(
    pw: Paperwire, seeds: Sequence[Liked], vectors: dict[str, np.ndarray], followed: frozenset[str]
) -> list[str]:
    """Neighbours of recent seeds and of their centroid, and papers of their most
    frequent (and of followed) authors, in first-found order."""
    found: dict[str, None] = {}
    none = SearchFilters()
    with_vectors = [s for s in seeds if s.arxiv_id in vectors][:SEEDS]
    if with_vectors:
        rows = np.stack([vectors[s.arxiv_id] for s in with_vectors]).astype(np.float32)
        mean = rows.mean(axis=0)
        mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
        # one pass for every seed's neighbours (``SearchIndex.vector_search_many``)
        for ranked in pw.index.vector_search_many([mean, *rows], none, NEIGHBOURS):
            for aid in ranked.ids:
                found.setdefault(aid)
    counts = Counter(author_key(a) for s in seeds for a in dict.fromkeys(s.authors))
    names = {author_key(a): a for s in seeds for a in s.authors}
    authors = [names[k] for k, n in counts.most_common(TOP_AUTHORS) if n >= 2 or len(seeds) < 3]
    for name in [*authors, *sorted(followed)]:
        for aid in pw.index.keyword_search(KeywordQuery(authors=[name]), none, PER_AUTHOR).ids:
            found.setdefault(aid)
    return list(found)


def picks_from(
    pw: Paperwire,
    seeds: Sequence[Liked],
    exclude: set[str],
    negatives: Sequence[str],
    followed: frozenset[str],
    limit: int,
) -> Picks:
    """The best ``limit`` candidates for what ``seeds`` liked (never one of
    ``exclude``), scored against ``negatives`` ("not interested") and ``followed``
    authors: steps 2 and 3 above, for a reader or a collection."""
    ids = [s.arxiv_id for s in seeds]
    vectors = pw.index.vectors_of([*ids, *negatives]) if pw.settings.semantic else {}
    pool = [c for c in _candidates(pw, seeds, vectors, followed) if c not in exclude]
    facts = rec_store(pw).candidate_facts(pool)
    pool = [c for c in pool if c in facts]  # visible papers only
    if not pool:
        return Picks()
    cand_vectors = pw.index.vectors_of(pool) if vectors else {}
    liked_rows = [s for s in seeds if s.arxiv_id in vectors]
    usable = bool(liked_rows) and all(a in cand_vectors for a in pool)
    neg = [vectors[n] for n in negatives if n in vectors]
    liked_vectors = [vectors[s.arxiv_id] for s in liked_rows]
    profile = Profile(
        vectors=np.stack(liked_vectors).astype(np.float32)
        if usable
        else np.zeros((0, 1), dtype=np.float32),
        weights=np.ones(len(liked_rows) if usable else len(seeds)),
        authors=[s.authors for s in (liked_rows if usable else seeds)],
        followed=followed,
        negatives=np.stack(neg).astype(np.float32) if neg and usable else None,
        reference_day=data_clock(pw).now.date(),
    )
    matrix = None
    if usable:
        matrix = np.stack([cand_vectors[a] for a in pool]).astype(np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    scored = score(
        profile,
        len(pool),
        AuthorTable.of([facts[a].authors for a in pool]),
        matrix,
        day_numbers([facts[a].published for a in pool]),
        np.array([facts[a].upvotes for a in pool], dtype=np.float64),
    )
    order = np.argsort(-scored.scores, kind="stable")[:limit]
    liked = liked_rows if usable else []
    # Cards for the picks alone; one hidden since its facts were read is left out.
    picks = Picks(cards=pw.store.cards([pool[int(row)] for row in order]))
    for row in order:
        aid = pool[int(row)]
        if aid not in picks.cards:
            continue
        reasons = explain(scored, int(row), [s.title for s in liked], [s.why for s in liked])
        picks.ids.append(aid)
        picks.scores.append(float(scored.scores[row]))
        picks.reasons.append([Reason(kind=ReasonKind(k), text=t) for k, t in reasons])
    return picks


def _topic_picks(pw: Paperwire, topics: Sequence[str], exclude: set[str], limit: int) -> Picks:
    """Cold start: the newest papers of each picked topic, interleaved."""
    lists = [
        (t, pw.store.browse(SearchFilters(category=t), SortOrder.newest, limit, 0)[1])
        for t in topics
    ]
    picks = Picks()
    for rank in range(limit):
        for topic, cards in lists:
            if rank < len(cards) and cards[rank].arxiv_id not in exclude:
                card = cards[rank]
                if card.arxiv_id in picks.cards or len(picks.ids) >= limit:
                    continue
                picks.cards[card.arxiv_id] = card
                picks.ids.append(card.arxiv_id)
                picks.scores.append(1.0 / (rank + 1))
                picks.reasons.append(
                    [Reason(kind=ReasonKind.topic, text=f"New in {topic}, a topic you picked")]
                )
    return picks


def recommend_for_user(pw: Paperwire, user_id: int, limit: int = 20) -> Picks:
    """The reader's "For you" picks (empty while paused)."""
    store = rec_store(pw)
    settings = store.settings(user_id)
    if settings.paused:
        return Picks()
    seeds = store.liked(user_id, since=settings.reset_at)
    exclude = store.seen(user_id)
    followed = followed_authors(pw, user_id)
    if not seeds and not followed:
        return _topic_picks(pw, settings.topics, exclude, limit)
    return picks_from(pw, seeds, exclude, store.not_interested(user_id), followed, limit)


def recommend_for_collection(
    pw: Paperwire, collection_id: int, limit: int = 20, exclude: Sequence[str] = ()
) -> Picks:
    """ "More like this collection": picks from the collection's papers alone (the caller
    decides who may see the collection)."""
    seeds = rec_store(pw).collection_papers(collection_id)
    if not seeds:
        return Picks()
    skip = {s.arxiv_id for s in seeds} | set(exclude)
    return picks_from(pw, seeds, skip, (), frozenset(), limit)


def liked_count(pw: Paperwire, user_id: int) -> int:
    settings = rec_store(pw).settings(user_id)
    return len(rec_store(pw).liked(user_id, since=settings.reset_at))
