"""The index contract every backend implements (embedded today, distributed later).

Every search returns the same ``Ranked`` shape — ``(ids, scores)``, best first — so
the fusion code in ``paperwire.search`` never depends on a backend.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from paperwire.models.search import SearchFilters

Vector = npt.NDArray[np.float32]

Stamp = tuple[int, int, int]
"""What tells a file rewritten since it was read from the one read: inode, mtime, size."""


def file_stamp(path: Path) -> Stamp | None:
    """``path``'s ``Stamp``; None where there is no such file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class Ranked:
    """Search results: arXiv ids and their scores, best first (higher is better)."""

    ids: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class IndexDoc:
    """The searchable view of one paper. ``vector`` is None until it is embedded."""

    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    organization: str | None  # organisation slug (``PaperRecord.organization_id``) or name
    published: dt.date | None
    has_code: bool
    vector: Vector | None = None

    def fingerprint(self) -> str:
        """A short hash of every searchable field except the vector: an index stores it
        with the document, so ``paperwire doctor`` can tell a stale document from a
        current one by comparing it with the store's."""
        fields = [
            self.title,
            self.abstract,
            list(self.authors),
            list(self.categories),
            self.organization,
            self.published.isoformat() if self.published else None,
            bool(self.has_code),
        ]
        raw = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:16]

    def vector_fingerprint(self) -> str | None:
        """A short hash of the vector as given (before any normalisation); None without."""
        if self.vector is None:
            return None
        raw = np.ascontiguousarray(self.vector, dtype=np.float32).tobytes()
        return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:16]


@dataclass
class IndexInventory:
    """What an index holds, per arXiv id: ``keyword`` maps each keyword document to its
    ``IndexDoc.fingerprint()``; ``vectors`` maps each vector to
    ``"<fingerprint>:<vector_fingerprint>"``. A fingerprint is "" where the document was
    written by a paperwire without fingerprints (it counts as stale)."""

    keyword: dict[str, str] = field(default_factory=dict)
    vectors: dict[str, str] = field(default_factory=dict)


@dataclass
class KeywordQuery:
    """A parsed user query (see ``paperwire.search.query.parse_query``).

    ``terms`` are free-text words in query order, repeats kept (a backend should weight
    a term by its count, which matters for long "papers like this abstract" queries);
    ``phrases`` are quoted phrases that must match in title or abstract; ``authors``
    are author names that must match (``author:"Li Dong"``).
    """

    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.authors)

    def constraints(self) -> KeywordQuery:
        """Only the hard constraints (phrases and authors), without the free terms."""
        return KeywordQuery(phrases=list(self.phrases), authors=list(self.authors))


@dataclass(frozen=True)
class TermStat:
    """One analysed term of a text (``term_statistics``): ``word`` is its first surface
    form in the text (a backend analyses it back to ``term``), ``count`` its occurrences
    there, ``doc_freq`` the number of indexed documents holding it."""

    word: str
    term: str
    count: int
    doc_freq: int


# Lucene's English stop words: left out of BM25's query words and of a keyword match's
# coverage by both engines (``scored_tokens``). Milvus's ``english`` analyzer (the
# default) drops them from its index, after stemming; the embedded index keeps them for
# phrases and drops them from the query, as written.
BM25_STOP_WORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
     "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
     "these", "they", "this", "to", "was", "will", "with"]
)  # fmt: skip


def scored_tokens(tokens: Sequence[str], written: Sequence[str] | None = None) -> list[str]:
    """The analysed query ``tokens`` BM25 scores and a keyword match covers: all but the
    stop words (``BM25_STOP_WORDS``), in order, or all of them when every one is a stop
    word ("to be or not to be" still finds its papers where the index holds them).

    ``written``: the tokens as written (lowercased, not stemmed), one per token. A stop
    word is then known by how it is written, as Lucene's English analyzer knows it
    (before stemming): "willing" stays, though it stems to "will". Without them, by the
    token itself (Milvus's analyzer drops the stems).

    Why: a stop word is in nearly every paper, so its postings are as long as the index
    and its weight is nearly nil. At 1M papers the bench's pasted titles' BM25 top 30
    took 12.6 ms p50 with them and 7.2 without (docs/benchmarks.md).
    The quoted phrases and the title-phrase and author-name boosts keep every word."""
    said = tokens if written is None else written
    content = [t for t, w in zip(tokens, said, strict=True) if w not in BM25_STOP_WORDS]
    return content or list(tokens)


def bm25_idf(doc_freq: int, docs: int) -> float:
    """BM25's inverse document frequency (Lucene's, always positive)."""
    return math.log(1.0 + (docs - doc_freq + 0.5) / (doc_freq + 0.5))


def coverage_units(idfs: Sequence[float]) -> list[int]:
    """Each term's weight for ``keyword_match_ids``: its IDF in half units, rounded.

    A whole-number weight lets a backend express "documents holding terms worth at least
    ``min_coverage`` of the query's weight" as a minimum-should-match query (a term of
    weight ``u`` is ``u`` identical clauses). Words in almost every document (idf < 0.25:
    "the", "of") weigh 0; when every term weighs 0, each counts 1.
    """
    units = [max(0, round(2.0 * x)) for x in idfs]
    if units and not any(units):
        return [1] * len(units)
    return units


def required_units(units: Sequence[int], min_coverage: float) -> int:
    """How many of ``sum(units)`` a keyword match must reach (at least 1)."""
    return max(1, math.ceil(min_coverage * sum(units) - 1e-9))


MAX_COVERS = 64
"""The most covers ``minimal_covers`` lists before it gives up (see there)."""


def minimal_covers(
    units: Sequence[int], need: int, limit: int = MAX_COVERS
) -> list[list[int]] | None:
    """The coverage rule as an OR of ANDs: every minimal set of term positions whose
    ``units`` reach ``need`` (a document is a match exactly when it holds every term of
    one of them); None when there are more than ``limit``.

    Why: engines answer "holds one of these conjunctions" far faster than a weighted
    minimum-should-match (tantivy: 0.75 vs 8.3 ms p50 at 74.7k papers, docs/benchmarks.md
    "Latency"), and a query's sets are few, because any term weighing ``need`` alone is
    a set of its own. Terms are taken heaviest first, and a set ends with the term that
    reaches ``need``: removing any of its terms (each at least as heavy as that last one)
    falls short, so every set listed is minimal and none is listed twice."""
    order = sorted((i for i, u in enumerate(units) if u > 0), key=lambda i: (-units[i], i))
    rest = [0] * (len(order) + 1)  # rest[j]: the units of order[j:]
    for j in range(len(order) - 1, -1, -1):
        rest[j] = rest[j + 1] + units[order[j]]
    covers: list[list[int]] = []

    def extend(start: int, chosen: list[int], total: int) -> bool:
        for j in range(start, len(order)):
            if total + rest[j] < need:
                return True
            i = order[j]
            if total + units[i] >= need:
                covers.append([*chosen, i])
                if len(covers) > limit:
                    return False
            elif not extend(j + 1, [*chosen, i], total + units[i]):
                return False
        return True

    return covers if extend(0, [], 0) else None


def heaviest_short_of(units: Sequence[int], values: Sequence[float], need: int) -> float:
    """The largest sum of ``values`` over the sets of terms whose ``units`` fall short
    of ``need``: the most a document that is not a keyword match can score, when
    ``values`` bound each term's score (terms of 0 units are always in, they never
    cover anything).

    Why: a relevance search asked the index which of its BM25 hits are keyword matches,
    a pass over the matches' postings (tantivy finds a paper in an OR of words by
    refilling a window of every word's postings). A hit scoring above this bound holds
    terms worth ``need`` whatever its words are, so it needs no asking. A 0/1 knapsack
    over ``need - 1`` units, one numpy step a term."""
    cap = need - 1
    free = 0.0
    best = np.full(max(cap, 0) + 1, -np.inf)
    best[0] = 0.0  # best[c]: the most a set of exactly c units scores
    for u, v in zip(units, values, strict=True):
        if u <= 0:
            free += v
        elif u <= cap:
            best[u:] = np.maximum(best[u:], best[:-u] + v)  # the right side is read first
    return free + float(best.max())


CoverTree = dict[int, "CoverTree"]
"""Covers merged on their common beginnings (``cover_tree``): term position → the tree of
what must follow it; ``{}`` where a cover ends."""


def cover_tree(covers: Sequence[Sequence[int]]) -> CoverTree:
    """``covers`` (``minimal_covers``: heaviest term first) merged on their common
    beginnings, so that the covers are exactly the tree's paths from the root to a leaf.
    A cover never begins another (each is minimal), so no path stops at a fork.

    Why: an index answering the OR of ANDs reads a term's postings once for every cover
    that holds it, and a pasted title's covers share their terms (the 15 slowest bench
    titles at 74.7k papers: 8–35 covers of 10–17 words); factored as "term AND one of the
    rest", each branch reads them once and is led by its rarer side. tantivy counted the
    four slowest titles' matches among 74.7k papers in 4.6–6.2 ms instead of 6.3–9.8, and
    the first 40 bench queries' at 1M papers in p95 37.3 ms instead of 51.6
    (docs/benchmarks.md, "Keyword matches as a tree of covers")."""
    tree: CoverTree = {}
    for cover in covers:
        node = tree
        for i in cover:
            node = node.setdefault(i, {})
    return tree


def cosines(query: Vector, vectors: dict[str, Vector]) -> dict[str, float]:
    """The cosine of ``query`` to each of ``vectors`` (of the same length and a length
    above zero; others are left out); empty when ``query`` has no direction."""
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    q_norm = float(np.linalg.norm(q))
    if not np.isfinite(q_norm) or q_norm == 0.0:
        return {}
    found: dict[str, float] = {}
    for doc_id, vec in vectors.items():
        v = np.asarray(vec, dtype=np.float32).reshape(-1)
        if v.shape != q.shape:
            continue
        v_norm = float(np.linalg.norm(v))
        if not np.isfinite(v_norm) or v_norm == 0.0:
            continue
        found[doc_id] = float(np.dot(v, q)) / (v_norm * q_norm)
    return found


class Counted(NamedTuple):
    """A keyword count whose exactness a count decided (``MatchCount.deciding``)."""

    total: int
    exact: bool
    overlap: int


class RangeHead(NamedTuple):
    """A range search's best few, how many it holds, and (asked for, and where it is
    not cut at its ``limit``) every one of them: what ``SearchIndex.vector_range_head``
    returns."""

    ranked: Ranked  # the best ``head`` above the floor, best first
    size: int  # how many are above the floor (``limit`` at most)
    members: list[str] | None  # all of them, in no order (None: not asked for, or cut)

    @classmethod
    def of(cls, found: Ranked, head: int, limit: int, members: bool) -> RangeHead:
        """The head of a whole range search's answer ``found`` (best first); with a
        ``head`` of 0 where ``limit`` cuts it, all of ``found``, ranked
        (``SearchIndex.vector_range_head``)."""
        cut = len(found.ids) >= limit
        if head == 0 and cut:
            return cls(found, len(found.ids), None)
        listed = found.ids if members and not cut else None
        return cls(Ranked(found.ids[:head], found.scores[:head]), len(found.ids), listed)


class MatchCount:
    """What ``SearchIndex.keyword_match_count`` found without listing every match:
    ``total`` matches, those of the asked ids that are ``members``, and how many of a
    second set of ids ``overlap`` them.

    ``total`` and ``overlap`` may still be counting in other threads when an index
    returns (a ``Future``): reading one waits for it. A search reads them last, so an
    engine that lets go of the GIL counts while the search builds its page (issue 16).

    ``exact`` False: more than the count's ``exact_up_to`` match and ``total`` is a lower
    bound (the overlap was then not counted: an exact total is the only use of it).
    Where a count decides that too (``deciding``), reading ``exact`` waits for it."""

    __slots__ = ("_counts", "members")

    def __init__(
        self,
        total: int | Future[int],
        members: frozenset[str] = frozenset(),
        overlap: int | Future[int] = 0,
        *,
        exact: bool = True,
    ) -> None:
        self.members = members
        self._counts: tuple[int | Future[int], int | Future[int], bool] | Future[Counted]
        self._counts = (total, overlap, exact)

    @classmethod
    def deciding(cls, counted: Future[Counted], members: frozenset[str]) -> MatchCount:
        """Counts still running whose result also says whether the total is exact (a
        lower bound counted first, the exact count only where it does not pass the
        bound: ``index.keyword``'s filtered and covers' floors)."""
        made = cls(0, members)
        made._counts = counted
        return made

    @property
    def total(self) -> int:
        counts = self._counts
        return counts.result().total if isinstance(counts, Future) else _counted(counts[0])

    @property
    def overlap(self) -> int:
        counts = self._counts
        return counts.result().overlap if isinstance(counts, Future) else _counted(counts[1])

    @property
    def exact(self) -> bool:
        counts = self._counts
        return counts.result().exact if isinstance(counts, Future) else counts[2]

    def settle(self) -> None:
        """Wait for the counts still running, without raising their errors: a search
        that fails after it started counting lets no count run on past its error."""
        counts = self._counts
        pending: list[Future[Any]] = (
            [counts]
            if isinstance(counts, Future)
            else [c for c in counts[:2] if isinstance(c, Future)]
        )
        wait(pending)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatchCount):
            return NotImplemented
        mine = (self.total, self.members, self.overlap, self.exact)
        return mine == (other.total, other.members, other.overlap, other.exact)

    __hash__ = None  # type: ignore[assignment]  # equal by value, and mutable in time

    def __repr__(self) -> str:
        return (
            f"MatchCount(total={self.total}, members={set(self.members)}, "
            f"overlap={self.overlap}, exact={self.exact})"
        )


def _counted(value: int | Future[int]) -> int:
    return value if isinstance(value, int) else value.result()


@runtime_checkable
class SearchIndex(Protocol):
    """Keyword + vector search over ``IndexDoc``s with ``SearchFilters``."""

    name: str
    # Whether searches gain by running at once in two threads (a server-side index: each
    # is a round trip, the server works while this process waits). Every index's reads
    # are thread-safe: an in-process one runs a hybrid search's short BM25 search beside
    # the query embedding (``SearchService._brief_bm25``) and counts in other threads.
    parallel_reads: bool
    # Whether ``keyword_match_members`` costs by the ids asked about (the embedded index
    # seeks each id in tantivy) rather than by the question (Milvus works out the whole
    # match set from its kept holders each time): a hybrid search then asks about its
    # semantic papers for the page it shows only, in a question of its own.
    members_by_id: bool
    # Whether the best k of a keyword or semantic ranking are the first k of its best
    # k' > k (ties in one order): a search ranking one side alone then asks only as deep
    # as its page goes.
    prefix_rankings: bool

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        """Insert or replace documents. A doc whose ``vector`` is None keeps the vector
        already stored for its id (text updates must not drop embeddings). Stores each
        doc's fingerprints (``IndexDoc.fingerprint``) for ``inventory``."""

    def delete(self, arxiv_ids: Sequence[str]) -> None:
        """Remove documents. An id deleted and then upserted before ``commit`` comes out
        as that upsert says: without a vector when the doc has none."""

    def rollback(self) -> None:
        """Discard uncommitted upserts and deletes (and release any write lock)."""

    def commit(self) -> None:
        """Make all upserts/deletes durable and visible to searches, and release any
        lock the writes took (another process may write next)."""

    def keyword_search(self, query: KeywordQuery, filters: SearchFilters, k: int) -> Ranked:
        """BM25 over title + abstract (stemmed), phrases and authors as constraints."""

    def keyword_search_with_members(
        self, query: KeywordQuery, filters: SearchFilters, k: int, min_coverage: float
    ) -> tuple[Ranked, frozenset[str]]:
        """``keyword_search``'s hits, and those of them that are surely in
        ``keyword_match_ids(query, filters, min_coverage)``, known from their scores
        alone (an index that cannot tell answers none): a relevance search then asks
        ``keyword_match_members`` about the others only."""

    def vector_search(
        self, vector: Vector, filters: SearchFilters, k: int, exclude: Sequence[str] = ()
    ) -> Ranked:
        """Nearest neighbours by cosine similarity among documents that have vectors."""

    def vector_search_many(
        self, vectors: Sequence[Vector], filters: SearchFilters, k: int
    ) -> list[Ranked]:
        """``vector_search`` of each of ``vectors`` (same answers, in order), in one pass
        or round trip where the engine can: a reader's "For you" asks for the
        neighbours of up to 31 papers at once."""

    def vector_of(self, arxiv_id: str) -> Vector | None: ...

    def vectors_of(self, arxiv_ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of those of ``arxiv_ids`` that have one, read at once: a
        server-side index answers in one round trip instead of one per paper."""

    def cosines_of(self, vector: Vector, arxiv_ids: Sequence[str]) -> dict[str, float]:
        """The cosine of ``vector`` to the stored vector of each of ``arxiv_ids`` that has
        one (``cosines``'s answer on ``vectors_of``): hybrid search scores every keyword
        candidate by its own cosine, and a server-side index scores them where the
        vectors are, in one round trip, instead of sending every vector back."""

    def keyword_match_ids(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        also: Sequence[str] = (),
        up_to: int | None = None,
    ) -> list[str]:
        """Every document (unordered) that passes ``filters`` and the query's phrases and
        authors and either is a keyword match of its terms or is one of ``also``; with
        ``up_to``, only ``up_to + 1`` of them (any) where more match: the caller learns
        that there are more without each read (the 269,733 holders of "large language
        models" at 1M papers: 255 ms to list them all, 60 ms to list 1,101 of them).

        A keyword match holds terms whose ``coverage_units`` (IDF weights over the whole
        index) reach ``required_units(units, min_coverage)`` of the query's distinct
        analysed terms and phrase words: "zebra migration" is not matched by "migration"
        alone, "the" alone matches nothing once a rarer word is asked for. Without terms,
        every document passing the phrases and authors matches (none when there are
        neither)."""

    def keyword_match_count(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        among: Sequence[str] = (),
        overlap: Sequence[str] = (),
        exact_up_to: int | None = None,
    ) -> MatchCount:
        """``keyword_match_ids(query, filters, min_coverage)`` without listing it: its
        size, which of ``among`` are in it, and how many of ``overlap`` are. A relevance
        search needs only these (its total, and which candidates and shown papers
        match), and an engine counts far faster than it lists (issue 16: listing the
        40,000 matches of a broad query took most of a search).

        With ``exact_up_to``, an index that knows without counting every match (from
        frequencies, or a cheaper count of some of them) that more than that
        many match may return a lower bound above it instead (``MatchCount.exact``
        False, ``overlap`` not counted), as Elasticsearch tracks total hits up to
        10,000: a broad query's exact total cost a 1M-paper search up to 50 ms of a
        core. ``members`` are found either way."""

    def keyword_match_members(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        ids: Sequence[str],
    ) -> frozenset[str]:
        """Those of ``ids`` that are in ``keyword_match_ids(query, filters,
        min_coverage)``: ``keyword_match_count``'s members without its counts. A search
        counts its matches once, as early as it can (the count runs beside its keyword
        search), and asks about the papers its ranking and its walk reach afterwards."""

    def keyword_best_matches(
        self, query: KeywordQuery, filters: SearchFilters, min_coverage: float, k: int
    ) -> tuple[Ranked, MatchCount] | None:
        """The best ``k`` keyword matches (``keyword_match_ids``) as ``keyword_search``
        scores them, and the count of all of them, from one pass over the matches
        (``MatchCount.members``: the ``k`` ranked); None where the engine has no such
        pass, or where it would cost more than ranking and asking (many matches): the
        caller then counts with ``keyword_match_count``, ranks the hits of
        ``keyword_search_with_members`` and asks ``keyword_match_members`` about those
        not known to match."""

    def keyword_postings(self, query: KeywordQuery) -> int | None:
        """How many times the words ``keyword_search`` reads are held (the sum of their
        document frequencies, free text, phrases and names alike): a measure of that
        search's work, which a hybrid search weighs before running it beside the query
        embedding. None where the engine cannot tell without reading them (Milvus,
        whose searches run side by side anyway)."""

    def vector_range(
        self, vector: Vector, filters: SearchFilters, min_score: float, limit: int
    ) -> Ranked:
        """Every document with a cosine of at least ``min_score`` to ``vector`` (best
        first, at most ``limit``): the semantic matches of a query above the floor."""

    def vector_range_head(
        self,
        vector: Vector,
        filters: SearchFilters,
        min_score: float,
        limit: int,
        head: int,
        members: bool = False,
    ) -> RangeHead:
        """``vector_range``'s first ``head`` documents and its length: what a relevance
        search needs (it ranks its best few matches and counts the rest). An
        index may count the others without scoring each exactly. ``members``: also every
        id of the range, in no order, where it holds fewer than ``limit`` (a hybrid
        search counts how many of them are keyword matches too; it needs them as a set,
        not ranked). A ``head`` of 0 ranks none, for a newest / most upvoted walk asks
        only which papers are in the range; where ``limit`` cuts the range, it ranks the
        best ``limit`` instead (the walk takes those)."""

    def term_statistics(self, text: str) -> list[TermStat]:
        """The analysed terms of ``text`` with their counts there and their document
        frequencies in the index, in order of first occurrence (for "more like this")."""

    def keyword_count(self) -> int: ...

    def inventory(self) -> IndexInventory:
        """Every committed id with its fingerprints (see ``IndexInventory``)."""

    def vector_count(self) -> int: ...

    def vector_dim(self) -> int | None:
        """The length of the vectors the index holds, which every vector written to it
        and every query vector must have; None while it takes any (it holds none and
        was not made for one length)."""
        ...

    def warm(self) -> None:
        """Build now what searches would otherwise start building on first use (the
        embedded index's int8 copy or binary codes of its vectors): a benchmark times
        the steady state, not the first searches after a load."""

    def data_files(self) -> list[Path]:
        """The local files and folders its searches read from disk now, for
        ``store.resident`` to keep in memory (the embedded index: its keyword folder and
        its current vectors matrix); none for an index on a server."""
        ...

    def refresh(self) -> None:
        """Pick up changes committed by another process (e.g. a running ingest)."""

    def follow_content(self, generation: int, settled: bool) -> None:
        """Learn the store's content generation (``search.results.ContentGeneration``, as
        the search service reads it with each ``refresh``): a number that moves when
        papers' texts, metadata or vectors may have changed in any process, not on votes,
        comments, signups or follows (``store.papers.SEARCH_READS``).
        ``settled``: it has not moved for as long as the index takes to follow the store.
        An index that keeps what the content decides beyond its own commits (Milvus: the
        words' holders) renews it when the number moved; cheap when it did not."""

    def clear(self) -> None:
        """Drop every document (used by ``paperwire index --rebuild``)."""

    def close(self) -> None: ...


def takes_length(index: SearchIndex, dim: int) -> bool:
    """Whether ``index`` searches query vectors of ``dim`` numbers: it holds vectors of
    that length, or none yet. Otherwise they are a former model's of another length
    (until `paperwire index --rebuild --clear`), and search by meaning is off."""
    held = index.vector_dim()
    return held is None or held == dim
