"""What a query matches: the set a sort order pages through and its total counts.

A paper matches a query when it passes the filters, holds the quoted phrases and
``author:`` names, and (``QueryMatches``):

* it is a **keyword match**: it holds query words worth at least a share of the query's
  IDF weight (``SearchIndex.keyword_match_ids``; rare words weigh most, "the" nothing);
* or it is a **semantic match**: its cosine to the query is at least ``semantic_floor``;
* or its arXiv id was typed into the query (whatever the filters).

The share depends on the order, because only relevance order can put a partial match
below a full one:

* **newest / most upvoted** (and the search feeds) list every match in the store's order
  (``PaperStore.sort_page``), so a keyword match must hold (nearly) every word:
  ``required_coverage``. For a query of up to ``SHORT_QUERY_TERMS`` distinct content
  words that is ``keyword_coverage`` (0.75: all the words but a common one); longer
  queries need the weight of about as many words (``keyword_coverage ×
  SHORT_QUERY_TERMS / n``), and at least ``LONG_QUERY_COVERAGE`` of the total (as
  Elasticsearch's "more like this" asks 30% of its terms). "video diffusion" is not
  matched by "video" alone.
* **relevance** also ranks partial matches: papers holding words worth
  ``partial_coverage`` (0.15) of the weight of a query of up to ``SHORT_QUERY_TERMS``
  content words, proportionally less of a longer one (``partial_share``). BM25 and the
  cosine put them below the full matches unless they are closer in meaning; a rare word of
  the query is evidence ("CCL19 is absent within dLNs" finds CCL19 papers, a paragraph
  finds the papers sharing a rare word or two with it), common words alone are not
  ("zebra migration patterns in the serengeti" is not matched by "patterns", nor by
  "the").

Each order's total is the number of its matches. docs/benchmarks.md ("Match sets")
shows how the shares and the floor were chosen.

A relevance search counts its semantic matches up to ``semantic_bound`` (default
``DEFAULT_SEMANTIC_BOUND``: as deep as a page reaches), as Elasticsearch tracks total
hits up to a bound: its ranking uses the first ``depth`` (100) of them, and listing
every one of a broad query's tens of thousands only made its total exact (issue 16: most
of a search at 1M papers). Past the bound its total is a lower bound
(``QueryMatches.total_exact``; ``SearchResponse`` ``total_relation`` ``"gte"``): the
keyword matches (counted, not listed; or their own lower bound, below) or the bound,
whichever are more. The overlap of the two sides, which only an exact total needs, is
then not counted (a keyword search over the listed ids: ~10 ms of a hybrid search at
74.7k papers, ~27 ms at 1M). Newest / most upvoted list every semantic match (their walk
needs them), so their totals are exact. A relevance search without typed ids ranks only
the first ``depth`` and counts the others (``SearchIndex.vector_range_head``,
``QueryMatches.semantic_total``): the same page and total, without the index scoring
every match exactly. A hybrid one lists the others too, in no order, where they are
within the bound (its overlap count needs them as a set,
``QueryMatches.semantic_members``); past the bound it lists none, and a paper it ranks
is a semantic match by its own cosine (asked of the index for the papers BM25 ranks).

Its keyword matches are counted exactly unless an index knows, without counting, that
more than ``keyword_count_bound`` match (default ``DEFAULT_KEYWORD_COUNT_BOUND``, as
deep as a page reaches): the embedded index knows it for a query with no phrase or name
one of whose words matches on its own and is held by more papers than the bound (with
filters other than a date range: by more papers that pass them, counted first); where no
word does, also for one whose widest covers (the sets of its words that make a match)
are held by more papers than the bound (that pass its filters), counted first where that
is likely. It then says so instead (``MatchCount.exact`` False), and the total is again
a lower bound: those papers or the semantic ones (counted up to their bound), whichever
are more.
Counting a broad query's matches cost a 1M-paper search 6 ms p50 and 34 ms p95 of a core
(docs/benchmarks.md, issue 16).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from paperwire.config import (
    DEFAULT_KEYWORD_COUNT_BOUND,
    DEFAULT_KEYWORD_COVERAGE,
    DEFAULT_PARTIAL_COVERAGE,
    DEFAULT_SEMANTIC_BOUND,
    DEFAULT_SEMANTIC_FLOOR,
)
from paperwire.index.base import KeywordQuery, MatchCount, Ranked, SearchIndex, Vector
from paperwire.models.search import SearchFilters
from paperwire.search.query import ParsedQuery
from paperwire.text.snippets import STOP_WORDS
from paperwire.text.tokens import tokenize

__all__ = [
    "DEFAULT_KEYWORD_COUNT_BOUND",
    "DEFAULT_KEYWORD_COVERAGE",
    "DEFAULT_PARTIAL_COVERAGE",
    "DEFAULT_SEMANTIC_BOUND",
    "DEFAULT_SEMANTIC_FLOOR",
    "MAX_SEMANTIC_MATCHES",
    "KeywordMembership",
    "QueryMatches",
    "WalkedMatches",
    "constrained",
    "describe_match",
    "partial_share",
    "required_coverage",
]

MAX_SEMANTIC_MATCHES = 100_000
"""Semantic matches a newest / most upvoted search lists (its total is exact up to this
many); a relevance search lists ``semantic_bound``."""
SHORT_QUERY_TERMS = 4
"""Queries of up to this many distinct content words need ``keyword_coverage``."""
LONG_QUERY_COVERAGE = 0.3
"""The least share of a long query's weight a keyword match holds."""


def _content_words(parsed: ParsedQuery) -> int:
    words = [*parsed.keyword.terms, *(t for p in parsed.keyword.phrases for t in tokenize(p))]
    return len({w for w in words if w not in STOP_WORDS}) or len(set(words))


def required_coverage(parsed: ParsedQuery, keyword_coverage: float) -> float:
    """The share of the query's IDF weight a full keyword match holds (module docstring)."""
    n = _content_words(parsed)
    if n <= SHORT_QUERY_TERMS:
        return keyword_coverage
    long_share = min(keyword_coverage, LONG_QUERY_COVERAGE)
    return max(long_share, keyword_coverage * SHORT_QUERY_TERMS / n)


def partial_share(parsed: ParsedQuery, partial_coverage: float) -> float:
    """The share a partial match (relevance order) holds: ``partial_coverage`` for up to
    ``SHORT_QUERY_TERMS`` content words, shrinking with longer queries, so that a paper
    sharing a rare word or two with a paragraph still ranks."""
    n = _content_words(parsed)
    return partial_coverage * min(1.0, SHORT_QUERY_TERMS / max(1, n))


@dataclass
class QueryMatches:
    """The matches of one query (see the module docstring).

    ``keyword`` holds every keyword match when ``counted`` is None (the sorted orders
    list them all); in relevance order it holds only the keyword matches among the
    papers asked about (candidates and shown papers), ``counted.total`` counts them all
    and ``counted.overlap`` says how many semantic matches are keyword matches too,
    which is all an exact total needs (``counted`` may still be counting: ``total``
    waits for it, so read it last). ``semantic_bounded``: more semantic matches than the
    bound, so ``total`` is a lower bound. A relevance search past its bound does not
    count the overlap (``overlap_counted`` False): its total is then the keyword matches
    or the bound, whichever are more, and the typed ids that are neither."""

    keyword: set[str] = field(default_factory=set)
    semantic: Ranked = field(default_factory=Ranked)  # best first, all above the floor
    ids: list[str] = field(default_factory=list)  # typed ids that name a stored paper
    vector: Vector | None = None  # the query embedding (None: semantic side off)
    counted: MatchCount | None = None  # the keyword side's count (see the docstring)
    overlap_counted: bool = True
    semantic_bounded: bool = False
    # How many semantic matches there are (up to the bound) where ``semantic`` lists only
    # the best of them (a relevance search without typed ids); None: it lists them all.
    semantic_total: int | None = None
    # The semantic matches known where ``semantic`` lists only the best: all of them
    # (fewer than the bound), else those of the papers a search ranked; None: ``semantic``.
    semantic_members: Collection[str] | None = None
    # A relevance search's keyword questions (set where it ranked BM25's hits): asks
    # about the papers it ranked without asking (a hybrid search's semantic ones, which
    # need it for their labels only; in keyword mode every shown paper is asked about
    # already). ``labels`` of a paper are only right once it has been asked about
    # (``among``); ``members``, worked out when this is made, does not grow with it
    # (nothing reads it where this is set: ``total`` does only without ``counted``).
    membership: KeywordMembership | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        listed = self.semantic.ids if self.semantic_members is None else self.semantic_members
        self._semantic_set = set(listed)
        self.members: set[str] = self.keyword | self._semantic_set | set(self.ids)

    @property
    def total(self) -> int:
        """How many papers match: every keyword, semantic and typed-id match, once."""
        if self.counted is None:
            return len(self.members) if self.semantic_total is None else self.semantic_total
        typed_only = {i for i in self.ids if i not in self.keyword and i not in self._semantic_set}
        keyword_total = self.counted.total
        semantic = len(self._semantic_set) if self.semantic_total is None else self.semantic_total
        if not self.overlap_counted or not self.counted.exact:
            return max(keyword_total, semantic) + len(typed_only)
        return keyword_total + semantic - self.counted.overlap + len(typed_only)

    @property
    def total_exact(self) -> bool:
        """``total`` counts every match (else it is a lower bound: ``semantic_bounded``,
        or the keyword matches' count is one)."""
        return not self.semantic_bounded and (self.counted is None or self.counted.exact)

    def labels(self, arxiv_id: str) -> list[str]:
        """Why ``arxiv_id`` matched: ``id``, ``keyword``, ``semantic`` (in that order)."""
        out: list[str] = []
        if arxiv_id in self.ids:
            out.append("id")
        if arxiv_id in self.keyword:
            out.append("keyword")
        if arxiv_id in self._semantic_set:
            out.append("semantic")
        return out


class KeywordMembership:
    """Which papers are keyword matches, asked of the index only for the papers a
    relevance ranking or a walk reaches (``SearchIndex.keyword_match_members``), with
    the total and the overlap with the semantic matches counted once, when it is made
    (``counted``, which may still be counting: a search makes it before its keyword
    search, so an index that counts in other threads counts beside that search).

    ``counted``: the matches counted already, without the overlap (``first`` among the
    ids asked about; a newest / most upvoted search counts them beside its query
    embedding), which is then asked about ``semantic`` instead: the same overlap, and
    the semantic papers that are keyword matches known."""

    def __init__(
        self,
        index: SearchIndex,
        query: KeywordQuery,
        filters: SearchFilters,
        coverage: float,
        semantic: Sequence[str],
        first: Sequence[str] = (),
        exact_up_to: int | None = None,
        counted: MatchCount | None = None,
    ) -> None:
        self._index, self._query, self._filters = index, query, filters
        self._coverage = coverage
        asked = list(dict.fromkeys(first))
        if counted is None:
            found = index.keyword_match_count(
                query, filters, coverage, among=asked, overlap=semantic, exact_up_to=exact_up_to
            )
        else:
            shared = index.keyword_match_members(query, filters, coverage, semantic)
            found = MatchCount(
                counted.total, counted.members | shared, len(shared), exact=counted.exact
            )
            asked.extend(semantic)
        self.counted = found
        # grows in place as more is asked (a ``QueryMatches`` built on it sees it grow)
        self.known: set[str] = set(found.members)
        self._asked: set[str] = set(asked)

    def hold(self, ids: Collection[str]) -> None:
        """``ids`` are keyword matches, as the index knew without asking
        (``SearchIndex.keyword_search_with_members``): ``among`` asks nothing of them."""
        self.known.update(ids)
        self._asked.update(ids)

    def among(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that are keyword matches."""
        new = [i for i in dict.fromkeys(ids) if i not in self._asked]
        if new:
            found = self._index.keyword_match_members(
                self._query, self._filters, self._coverage, new
            )
            self.known.update(found)
            self._asked.update(new)
        return {i for i in ids if i in self.known}


class WalkedMatches:
    """The matches of a newest / most upvoted search as the store walks them in its
    order (a ``store.match_sort.MatchSet``): counted (their number is the total and
    sizes the walk), then asked about a batch of the walk at a time. A broad query
    ("model": 61k matches at 74.7k papers) so never lists its keyword matches, which
    cost the index 1–4 µs each (60–270 ms); asking costs it 2–5 µs a paper asked, so
    once the keyword matches are fewer than ``LIST_BELOW`` × a batch they are listed
    instead, and the walk looks them up. They are listed too when the store reads the
    matches by id (few matches: ``listed``). Without ``keyword`` (no keyword side, or
    its matches listed already: ``SearchService._walked``) they are ``listing()``'s.

    ``semantic`` is every semantic match (``semantic_members``, in no order, where it
    holds only the best few or none of them). ``matches`` holds the keyword matches met
    so far, which covers every paper the walk shows (for "matched by" labels), and the
    exact total."""

    LIST_BELOW = 4.0

    def __init__(
        self,
        semantic: Ranked,
        typed: list[str],
        vector: Vector | None,
        keyword: KeywordMembership | None,
        listing: Callable[[], set[str]],
        bounded: bool = False,
        semantic_members: Collection[str] | None = None,
    ) -> None:
        self._keyword = keyword  # None once listed (or without keyword matching)
        self._listing = listing
        known: set[str] = keyword.known if keyword is not None else listing()
        counted = keyword.counted if keyword is not None else None
        self.matches = QueryMatches(
            known,
            semantic,
            typed,
            vector,
            counted,
            semantic_bounded=bounded,
            semantic_members=semantic_members,
        )
        self._others = self.matches.members  # a copy: the semantic, typed and known ones

    def size(self) -> int:
        return self.matches.total

    def among(self, ids: Sequence[str]) -> AbstractSet[str]:
        keyword = self._keyword
        if keyword is not None and keyword.counted.total <= self.LIST_BELOW * len(ids):
            self._list()
            keyword = None
        if keyword is None:
            members = self.matches.members
            return {i for i in ids if i in members}
        held = keyword.among(ids)
        held.update(i for i in ids if i in self._others)
        return held

    def listed(self) -> Collection[str]:
        self._list()
        return self.matches.members

    def _list(self) -> None:
        if self._keyword is not None:
            m = self.matches
            self.matches = QueryMatches(
                self._listing(),
                m.semantic,
                m.ids,
                m.vector,
                semantic_bounded=m.semantic_bounded,
                semantic_members=m.semantic_members,
            )
            self._keyword = None


def constrained(semantic: Ranked, allowed: set[str] | None) -> Ranked:
    """``semantic`` without the papers outside ``allowed`` (None: no constraint)."""
    if allowed is None:
        return semantic
    keep = [(i, s) for i, s in zip(semantic.ids, semantic.scores, strict=True) if i in allowed]
    return Ranked([i for i, _ in keep], [s for _, s in keep])


MATCH_LABELS = {"id": "arXiv id", "keyword": "words", "semantic": "meaning"}
_TERMS_SHOWN = 5


def describe_match(matched_by: list[str], matched_terms: list[str]) -> str:
    """``words: video, diffusion + meaning``: why a result matched, for cards and the CLI.

    ``words`` names the query's words the paper holds (a keyword match); ``meaning`` says
    it is close to the query above the semantic floor; ``arXiv id`` that it was typed."""
    parts: list[str] = []
    for method in dict.fromkeys(matched_by):
        label = MATCH_LABELS.get(method, method)
        if method == "keyword" and matched_terms:
            shown = ", ".join(matched_terms[:_TERMS_SHOWN])
            label += f": {shown}{', …' if len(matched_terms) > _TERMS_SHOWN else ''}"
        parts.append(label)
    return " + ".join(parts)
