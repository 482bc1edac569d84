"""``SearchService``: query → matches → order → one page of cards with snippets.

* **Matches** (``search.matches``): keyword matches (the query's words by IDF weight,
  phrases, names, filters), semantic matches above the floor, typed ids. The total is
  their number, in every sort order; in relevance order a lower bound once the semantic
  matches pass ``semantic_bound`` (counted up to it) or a word of the query alone
  matches more than ``keyword_count_bound`` papers (not counted).
* **Relevance order** fuses a keyword (BM25) and a semantic (cosine) ranking of those
  matches: ``fusion`` ``weighted`` (default; ``search.weighted.weighted_fusion``,
  ``w · BM25/max BM25 + (1 − w) · cosine``, with the exact cosine of every keyword
  candidate) or ``rrf`` (reciprocal rank fusion, ``rrf_k``). BM25 ranks by every query
  word (a paper holding some of the words ranks by them), but only matches take part,
  so a paper holding one common word and far in meaning is not a result.
* **Newest / most upvoted** order every match, in the store (``PaperStore.sort_page``).
* **Similar papers** fuse vector neighbours with a "more like this" keyword query
  (``search.similar``) and page through the corpus.
* Relevance rankings and similar papers are **kept** while the content stays
  (``search.results``): a vote changes only the cards, which are read afresh.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

from paperwire.index.base import (
    KeywordQuery,
    MatchCount,
    Ranked,
    SearchIndex,
    Vector,
    takes_length,
)
from paperwire.index.embedding.base import Embedder
from paperwire.index.threads import SharedThreads, handed_or_here, taken_back
from paperwire.models.papers import PaperCard
from paperwire.models.search import (
    SearchFilters,
    SearchHit,
    SearchMode,
    SearchRequest,
    SearchResponse,
    SimilarHit,
    SimilarPage,
    SortOrder,
)
from paperwire.search.fusion import reciprocal_rank_fusion
from paperwire.search.matches import (
    DEFAULT_KEYWORD_COUNT_BOUND,
    DEFAULT_KEYWORD_COVERAGE,
    DEFAULT_PARTIAL_COVERAGE,
    DEFAULT_SEMANTIC_BOUND,
    DEFAULT_SEMANTIC_FLOOR,
    MAX_SEMANTIC_MATCHES,
    KeywordMembership,
    QueryMatches,
    WalkedMatches,
    constrained,
    partial_share,
    required_coverage,
)
from paperwire.search.query import ParsedQuery, parse_query
from paperwire.search.results import ContentGeneration, ResultCache
from paperwire.search.similar import (
    SALIENT_SHOWN,
    SIMILAR_KEYWORD_WEIGHT,
    mlt_text,
    more_like_this,
)
from paperwire.search.weighted import DEFAULT_KEYWORD_WEIGHT, weighted_fusion
from paperwire.store.papers import PaperStore
from paperwire.text.snippets import annotate, terms_present

log = logging.getLogger(__name__)

EmbedderProvider = Callable[[], Embedder | None]
Fusion = Literal["weighted", "rrf"]
FUSIONS: tuple[Fusion, ...] = ("weighted", "rrf")
# Deepest keyword ranking fetched to fill a page with matches (Milvus's top-k cap).
_MAX_KEYWORD_DEPTH = 16_384
# A ranking is kept only once the content has been still this long past the index's own
# refresh interval: the index follows the store's commits within that time.
_SETTLE = 1.0


# Threads for the searches of a request that run beside its own (a thread per concurrent
# request at most).
_SEARCHES = SharedThreads(8, "search")
# The most the words of a hybrid query may be held for its BM25 search to run beside the
# query embedding on an in-process index (``SearchService._brief_bm25``). Of the bench's
# queries, those held up to 400,000 times took at most 2.3 ms at 74.7k papers and 0.3-7.4
# ms at 1M (the embedding: ~3 ms); at 1M, those held 800,000-1.6M times a median 9 ms.
BESIDE_EMBEDDING_POSTINGS = 400_000
# How many times the semantic bound a relevance search lists of a phrase's holders
# (``_semantic_among_holders``) before it asks which of its best semantic matches hold it
# instead. The embedded index answers for the bound's 1,100 ids in 2-3 ms at 74.7k papers,
# the time it takes to list ~3,000-5,000 holders (~0.6-0.7 µs each, 74.7k and 1M papers).
# Why 8 and not ~4: a phrase listed in full costs what it cost before, so every phrase up
# to ~9,000 holders (all but the commonest at 74.7k papers) keeps its old cost, and one
# just past the reach pays at most the one question (~2-3 ms) more than a full listing.
HOLDERS_LISTED = 8


Hit = TypeVar("Hit", SearchHit, SimilarHit)


class SemanticSide(NamedTuple):
    """A query's semantic matches as a search lists them (best first), the query vector
    (None: no semantic side), whether they are the best of more than the bound, how
    many there are (up to the bound): more than listed where only the head was asked
    for (``SearchService._best_semantic``), and all of them (``ranked``'s ids, or in
    no order where only the head is ranked; None: more than the bound matched, or a
    semantic search ranked its head only)."""

    ranked: Ranked
    vector: Vector | None
    bounded: bool
    total: int
    members: Sequence[str] | None


_NO_SEMANTIC_SIDE = SemanticSide(Ranked(), None, False, 0, ())


class SemanticMembers:
    """Which papers are semantic matches, for a search that ranks only the best of them:
    those the side lists, or, where it lists none (more than the bound matched), any
    paper whose cosine reaches the floor, asked of the index once a paper. ``cosines``
    holds those known (the head's first), which weighted fusion reuses."""

    def __init__(self, index: SearchIndex, side: SemanticSide, floor: float) -> None:
        self._index, self._vector, self._floor = index, side.vector, floor
        self._listed = None if side.members is None else set(side.members)
        self.cosines: dict[str, float] = dict(zip(side.ranked.ids, side.ranked.scores, strict=True))

    def learn(self, ids: Sequence[str]) -> None:
        """Asks the index for the cosines of those of ``ids`` not known yet."""
        rest = [i for i in dict.fromkeys(ids) if i not in self.cosines]
        if rest and self._vector is not None:
            self.cosines.update(self._index.cosines_of(self._vector, rest))

    def among(self, ids: Sequence[str]) -> set[str]:
        if self._listed is not None:
            return self._listed.intersection(ids)
        self.learn(ids)
        return {i for i in ids if self.cosines.get(i, -math.inf) >= self._floor}

    def known(self) -> Collection[str]:
        """Every semantic match listed (all of them), else those found so far. Only the
        papers a search ranked are asked about: they pass its filters and hold its
        phrases and names, which a paper's cosine alone does not tell (a typed id is
        taken whatever the filters)."""
        if self._listed is not None:
            return self._listed
        return {i for i, s in self.cosines.items() if s >= self._floor}


def _recarded(hits: Sequence[Hit], cards: dict[str, PaperCard]) -> list[Hit]:
    """Kept hits with the current cards (counts move with every vote); a paper hidden
    since is left out."""
    return [
        h.model_copy(update={"paper": cards[h.paper.arxiv_id]})
        for h in hits
        if h.paper.arxiv_id in cards
    ]


def merge_filters(explicit: SearchFilters, inline: SearchFilters) -> SearchFilters:
    """Form/API filters win over the same filter typed into the query text."""
    data = inline.model_dump()
    data.update({k: v for k, v in explicit.model_dump().items() if v is not None})
    return SearchFilters(**data)


@dataclass(frozen=True)
class SimilarRanking:
    """Papers ranked by similarity to a seed: the "more like this" keyword ranking, the
    vector neighbours, and the ranking shown (both fused, else whichever exists), with
    the seed's salient words (for the "why" line)."""

    keyword: Ranked
    semantic: Ranked
    ranked: Ranked
    method: str | None
    salient: list[str]


class SearchService:
    def __init__(
        self,
        store: PaperStore,
        index: SearchIndex,
        embedder: EmbedderProvider,
        depth: int = 100,
        rrf_k: int = 60,
        refresh_interval: float = 2.0,
        fusion: Fusion = "weighted",
        keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
        semantic_floor: float = DEFAULT_SEMANTIC_FLOOR,
        keyword_coverage: float = DEFAULT_KEYWORD_COVERAGE,
        partial_coverage: float = DEFAULT_PARTIAL_COVERAGE,
        similar_keyword_weight: float = SIMILAR_KEYWORD_WEIGHT,
        result_seconds: float = 0.0,
        semantic_bound: int = DEFAULT_SEMANTIC_BOUND,
        keyword_count_bound: int = DEFAULT_KEYWORD_COUNT_BOUND,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}; known: {', '.join(FUSIONS)}")
        if not 0.0 <= keyword_weight <= 1.0:
            raise ValueError(f"keyword_weight must be in [0, 1], got {keyword_weight!r}")
        if not -1.0 <= semantic_floor <= 1.0:
            raise ValueError(f"semantic_floor must be in [-1, 1], got {semantic_floor!r}")
        for name, value in (("keyword", keyword_coverage), ("partial", partial_coverage)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}_coverage must be in [0, 1], got {value!r}")
        if semantic_bound < 1:
            raise ValueError(f"semantic_bound must be at least 1, got {semantic_bound!r}")
        self.semantic_bound = semantic_bound
        if keyword_count_bound < 1:
            raise ValueError(f"keyword_count_bound must be at least 1, got {keyword_count_bound!r}")
        self.keyword_count_bound = keyword_count_bound
        self.fusion: Fusion = fusion
        self.keyword_weight = keyword_weight
        self.semantic_floor = semantic_floor
        self.keyword_coverage = keyword_coverage
        self.partial_coverage = partial_coverage
        self.similar_keyword_weight = similar_keyword_weight
        self.store = store
        self.index = index
        self.embedder = embedder
        self.depth = depth
        self.rrf_k = rrf_k
        self.refresh_interval = refresh_interval
        self._refreshed_at = time.monotonic()
        self._content_told = False  # the index knows no content generation yet
        self._told_length = False  # warned that the index holds another model's vectors
        # rankings kept while the content stays (``search.results``); 0 s: never
        self.results = ResultCache(
            ContentGeneration(store.db), result_seconds, settle=refresh_interval + _SETTLE
        )

    def _maybe_refresh(self) -> None:
        """See what another process (a cron ingest, ``paperwire embed``) committed, and
        tell the index the content generation (one read of the data version): an index
        that keeps word holders renews them when it moved (not on votes)."""
        now = time.monotonic()
        due = now - self._refreshed_at >= self.refresh_interval
        if due:
            self._refreshed_at = now
            self.index.refresh()
        if due or not self._content_told:  # the first search tells it the generation too
            self._content_told = True
            generation, still_for = self.results.content.current()
            self.index.follow_content(generation, still_for >= self.results.settle)

    def semantic_ready(self) -> bool:
        return self._query_embedder() is not None

    def _query_embedder(self) -> Embedder | None:
        """The embedder whose query vectors the index can search; None where semantic
        search is off, no vector is indexed yet, or the index holds vectors of another
        length: a former model's, until `paperwire index --rebuild --clear` writes this
        one's (searches then find keyword matches alone, where they raised)."""
        if self.index.vector_count() == 0:
            return None
        embedder = self.embedder()
        if embedder is None:
            return None
        if not takes_length(self.index, embedder.dim):
            if not self._told_length:
                self._told_length = True
                log.warning(
                    "search by meaning is off: the index holds vectors of %s numbers, the "
                    "embedding model %s makes %d; `paperwire index --rebuild --clear` "
                    "writes this model's",
                    self.index.vector_dim(),
                    embedder.name,
                    embedder.dim,
                )
            return None
        return embedder

    # ------------------------------------------------------------------ search

    def search(self, req: SearchRequest) -> SearchResponse:
        t0 = time.perf_counter()
        if req.sort != SortOrder.relevance:  # the order moves with every vote
            return self._search(req, t0)
        return self.results.get_or_compute(
            "search " + req.model_dump_json(),
            lambda: self._search(req, t0),
            lambda kept: self._with_fresh_cards(kept, t0),
        )

    def _with_fresh_cards(self, kept: SearchResponse, t0: float) -> SearchResponse:
        """A kept response with today's cards (their counts move with every vote)."""
        cards = self.store.cards([h.paper.arxiv_id for h in kept.hits])
        took = round((time.perf_counter() - t0) * 1000, 2)
        return kept.model_copy(update={"hits": _recarded(kept.hits, cards), "took_ms": took})

    def _search(self, req: SearchRequest, t0: float) -> SearchResponse:
        self._maybe_refresh()
        parsed = parse_query(req.q, as_text=req.as_text)
        filters = merge_filters(req.filters, parsed.filters)

        if parsed.is_empty():
            sort = SortOrder.newest if req.sort == SortOrder.relevance else req.sort
            total, cards = self.store.browse(filters, sort, req.limit, req.offset)
            hits = [self._hit(c, 0.0, [], parsed, None) for c in cards]
            return self._response(req, parsed, filters, total, True, hits, False, t0)

        scores: dict[str, float] = {}
        if req.sort == SortOrder.relevance:
            matches, ranked = self._relevance(parsed, filters, req.mode, req.offset + req.limit)
            scores = dict(zip(ranked.ids, ranked.scores, strict=True))
            page = ranked.ids[req.offset : req.offset + req.limit]
        else:
            walked = self._walked(parsed, filters, req.mode, req.sort)
            visible = self.index.keyword_count()
            page = self.store.sort_page(walked, req.sort, req.limit, req.offset, visible)
            matches = walked.matches

        try:
            if matches.membership is not None:
                # Which of the page's semantic papers are keyword matches, for their
                # labels. Why here: fusion does not need it. A hybrid search asked about
                # its best 100 semantic matches before fusing, of which it shows ~28 (the
                # bench's queries at 74.7k papers: 100 ids took 0.83 ms p50 to ask about,
                # 30 ids 0.53). Not in a thread beside the cards and snippets: their
                # Python held the GIL, and the question mostly had not started by the
                # time they were done (docs/benchmarks.md, thirty-seventh session).
                matches.membership.among(page)
            # Cards (the expensive part: rows, teasers, links) for the requested page only.
            by_id, texts = self.store.cards_and_texts(page)
        except BaseException:
            if matches.counted is not None:
                matches.counted.settle()  # no count runs on past the error
            raise
        page = [i for i in page if i in by_id]  # hidden between the two reads
        hits = [
            self._hit(by_id[i], scores.get(i, 0.0), matches.labels(i), parsed, texts.get(i))
            for i in page
        ]
        semantic_used = matches.vector is not None
        total, exact = matches.total, matches.total_exact
        return self._response(req, parsed, filters, total, exact, hits, semantic_used, t0)

    def matches(
        self,
        parsed: ParsedQuery,
        filters: SearchFilters,
        mode: SearchMode,
        sort: SortOrder = SortOrder.relevance,
    ) -> QueryMatches:
        """Every match of ``parsed`` in ``sort`` order's sense, listed (see
        ``search.matches``; a relevance search lists only what it ranks: ``_relevance``)."""
        keyword: set[str] = set()
        if mode != SearchMode.semantic and not parsed.keyword.is_empty():
            coverage = self._coverage(parsed, sort)
            keyword = set(self.index.keyword_match_ids(parsed.keyword, filters, coverage))
        side = self._semantic_side(parsed, filters, mode)
        typed = self._typed(parsed)
        return QueryMatches(keyword=keyword, semantic=side.ranked, ids=typed, vector=side.vector)

    def _walked(
        self, parsed: ParsedQuery, filters: SearchFilters, mode: SearchMode, sort: SortOrder
    ) -> WalkedMatches:
        """The matches of a newest / most upvoted search, counted and asked about along
        the store's walk instead of listed (``search.matches.WalkedMatches``); the same
        set as ``matches`` lists (every semantic match, up to ``MAX_SEMANTIC_MATCHES``:
        the walk needs them all, as a set: ``_walk_side``).

        The keyword matches are counted first, in other threads beside the query
        embedding and the vector search. The exact total needs how many semantic
        matches are keyword matches too: where the keyword matches are no more than the
        semantic ones they are listed, which tells that and leaves the walk nothing to
        ask; else the semantic ones are asked about. Each costs the index about the same
        a paper (listed or asked about), so the fewer are read. Before, the semantic ones
        were always asked about once the vectors were searched: the bench's 100 titles
        at 74.7k papers have ~400 keyword matches and ~3,800 semantic ones at the median,
        and finding the overlap took 5.41 → 1.24 ms p50, 13.93 → 9.20 p95
        (docs/benchmarks.md, "Sorted searches: the semantic side as a set, the fewer
        side read")."""
        typed = self._typed(parsed)
        if mode == SearchMode.semantic or parsed.keyword.is_empty():
            side = self._walk_side(parsed, filters, mode)
            return WalkedMatches(
                side.ranked, typed, side.vector, None, set, side.bounded, side.members
            )
        query, coverage = parsed.keyword, self._coverage(parsed, sort)
        # typed ids asked first: the total counts a typed keyword match once
        counted = self.index.keyword_match_count(query, filters, coverage, among=typed)
        try:
            side = self._walk_side(parsed, filters, mode)
            semantic = side.members or ()  # (``_walk_side`` lists them all)
            if counted.total <= len(semantic):
                listed = set(self.index.keyword_match_ids(query, filters, coverage))
                return WalkedMatches(
                    side.ranked, typed, side.vector, None, lambda: listed, side.bounded, semantic
                )
        except BaseException:
            counted.settle()  # no count runs on past the error
            raise
        membership = KeywordMembership(
            self.index, query, filters, coverage, semantic, first=typed, counted=counted
        )
        return WalkedMatches(
            side.ranked,
            typed,
            side.vector,
            membership,
            lambda: set(self.index.keyword_match_ids(query, filters, coverage)),
            side.bounded,
            semantic,
        )

    def _walk_side(
        self, parsed: ParsedQuery, filters: SearchFilters, mode: SearchMode
    ) -> SemanticSide:
        """Every semantic match (up to ``MAX_SEMANTIC_MATCHES``) as ``members``, for a
        walk: listed in no order (``head`` 0: the index scores only the papers its
        bounds cannot place, ``SearchIndex.vector_range_head``), for the walk asks only
        whether a paper is one. Past the bound, the best ``MAX_SEMANTIC_MATCHES``, which
        the index then ranks (the walk takes those). At 74.7k papers, the bench's 100
        titles: 4.12 → 2.64 ms p50, 9.02 → 3.86 p95 (docs/benchmarks.md, "Sorted
        searches: the semantic side as a set, the fewer side read")."""
        bound = MAX_SEMANTIC_MATCHES
        side = self._semantic_side(parsed, filters, mode, bound, head=0)
        if side.members is None:  # past the bound: the best ``bound`` ranked
            best = Ranked(side.ranked.ids[:bound], side.ranked.scores[:bound])
            side = side._replace(ranked=best, members=best.ids)
        return side

    def _coverage(self, parsed: ParsedQuery, sort: SortOrder) -> float:
        if sort == SortOrder.relevance:
            return partial_share(parsed, self.partial_coverage)
        return required_coverage(parsed, self.keyword_coverage)

    def _semantic_side(
        self,
        parsed: ParsedQuery,
        filters: SearchFilters,
        mode: SearchMode,
        limit: int = MAX_SEMANTIC_MATCHES,
        head: int | None = None,
        after_embedding: Callable[[], object] | None = None,
    ) -> SemanticSide:
        """The semantic matches (the best ``limit``, or only the best ``head`` of them
        listed and the rest counted), the query vector, and whether there were more than
        ``limit`` (the listing is then the head of a longer one). ``after_embedding`` is
        called once the query is embedded, before the vectors are searched."""
        if mode != SearchMode.keyword and parsed.semantic_text.strip():
            # a hybrid search's keyword side counts the overlap; a walk takes them all
            members = mode == SearchMode.hybrid or head == 0
            found = self._semantic(parsed, filters, limit, head, after_embedding, members)
            if found is not None:
                return found
        return _NO_SEMANTIC_SIDE

    def _typed(self, parsed: ParsedQuery) -> list[str]:
        """The arXiv ids typed into the query that name a paper in the store (whatever
        the filters)."""
        typed = parsed.arxiv_ids
        if typed:
            present = self.store.sort_keys(typed)
            typed = [i for i in typed if i in present]
        return typed

    def _semantic(
        self,
        parsed: ParsedQuery,
        filters: SearchFilters,
        limit: int,
        head: int | None,
        after_embedding: Callable[[], object] | None = None,
        members: bool = False,
    ) -> SemanticSide | None:
        """The best ``limit`` semantic matches above the floor (holding the query's
        phrases and names; ``head``: only the best ``head`` of them listed, the others
        counted), the query vector and whether more were above the floor (one more is
        asked for to know); None when semantic search is off or not ready."""
        embedder = self._query_embedder()
        if embedder is None:
            return None
        # BM25 handed to another thread runs beside the embedding (``_relevance``)
        vec = embedder.encode_query(parsed.semantic_text, beside=after_embedding is not None)
        if after_embedding is not None:
            after_embedding()
        constraints = parsed.keyword.constraints()
        if not constraints.is_empty():
            return self._semantic_among_holders(vec, constraints, filters, limit)
        return self._best_semantic(vec, filters, limit, head, members)

    def _best_semantic(
        self,
        vec: Vector,
        filters: SearchFilters,
        limit: int,
        head: int | None = None,
        members: bool = False,
    ) -> SemanticSide:
        """The best ``limit`` papers above the floor, and whether more were above it (one
        more is asked of the index to know). ``head``: only the best ``head`` ranked, the
        others counted (``SearchIndex.vector_range_head``), and listed in no order where
        ``members`` asks and the bound is not passed."""
        floor = self.semantic_floor
        if head is not None and head < limit:
            best, count, listed = self.index.vector_range_head(
                vec, filters, floor, limit + 1, head, members=members
            )
            return SemanticSide(best, vec, count > limit, min(count, limit), listed)
        sem = self.index.vector_range(vec, filters, floor, limit + 1)
        bounded = len(sem.ids) > limit
        if bounded:
            sem = Ranked(sem.ids[:limit], sem.scores[:limit])
        return SemanticSide(sem, vec, bounded, len(sem.ids), None if bounded else sem.ids)

    def _semantic_among_holders(
        self, vec: Vector, constraints: KeywordQuery, filters: SearchFilters, limit: int
    ) -> SemanticSide:
        """``_semantic`` for a query with phrases or ``author:`` names: the papers that
        hold them (passing ``filters``), scored by cosine and kept above the floor.

        Why not the best ``limit`` semantic matches, then those holding the phrase: past
        the bound, the holders can rank below the best ``limit`` by meaning and would be
        lost (a quoted phrase is often rarer than its topic). The holders were read to
        check the constraint before too; up to ``semantic_bound`` of them are scored by
        the index (``cosines_of``). More holders than that (a common phrase or name) fall
        back to the best ``limit`` matches that hold them (a lower bound past ``limit``).

        A relevance search lists at most ``HOLDERS_LISTED`` times the bound of them
        (``up_to``); past that, it asks which of its best matches hold them instead:
        "large language models" at 1M papers has 269,733 holders, read one by one in 255
        of a hybrid search's 297 ms."""
        bound = min(limit, self.semantic_bound)
        coverage = self.keyword_coverage
        # Every holder listed, as before: by a newest or most upvoted walk (``limit`` past
        # the bound: up to 100,000 best matches, no cheaper to ask about), and where a
        # question works out the whole match set anyway (Milvus: ``members_by_id``).
        asks_by_id = limit <= self.semantic_bound and self.index.members_by_id
        reach = HOLDERS_LISTED * bound if asks_by_id else None
        holders = self.index.keyword_match_ids(constraints, filters, coverage, up_to=reach)
        if len(holders) <= bound:
            found = self.index.cosines_of(vec, holders)
            best = sorted(
                ((s, i) for i, s in found.items() if s >= self.semantic_floor),
                key=lambda pair: (-pair[0], pair[1]),
            )
            ranked = Ranked([i for _, i in best], [s for s, _ in best])
            return SemanticSide(ranked, vec, False, len(best), ranked.ids)
        side = self._best_semantic(vec, filters, limit)
        if reach is not None and len(holders) > reach:
            ids = side.ranked.ids  # no more than the bound
            held = set(self.index.keyword_match_members(constraints, filters, coverage, ids))
        else:
            held = set(holders)  # every holder, listed
        ranked = constrained(side.ranked, held)
        listed = None if side.bounded else ranked.ids
        return SemanticSide(ranked, vec, side.bounded, len(ranked.ids), listed)

    def _relevance(
        self, parsed: ParsedQuery, filters: SearchFilters, mode: SearchMode, need: int
    ) -> tuple[QueryMatches, Ranked]:
        """The matches (counted, not listed; the semantic ones up to ``semantic_bound``,
        past which the total is a lower bound) and at least the first ``need`` of them in
        relevance order."""
        # Fusion weighs the best ``self.depth`` of each side; one side alone is ranked
        # as deep as the page goes (BM25 finds its best 30 sooner than its best 100)
        # where a shallower ranking is the head of a deeper one (``prefix_rankings``).
        one_side = mode != SearchMode.hybrid and self.index.prefix_rankings
        depth = need if one_side else max(self.depth, need)
        use_keywords = mode != SearchMode.semantic and not parsed.keyword.is_empty()
        coverage = self._coverage(parsed, SortOrder.relevance)

        def hits(k: int) -> tuple[Ranked, frozenset[str]]:
            """BM25's best ``k``, and those of them known to match from their scores."""
            return self.index.keyword_search_with_members(parsed.keyword, filters, k, coverage)

        # A server-side index runs the BM25 search while this thread embeds the query, scans
        # the vectors and reads the words' holders (independent round trips).
        pending: Future[tuple[Ranked, frozenset[str]]] | None = None
        after_embedding: Callable[[], object] | None = None
        if use_keywords and self.index.parallel_reads:
            pending = _SEARCHES.pool().submit(hits, depth)
        elif use_keywords and mode == SearchMode.hybrid and self._brief_bm25(parsed):
            # An in-process index runs a short one beside the query embedding, and on
            # beside the vector search where it is not done by then: waiting for it left
            # a core idle (BM25 in its thread, slowed by the embedding's two, ended ~1 ms
            # after the embedding at 74.7k; hybrid p95 0.3-1.7 ms lower without the wait,
            # no change at 1M: docs/benchmarks.md, thirty-ninth session). The query is then
            # embedded on a thread fewer (``encode_query``'s ``beside``), leaving BM25 a core.
            pending = _SEARCHES.pool().submit(hits, depth)
            # Still queued (a crowd) once the query is embedded? Taken back: it runs after
            # the vectors, here.
            after_embedding = pending.cancel

        try:
            # A search ranks the best ``depth`` semantic matches and counts the rest (a
            # hybrid one lists them too, in no order, where it counts their overlap with
            # the keyword matches); typed ids take the whole list (the total counts one
            # once, semantic or not).
            head = None if parsed.arxiv_ids else depth
            side = self._semantic_side(
                parsed, filters, mode, self.semantic_bound, head, after_embedding
            )
            semantic, vector, bounded = side.ranked, side.vector, side.bounded
            typed = self._typed(parsed)
            semantic_members = SemanticMembers(self.index, side, self.semantic_floor)
            rankings: list[Ranked] = []
            best_bm25: float | None = None
            keyword: set[str] = set()
            counted: MatchCount | None = None
            membership: KeywordMembership | None = None
            if use_keywords:
                # Keyword matches alone (no semantic or typed ones to fuse or label): the
                # index may rank and count them in one pass.
                # (A BM25 search handed over is then left unread, and waited for below.)
                best = None
                if not semantic.ids and not typed:
                    best = self.index.keyword_best_matches(parsed.keyword, filters, coverage, depth)
                if best is not None:
                    ranking, counted = best
                    keyword = set(ranking.ids)
                else:
                    # Counted first, so the count runs beside the keyword search (an index
                    # that counts in other threads: 1M papers, keyword p95 125 -> 92 ms).
                    membership = KeywordMembership(
                        self.index,
                        parsed.keyword,
                        filters,
                        coverage,
                        # bounded: no overlap needed (nor listed)
                        semantic=() if bounded else side.members or (),
                        exact_up_to=self.keyword_count_bound,
                    )
                    typed_set = set(typed)

                    def held(found: tuple[Ranked, frozenset[str]]) -> Ranked:
                        membership.hold(found[1])  # matches known from their scores: not asked
                        return found[0]

                    try:
                        raw = held(handed_or_here(pending, hits, depth))
                        # One question for the ranked and the typed papers (BM25's are mostly
                        # known from their scores). The semantic ones only their labels need:
                        # asked about with the page (``_search``) where a question costs by
                        # its ids, here where it costs by the question (``members_by_id``).
                        ahead = [] if self.index.members_by_id else semantic.ids[:depth]
                        membership.among([*raw.ids, *ahead, *typed])
                        ranking, best_bm25 = self._keyword_ranking(
                            raw,
                            depth,
                            lambda ids: (
                                membership.among(ids)
                                | semantic_members.among(ids)
                                | typed_set.intersection(ids)
                            ),
                            lambda k: held(hits(k)),
                        )
                    except BaseException:
                        membership.counted.settle()  # no count runs on past the error
                        raise
                    keyword, counted = membership.known, membership.counted
                if ranking.ids:
                    rankings.append(ranking)
            if semantic.ids:
                rankings.append(Ranked(semantic.ids[:depth], semantic.scores[:depth]))
            fused = self._fuse(
                rankings, vector if len(rankings) == 2 else None, best_bm25, semantic_members
            )
            # a bounded total needs no overlap (none was asked)
            matches = QueryMatches(
                keyword,
                semantic,
                typed,
                vector,
                counted,
                not bounded,
                bounded,
                semantic_total=side.total if head is not None else None,
                # known for every paper ranked (asked about above, or fused)
                semantic_members=semantic_members.known(),
                membership=membership,
            )
            ids = list(fused.ids)
            scores = dict(zip(fused.ids, fused.scores, strict=True))
            # Ids typed into the query go first: the user asked for exactly that paper.
            top = max(scores.values(), default=0.0) + 1.0
            for aid in reversed(typed):
                if aid in scores:
                    ids.remove(aid)
                ids.insert(0, aid)
                scores[aid] = top
            return matches, Ranked(ids, [scores[i] for i in ids])
        finally:
            if pending is not None:
                # Read above, or not wanted (keyword matches alone took the one-pass
                # route; an error): either way no BM25 search runs on past this one.
                taken_back(pending)

    def _brief_bm25(self, parsed: ParsedQuery) -> bool:
        """Whether the query's BM25 search is short enough to run beside its embedding:
        its words held at most ``BESIDE_EMBEDDING_POSTINGS`` times.

        Why a gate: the keyword count starts after the page's BM25 search, and a BM25
        search handed over goes on beside the vector search where the embedding ends
        first. A long one (1M papers: 14 ms p50 for the bench's pasted titles, held 1.6M+
        times) kept the count waiting, where it used to run beside that search: hybrid
        p95 55 -> 67 ms; and beside the vector search, the two slowed each other down
        (BM25 p95 21-22 -> 35-36 ms). A brief one ends with the embedding or soon after."""
        if not parsed.semantic_text.strip() or not self.semantic_ready():
            return False  # no query to embed (semantic search off or not ready)
        postings = self.index.keyword_postings(parsed.keyword)
        return postings is not None and postings <= BESIDE_EMBEDDING_POSTINGS

    @staticmethod
    def _keyword_ranking(
        raw: Ranked,
        depth: int,
        matching: Callable[[list[str]], set[str]],
        search: Callable[[int], Ranked],
    ) -> tuple[Ranked, float | None]:
        """BM25 over every query word (``raw``: its first ``depth``), keeping matches
        only (``matching`` says which of some ids are), ``depth`` of them if there are
        that many (fetching deeper, ``search(k)``, while non-matches crowd the top); and
        the best BM25 score of all (matches are scored against it, as if nothing was
        dropped)."""
        k = depth
        while True:
            members = matching(raw.ids)
            keep = [(i, s) for i, s in zip(raw.ids, raw.scores, strict=True) if i in members]
            if len(keep) >= depth or len(raw) < k or k >= _MAX_KEYWORD_DEPTH:
                keep = keep[:depth]
                best = raw.scores[0] if raw.scores else None
                return Ranked([i for i, _ in keep], [s for _, s in keep]), best
            k = min(4 * k, _MAX_KEYWORD_DEPTH)
            raw = search(k)

    def _fuse(
        self,
        rankings: list[Ranked],
        query_vector: Vector | None,
        best_bm25: float | None = None,
        known: SemanticMembers | None = None,
    ) -> Ranked:
        if not rankings:
            return Ranked()
        if len(rankings) == 1:
            return rankings[0]
        if self.fusion == "rrf" or query_vector is None or len(rankings) != 2:
            return reciprocal_rank_fusion(rankings, k=self.rrf_k)
        keyword, semantic = rankings
        semantic = self._with_cosines(semantic, keyword.ids, query_vector, known)
        return weighted_fusion(keyword, semantic, self.keyword_weight, best_bm25)

    def _with_cosines(
        self,
        semantic: Ranked,
        ids: Sequence[str],
        query_vector: Vector,
        known: SemanticMembers | None = None,
    ) -> Ranked:
        """``semantic`` plus the exact cosine of each of ``ids`` it lacks (those with a
        vector), appended after it: weighted fusion then scores every keyword candidate
        by its own cosine instead of a guess. ``known``: cosines at hand (the semantic
        head's and those a search asked for); only the others are asked of the index, in
        one round trip and only if there are any."""
        have = set(semantic.ids)
        missing = [i for i in dict.fromkeys(ids) if i not in have]
        if not missing:
            return semantic
        if known is None:
            found = self.index.cosines_of(query_vector, missing)
        else:
            known.learn(missing)
            found = known.cosines
        extra = [i for i in missing if i in found]
        if not extra:
            return semantic
        return Ranked([*semantic.ids, *extra], [*semantic.scores, *(found[i] for i in extra)])

    def _hit(
        self,
        card: PaperCard,
        score: float,
        matched: list[str],
        parsed: ParsedQuery,
        text: tuple[str, str] | None,
    ) -> SearchHit:
        title, abstract = text if text else (card.title, card.teaser)
        title_parts, snippet, present = annotate(title, abstract, parsed.highlight_terms)
        return SearchHit(
            paper=card,
            score=score,
            matched_by=matched,
            matched_terms=present,
            title_parts=title_parts,
            snippet=snippet,
        )

    def _response(
        self,
        req: SearchRequest,
        parsed: ParsedQuery,
        filters: SearchFilters,
        total: int,
        total_exact: bool,
        hits: list[SearchHit],
        semantic_used: bool,
        t0: float,
    ) -> SearchResponse:
        return SearchResponse(
            query=req.q,
            mode=req.mode,
            sort=req.sort,
            filters=filters,
            total=total,
            total_relation="eq" if total_exact else "gte",
            offset=req.offset,
            limit=req.limit,
            semantic_used=semantic_used,
            took_ms=round((time.perf_counter() - t0) * 1000, 2),
            hits=hits,
            as_text=parsed.as_text,
        )

    # ------------------------------------------------------------------ similar papers

    def similar_ranking(
        self, arxiv_id: str, filters: SearchFilters, depth: int
    ) -> SimilarRanking | None:
        """Papers ranked by similarity to ``arxiv_id`` (itself excluded), at least
        ``depth`` deep when there are that many; None when the paper is unknown."""
        text = self.store.texts([arxiv_id]).get(arxiv_id)
        if not text:
            return None
        docs = max(1, self.index.keyword_count())
        mlt = more_like_this(self.index.term_statistics(mlt_text(*text)), docs)
        keyword = Ranked()
        if mlt.query.terms:
            found = self.index.keyword_search(mlt.query, filters, depth + 1)
            keep = [(i, s) for i, s in zip(found.ids, found.scores, strict=True) if i != arxiv_id]
            keyword = Ranked([i for i, _ in keep], [s for _, s in keep])
        vec = self.index.vector_of(arxiv_id)
        semantic = Ranked()
        if vec is not None:
            semantic = self.index.vector_search(vec, filters, depth, exclude=[arxiv_id])
        if keyword.ids and semantic.ids:
            assert vec is not None
            scored = self._with_cosines(semantic, keyword.ids, vec)
            fused = weighted_fusion(keyword, scored, self.similar_keyword_weight)
            return SimilarRanking(keyword, semantic, fused, "fused", mlt.words)
        if semantic.ids:
            return SimilarRanking(keyword, semantic, semantic, "semantic", mlt.words)
        if keyword.ids:
            return SimilarRanking(keyword, semantic, keyword, "keyword", mlt.words)
        return SimilarRanking(keyword, semantic, Ranked(), None, mlt.words)

    def similar_page(
        self,
        arxiv_id: str,
        filters: SearchFilters,
        limit: int,
        offset: int = 0,
        count: bool = True,
    ) -> SimilarPage | None:
        """One page of papers similar to ``arxiv_id``, with the key terms each shares
        with it; None when the paper is not in the store. ``count=False`` skips counting
        the whole corpus for ``total`` (then: the ranking's length), for a caller that
        shows the first hits only (a paper page)."""
        key = f"similar {arxiv_id} {filters.model_dump_json()} {limit} {offset} {count}"
        return self.results.get_or_compute(
            key,
            lambda: self._similar_page(arxiv_id, filters, limit, offset, count),
            self._similar_with_fresh_cards,
        )

    def _similar_with_fresh_cards(self, kept: SimilarPage | None) -> SimilarPage | None:
        if kept is None:
            return None
        cards = self.store.cards([kept.paper.arxiv_id, *(h.paper.arxiv_id for h in kept.hits)])
        seed = cards.get(kept.paper.arxiv_id)
        if seed is None:
            return None
        return kept.model_copy(update={"paper": seed, "hits": _recarded(kept.hits, cards)})

    def _similar_page(
        self, arxiv_id: str, filters: SearchFilters, limit: int, offset: int, count: bool
    ) -> SimilarPage | None:
        seed = self.store.cards([arxiv_id]).get(arxiv_id)
        if seed is None:
            return None
        self._maybe_refresh()
        depth = max(self.depth, offset + limit)
        found = self.similar_ranking(arxiv_id, filters, depth)
        ranking = found.ranked if found is not None else Ranked()
        scores = dict(zip(ranking.ids, ranking.scores, strict=True))
        ids = ranking.ids[offset : offset + limit]
        cards = self.store.cards(ids)
        texts = self.store.texts(ids)
        salient = found.salient if found is not None else []
        hits = [
            SimilarHit(
                paper=cards[i],
                score=scores[i],
                shared_terms=terms_present(list(texts.get(i, ("", ""))), salient)[:SALIENT_SHOWN],
            )
            for i in ids
            if i in cards
        ]
        total = len(ranking)
        if count and total >= depth:  # the ranking goes on through the rest of the corpus
            total = max(total, self.store.browse(filters, SortOrder.newest, 1, 0)[0] - 1)
        return SimilarPage(
            paper=seed,
            method=found.method if found is not None else None,
            filters=filters,
            total=total,
            offset=offset,
            limit=limit,
            hits=hits,
        )

    def similar(self, arxiv_id: str, k: int = 6) -> tuple[list[PaperCard], str | None]:
        """The first ``k`` similar papers and the method that ranked them."""
        page = self.similar_page(arxiv_id, SearchFilters(), k, count=False)
        if page is None:
            return [], None
        return [h.paper for h in page.hits], page.method
