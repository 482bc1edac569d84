"""BM25 keyword search with tantivy (the keyword half of the embedded index).

Design notes (see ``shared/notes/measurements.md``):

* Title and abstract are indexed as ONE field, ``text`` (stemmed with tantivy's
  ``en_stem``): that scored best on SciFact; boosting the title hurt. They are added as
  two values of the field, so BM25 sees one field while a phrase cannot match across the
  title/abstract boundary.
* The query is built clause by clause instead of with tantivy's query parser: the parser
  drops repeated words, but a long "papers like this abstract" query ranks better when a
  term is weighted by how often it occurs. Terms are analysed with an analyzer built to
  be identical to ``en_stem`` (``simple`` tokenizer, drop tokens of 40+ bytes,
  lowercase, English Snowball stemmer), so query and index tokens always agree. Building
  queries from analysed tokens also means user input is never parsed as query syntax:
  punctuation, LaTeX and unbalanced quotes cannot raise.
* Filters are MUST clauses with a constant score of 0, so they restrict without changing
  the BM25 ranking.
* The free text's phrase boosts (an author's name, a title phrase) are searched apart
  from its terms and merged (``_best_with_boosts``): tantivy's block-max WAND skips
  postings only for a disjunction of plain terms.
* ``search_with_members`` knows the BM25 hits that score above what any non-match can
  score (``_sure_score``) to be keyword matches, so a relevance search asks about the
  others only.
* ``match_ids`` (every keyword match, for full sorts), ``match_count`` (their number
  and membership, for relevance order) and ``best_matches`` (the best of them by BM25
  and their number in one pass, for keyword matches alone under a date range) express
  the coverage rule of ``base.SearchIndex.keyword_match_ids`` as an OR of conjunctions
  (``base.minimal_covers``, merged on their common beginnings: ``base.cover_tree``,
  except under a date range), falling back for long queries to a minimum-should-match
  query where a term of weight ``u`` is ``u`` identical SHOULD clauses; either way
  tantivy weighs and counts in Rust. Ids of hits are read from the doc store once per
  index snapshot and kept (``_id_of``): a match set of 40k papers costs ~60 ms to read
  the first time, a few ms afterwards, which is why relevance order counts instead.
* Only one ``IndexWriter`` may exist per index across all processes. The writer is opened
  on the first write and released by the next :meth:`TantivyKeywordIndex.commit` (or
  ``close``), so a process holds the lock only while it writes a batch; a process that
  only searches never takes it. (Holding it for a server's lifetime made every CLI
  ingest fail while the site ran: issue 11.)
* Each document stores its ``IndexDoc.fingerprint()`` (field ``fp``), which
  ``inventory`` reports so ``paperwire doctor`` can find stale documents.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence, Sized
from concurrent.futures import Future, wait
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import tantivy

from paperwire.index.base import (
    Counted,
    CoverTree,
    IndexDoc,
    KeywordQuery,
    MatchCount,
    Ranked,
    TermStat,
    bm25_idf,
    cover_tree,
    coverage_units,
    file_stamp,
    heaviest_short_of,
    minimal_covers,
    required_units,
    scored_tokens,
)
from paperwire.index.threads import SharedThreads, handed_or_here, taken_back
from paperwire.models.search import SearchFilters

__all__ = ["KeywordIndexError", "KeywordIndexLockedError", "TantivyKeywordIndex"]

# How much stronger than one text term an author-name match of the whole query counts.
AUTHOR_NAME_BOOST = 3.0
# Longer free-text queries are not names; skip the author clause for them.
MAX_AUTHOR_NAME_TOKENS = 6
# Known-item search: a query whose words appear in a title as one phrase (in order, at
# most TITLE_PHRASE_SLOP words apart in total) adds that phrase's BM25 on the title field,
# × TITLE_PHRASE_BOOST: "Reason with Tools" ranks the paper titled "Teaching Language
# Models to Reason with Tools" first. Claims and abstracts never appear in a title, so
# they are unaffected (unlike a flat title boost). See docs/benchmarks.md (Known item).
TITLE_PHRASE_BOOST = 1.0
TITLE_PHRASE_SLOP = 2
TITLE_PHRASE_MAX_TOKENS = 40
# ``best_matches`` (rank and count the keyword matches in one pass) is taken under a date
# range while the query's words are held this many times in all: one pass scores every
# match, where BM25's block-max WAND skips most of a common word's postings and the count
# runs on the other core. At 1M papers, taken for every query the one pass made keyword
# p95 82 -> 113 ms (docs/benchmarks.md, fourteenth session); under a date range at 1M,
# taken for every query, 14.5 -> 21.5-22.0 ms (twenty-third session, a first bound).
ONE_PASS_POSTINGS = 400_000
# A plain query whose words are held more times than this searches its phrase holders on
# the other core (``_best_with_boosts``); below it the hand-over costs more than it saves,
# and a hybrid search's brief BM25 (``service.BESIDE_EMBEDDING_POSTINGS``, the same
# figure) would take a core from its query embedding.
BESIDE_POSTINGS = 400_000
# A query whose phrases may have more holders than this (the rarest word of each phrase
# held that many times in its field) has them ranked by a search that scores each phrase
# once, then the best re-scored exactly (``_holders_best``). Below it the second search
# costs more than it saves (1M bench papers: "large language models" 25.3 -> 16.2 ms,
# "text to speech" 0.73 -> 0.91; docs/benchmarks.md, forty-seventh session).
RESCORE_HOLDERS_FROM = 20_000
# How many holders past the k asked for the once-scored search ranks: the bench's 1M
# papers hold each listing 13 times, in ties, and the re-scored ones need a gap below k.
RESCORE_SLACK = 32
# ``compact``'s writer heap: tantivy writes a segment each time the heap fills, and 1 GB
# held the 1M bench papers' postings in one (`paperwire index --compact` peaked at 1.3
# GB RSS there); the arena grows as it is used, far less at 74.7k papers.
COMPACT_HEAP_BYTES = 1_000_000_000
# A filtered relevance search counts a lower bound first (``_filtered_floor``) with a
# word whose holders, at the filters' share of the papers, are this many times its count
# bound (where no word is, filtered or not, its widest covers where they are expected to
# be held this many times the bound: ``_covers_floor``). At the 10,000 bound, of the
# bench's 100 pasted titles at 1M papers in ``cs.cl``, 79 counted one first and 65
# passed the bound that way (the other 14 counted every match too); the least widely
# held word's counts took 1.6 / 3.3 ms (p50 / p95), the most widely held word's 2.5 /
# 18.1 and the exact count 11.1 / 44.2 (docs/benchmarks.md, twenty-ninth session). At
# the 1,100 bound the least widely held word fell short more often, and a search's CPU
# p95 was lower with the most widely held one (thirty-sixth session).
FLOOR_MARGIN = 2.0
# A relevance search whose words promise no lower bound (``_word_floor``; with filters,
# ``_filtered_floor``) and whose match query has more covers than this counts one first
# from its widest covers (``_covers_floor``): the papers (passing its filters) holding
# one of the ``FLOOR_COVERS`` covers whose rarest words are held most, where those covers
# are expected (their words and the filters taken as independent) to be held
# ``FLOOR_MARGIN`` times the bound. Of the bench's 100 queries at 74.7k papers with no
# filter, at the 10,000 bound, 60 counted every match; 41 of those have more than
# 10,000, and four covers counted past the bound in 37 of them (two, 26; six, 40); the
# gate sent 21 to be counted first and all 21 passed (docs/benchmarks.md, thirty-second
# session).
FLOOR_COVERS = 4
# Past ``MEMBERS_NESTED_UP_TO`` ids, which of them are keyword matches is asked by summing
# their words' coverage units (``_by_units``) where the match query has more covers than
# this (of it, at or below): of the bench's 100 pasted titles, ~130 ids each, p95 3.1 →
# 1.9 ms at 74.7k papers and 13.5 → 5.9 at 1M; with fewer covers the match query answers
# as fast or faster (p50 0.91 against 1.15 at 74.7k); docs/benchmarks.md, thirtieth
# session. At most ``base.MAX_COVERS``: the coverage rule lists its covers up to that
# many (``_CoverageRule.covers``).
MEMBERS_BY_UNITS_COVERS = 12
# Up to this many ids, their units are summed one word a level (``_by_units``), whatever
# the covers. p50 / p95 ms, the old forms → nested (``members.py``: the same ids read
# before both, the order alternating): the hybrid bench's page questions (~28 ids) at
# 74.7k papers 0.56 / 1.97 → 0.41 / 0.65, at 1M 1.28 / 4.82 → 0.55 / 0.98; random ids at
# 74.7k, 100: 0.64 / 1.90 → 0.70 / 0.99, 300: 1.75 / 4.07 → 1.97 / 3.01, 1,000: 3.94 /
# 6.52 → 5.62 / 6.93; at 1M, 300: 4.94 / 19.7 → 3.59 / 5.08, 1,000: 8.35 / 24.3 → 6.03 /
# 10.2 (docs/benchmarks.md, thirty-eighth session).
MEMBERS_NESTED_UP_TO = 300
# ... and up to this many words with units: a level each (a query of ~1,000 words nested
# so overflowed tantivy's stack), and tantivy-py copies the query built so far at each
# level. 28 random ids, the first n distinct words of 60 abstracts at 74.7k papers, p50 /
# p95 ms, one union → nested (``depth.py``): 16 words 0.97 / 1.48 → 0.36 / 0.46, 32: 1.73
# / 2.42 → 0.66 / 0.84, 40: 2.10 / 2.86 → 0.87 / 1.05, 48: 2.45 / 3.33 → 1.04 / 2.72, 64:
# 3.43 / 4.34 → 3.44 / 4.43; 40, as the title phrase's words.
MEMBERS_NESTED_WORDS_UP_TO = 40
# A match query with too many covers to list (a minimum-should-match over its words), or
# with many whose rarest words lead (``UNITS_SCAN_LEADS``), is counted and listed by
# summing its words' units instead (``_units_scan``): the papers
# holding one of its words, each scoring the units it holds, best first; those reaching
# the units needed are the matches. This many are read first, and all only where every
# one of those matches. Why: tantivy steps through a minimum-should-match one document
# at a time, where a union of scored terms fills windows of 4,096 documents: a pasted
# abstract's 76 words under a week's range counted 1,545 matches in ~100 ms at 74.7k
# papers, and a sorted search for it listed and counted its one match in ~100 ms each;
# the union ranked all 74.7k papers by units in 4.4 ms (5,000 read: 6.3).
UNITS_SCAN_FIRST = 1_000
# ... then ``UNITS_SCAN_GROWTH`` times as many each time the last read still matches,
# until one does not. Why not every hit at once: handing tantivy's ranked hits to
# Python costs by the hit, and a long title's words are held by most papers (a
# 12-word title sorted by date at 74.7k papers: 69,234 hits and 5,919 matches; the best
# 4,096 and 16,384 hits took 2.75 and 5.98 ms to read, all of them 18.41;
# docs/benchmarks.md, "Sorted searches").
UNITS_SCAN_GROWTH = 4
# ... unless the last read scores this many times the units needed: most of the rest match
# too, and are read at once (a pasted abstract's relevance share: the 1,000th paper at
# 71-93 units where 3-4 are needed, 74.6k of 74.7k papers matching; in steps it took 77
# ms p50 against 33; the bench's titles sorted by date: 1.0-1.7 times).
UNITS_SCAN_FAR = 2.0
# ... led by the holders of the rarest words one of which every match holds
# (``_necessary``) where they are at most this many papers: then also a match query of
# more than ``MEMBERS_BY_UNITS_COVERS`` covers. Of the bench's titles sorted by date at
# 74.7k papers with 17-64 covers, led: the covers' count 0.3-9.7 ms (a listing as much
# again), the scan 0.3-6.2; not led: 2.8-11.6 against 9.6-16.7 (docs/benchmarks.md).
UNITS_SCAN_LEADS = 20_000
# A snapshot keeps the matches of its last ``UNITS_KEPT`` such scans of up to this many
# matches (``_SnapshotMemo.scans``; ~50 bytes a match): a sorted search counts its
# matches, then lists them, which scanned twice (a pasted title sorted by date at 74.7k
# papers: 13 ms each).
UNITS_KEPT_UP_TO = 50_000
UNITS_KEPT = 8
# A count with no bound (a newest / most upvoted walk's, which lists its matches next
# where they are few) reads up to this many matches' addresses in the same pass and
# keeps them as a units scan's are kept: the match query then runs once, not twice (a
# 57-cover title sorted by date at 74.7k papers: 1,052 matches counted in ~7 ms, then
# listed in ~10 more). Past it the hits read are dropped (~0.2 µs each).
LISTED_BY_COUNT_UP_TO = 2_048
# ... or this share of the papers, where that is more (7,812 at 1M; 2,048 still at
# 74.7k, where 8,192 moved the sorted titles' p50 by +0.1-0.3 ms). Why: the match query
# a listing runs again costs more with the corpus (1M papers: a 30-cover title's 7,881
# matches, just past this reach, counted in 70 ms, then listed in 79 more), the
# addresses read and dropped do not. 40 titles sorted by date at 1M, mean ms, 2,048
# against 8,192 (twice) and 7,812: keyword 54.8 / 53.5 / 44.8 → 49.7 / 49.2 / 45.2, with
# cs.CL 52.4 / 55.4 / 48.3 → 50.0 / 50.6 / 44.0, hybrid 158.3 / 136.9 → 147.0 / 136.0,
# with cs.CL 127.7 / 114.1 → 117.4 / 106.4 (docs/benchmarks.md, fifty-fifth session).
LISTED_BY_COUNT_SHARE = 1 / 128
# A paper holding some words of a query scores the sum of their units (``_unit_words``):
# whole numbers, summed exactly in float32. It reaches the units needed where its score
# is at least the need less this margin.
_UNITS_MARGIN = 0.5
# Ids searched for up to this many are one term query each, more a term set (``_id_set``).
ID_TERMS_UP_TO = 256
# tantivy's BM25 ``K1 + 1``: a clause scores below ``boost × idf × _BM25_TF_MAX``.
_BM25_TF_MAX = 2.2
# Relative (and absolute) slack of ``_sure_score`` over float32 sums.
_SURE_MARGIN = 1e-3
# Bytes; tantivy's own ``en_stem`` / ``default`` tokenizers drop tokens of 40+ bytes.
_LONG_TOKEN_LIMIT = 40

_F_ID = "arxiv_id"
_F_TEXT = "text"
_F_TITLE = "title"
_F_AUTHORS = "authors"
_F_CATEGORIES = "categories"
_F_ORG = "organization"
_F_PUBLISHED = "published"
_F_HAS_CODE = "has_code"
_F_FP = "fp"

# Threads that count matches beside a search's own thread (``match_count``).
_COUNTERS = SharedThreads(4, "keyword-count")
# Threads that run a search's phrase-holder search beside its terms search
# (``_best_with_boosts``).
_BESIDE = SharedThreads(2, "keyword-beside")


class KeywordIndexError(RuntimeError):
    """The keyword index cannot be opened or written."""


class KeywordIndexLockedError(KeywordIndexError):
    """Another ``IndexWriter`` (in this or another process) holds the index lock."""


def _build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field(_F_ID, stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(_F_TEXT, tokenizer_name="en_stem", index_option="position")
    sb.add_text_field(_F_TITLE, tokenizer_name="en_stem", index_option="position")
    sb.add_text_field(_F_AUTHORS, tokenizer_name="default", index_option="position")
    sb.add_text_field(_F_CATEGORIES, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(_F_ORG, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field(_F_PUBLISHED, indexed=True, fast=True)
    sb.add_boolean_field(_F_HAS_CODE, indexed=True, fast=True)
    sb.add_text_field(_F_FP, stored=True, tokenizer_name="raw", index_option="basic")
    return sb.build()


def _analyzer(*, stem: bool) -> tantivy.TextAnalyzer:
    """The Python twin of tantivy's ``en_stem`` (stem=True) or ``default`` tokenizer."""
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(_LONG_TOKEN_LIMIT))
        .filter(tantivy.Filter.lowercase())
    )
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


def normalize_keyword(value: str) -> str:
    """How category and organisation values are stored and matched (case-insensitive)."""
    return value.strip().lower()


def _all_of(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    """Documents matching every one of ``queries`` (none: nothing)."""
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _required(
    constraints: Sequence[tantivy.Query], filtering: Sequence[tantivy.Query]
) -> list[tantivy.Query]:
    """The MUST clauses beside a query's words: its quoted phrases and names
    (``_constraint_clauses``) as one conjunction, then its filters (scoring 0).

    Why one: tantivy adds up a conjunction's scores in the order of its clauses' costs,
    which differ between ``build_query`` and its holders' twin (``_held``) and from one
    segment to the next. With the words' score and two phrases side by side, the two
    queries summed three numbers in different orders, and a paper's scores differed in
    the last bit (near-ties then ordered otherwise). Grouped, each adds two (the words'
    and the phrases', summed alike in both), which any order sums alike."""
    return [*([_all_of(constraints)] if constraints else []), *filtering]


def _optional_a_level(base: tantivy.Query, optional: Sequence[tantivy.Query]) -> tantivy.Query:
    """``base``'s documents, each scoring ``base``'s score plus those of the ``optional``
    clauses it holds, nested one clause a level (``((base + a) + b)``…): tantivy seeks
    a lone optional clause at ``base``'s documents, where several optional clauses at one
    level are a union that reads every clause's postings in windows of 4,096 documents
    (``TantivyKeywordIndex._held``, ``_by_units``). Each level is a frame of tantivy's
    stack: callers bound how many clauses they nest."""
    found = base
    for clause in optional:
        found = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, found), (tantivy.Occur.Should, clause)]
        )
    return found


def _any_of(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    """Documents matching one of ``queries`` (none: nothing)."""
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _counted(found: tantivy.SearchResult) -> int:
    """The count of a search run with ``count=True``."""
    return int(found.count or 0)  # type: ignore[attr-defined]  # missing from the stub


def _coverage_words(query: KeywordQuery) -> list[str]:
    """The words whose weight a keyword match must cover. Phrase words count too:
    "bootstrapping" extraction patterns asks for a paper about extraction patterns that
    says "bootstrapping"."""
    return [*query.terms, *query.phrases] if query.terms else []


def _coverage_weights(
    searcher: tantivy.Searcher, tokens: Sequence[str], min_coverage: float
) -> tuple[list[int], list[int], int]:
    """The coverage rule of ``tokens`` (distinct): each one's document frequency, its
    weight in units (``base.coverage_units``) and the units a match must reach. One
    definition for the match query and the score bound (``_sure_score``): were they to
    differ, the bound would stop being one."""
    docs = max(1, searcher.num_docs)
    freqs = [searcher.doc_freq(_F_TEXT, t) for t in tokens]
    units = coverage_units([bm25_idf(f, docs) for f in freqs])
    return freqs, units, required_units(units, min_coverage)


class _Boost(NamedTuple):
    """A phrase that adds to a paper's score when it holds it (``_phrase_boosts``): its
    field, its words (which bound its holders: ``_holders_bound``), its boosted query."""

    field: str
    words: list[str]
    query: tantivy.Query


class _CoverageRule(NamedTuple):
    """A query's coverage rule at one coverage (``TantivyKeywordIndex._coverage_rule``):
    its distinct coverage tokens with ``_coverage_weights`` of them, and the covers they
    make. Worked out once a query in a snapshot (``_SnapshotMemo``) and handed to
    everything that applies it (the match query, the lower bounds, the members, the sure
    score), so a search reads each word's frequency once and lists the covers once.
    Shared between threads: never changed in place."""

    tokens: list[str]
    freqs: list[int]
    units: list[int]
    need: int
    covers: list[list[int]] | None  # ``minimal_covers(units, need)``: None past MAX_COVERS


def _matches_alone(rule: _CoverageRule) -> list[tuple[int, str]]:
    """``(document frequency, token)`` of the rule's tokens that are a keyword match on
    their own (their weight reaches the coverage): every paper holding one is a match,
    so its holders are a lower bound of the matches (``_word_floor``,
    ``_filtered_floor``)."""
    return [
        (f, t)
        for f, u, t in zip(rule.freqs, rule.units, rule.tokens, strict=True)
        if u >= rule.need
    ]


class _UnitsScan(NamedTuple):
    """A match query listed by its words' units (``TantivyKeywordIndex._units_scan``):
    ``query`` scores each paper that can match the units it holds; those reaching
    ``need`` are the matches, at most ``reach`` papers are hits. ``key``: the search's
    query, coverage and filters (``_SnapshotMemo.scans``)."""

    query: tantivy.Query
    need: int
    reach: int
    key: tuple[_QueryKey, float, Any]


def _size_of(found: Callable[[], Sized]) -> int:
    """How many ``found()`` lists (a count handed to another thread)."""
    return len(found())


def _necessary(rule: _CoverageRule) -> list[int]:
    """The rule's rarest tokens (their positions), as few as will do, one of which every
    match holds: a paper holding none of them misses more units than the rule spares
    (the units of all its tokens less those it needs)."""
    spare = sum(rule.units) - rule.need
    found: list[int] = []
    missed = 0
    for i in sorted(range(len(rule.tokens)), key=lambda i: rule.freqs[i]):
        if rule.units[i] <= 0:
            continue
        found.append(i)
        missed += rule.units[i]
        if missed > spare:
            break
    return found


_T = TypeVar("_T")
_QueryKey = tuple[tuple[str, ...], ...]
_MEMO_ENTRIES = 256
"""Entries a snapshot's memo keeps of each kind (``_SnapshotMemo``); past it, that
kind starts over."""


def _query_key(query: KeywordQuery) -> _QueryKey:
    """Every field of ``query``, each a list of words (a field added later is part of
    the key too; one that is not a list of strings fails here, loudly)."""
    return tuple(tuple(getattr(query, f.name)) for f in dataclasses.fields(query))


def _filters_key(filters: SearchFilters) -> tuple[tuple[str, Any], ...]:
    """Every field of ``filters`` (a field added later is part of the key too, and must
    hold a hashable value)."""
    return tuple(filters.__dict__.items())


def _match_key(
    query: KeywordQuery, min_coverage: float, filters: SearchFilters
) -> tuple[_QueryKey, float, Any]:
    """What a search's match set depends on: the key of its match query and of its kept
    units scan (``_SnapshotMemo.matches``, ``.scans``)."""
    return (_query_key(query), min_coverage, _filters_key(filters))


class _SnapshotMemo:
    """What the searches of one snapshot work out from a query and the snapshot's
    statistics alone: its coverage rule, match queries and sure score.

    Why: a hybrid search worked out the coverage rule three times (its BM25 search's
    sure score, its count, its page's question) and built the match query twice, each
    time reading the words' frequencies again (~0.1-0.2 ms a search at 74.7k papers);
    a crowd asks the same queries again. Tied to the snapshot's id cache (``_snapshot``):
    a reload starts a new memo, so nothing worked out from another snapshot's statistics
    is used. Searches in several threads share it: each entry is set whole (a race costs
    a second working out, never a mixed answer) and never changed in place."""

    def __init__(self, owner: dict[tuple[int, int], str]) -> None:
        self.owner = owner
        # (answers in a 1-tuple: None is one)
        self.rules: dict[tuple[_QueryKey, float], tuple[_CoverageRule]] = {}
        self.matches: dict[tuple[_QueryKey, float, Any], tuple[tantivy.Query | None]] = {}
        self.sure: dict[tuple[_QueryKey, float], tuple[float | None]] = {}
        # what a units scan matched (``_kept_scan``), up to ``UNITS_KEPT_UP_TO`` of them,
        # or a count read whole (``_count_keeping``)
        self.scans: dict[tuple[_QueryKey, float, Any], list[tantivy.DocAddress]] = {}

    def keep_scan(self, key: tuple[_QueryKey, float, Any], found: list[tantivy.DocAddress]) -> None:
        """Keep ``found`` as the matches of ``key`` (a full table starts over)."""
        if len(self.scans) >= UNITS_KEPT:
            self.scans.clear()
        self.scans[key] = found

    @staticmethod
    def kept(table: dict[Any, tuple[_T]], key: Any, work: Callable[[], _T]) -> _T:
        """``table``'s answer for ``key``, worked out (``work``) and kept if it has none
        (a full table starts over)."""
        found = table.get(key)
        if found is None:
            found = (work(),)
            if len(table) >= _MEMO_ENTRIES:
                table.clear()
            table[key] = found
        return found[0]


def _filter_terms(filters: SearchFilters) -> list[tuple[str, str | bool]]:
    """The ``(field, value)`` terms a paper holds when it passes ``filters``, their date
    range left out: one definition for the filter clauses and the filters' share."""
    terms: list[tuple[str, str | bool]] = []
    if filters.category is not None:
        terms.append((_F_CATEGORIES, normalize_keyword(filters.category)))
    if filters.organization is not None:
        terms.append((_F_ORG, normalize_keyword(filters.organization)))
    if filters.has_code is not None:
        terms.append((_F_HAS_CODE, bool(filters.has_code)))
    return terms


def _filter_share(searcher: tantivy.Searcher, terms: Sequence[tuple[str, str | bool]]) -> float:
    """The share of the papers holding every one of ``terms`` (``_filter_terms``), were
    they independent of each other: each term's frequency over the papers (at most 1: a
    frequency still counts deleted documents). Only an estimate: a wrong one costs a
    count (``_filtered_floor``), never a wrong total."""
    docs = max(1, searcher.num_docs)
    return math.prod(min(1.0, searcher.doc_freq(f, v) / docs) for f, v in terms)


def _sum_error(largest: float, addends: int) -> float:
    """At most how far apart two sums of the same ``addends`` non-negative float32
    scores, added in different orders, can be when neither exceeds ``largest``. Each is
    within ``(addends - 1) * 2**-24 * largest`` of the exact sum (the classic bound for
    adding in any order), so the two are within twice that; returned four times over
    (and ``addends`` rather than ``addends - 1``: a query's phrases and names add one
    more, ``_required``)."""
    return 4 * 2 * max(addends, 1) * 2.0**-24 * largest


def _clear_cut(scores: Sequence[float], k: int, asked: int, addends: int) -> bool:
    """Whether the best ``k`` of ``scores`` (a search's, best first, ``asked`` for; each
    a sum of ``addends`` non-negative float32 numbers) are sure to be the best ``k`` of
    the same sums added in another order, among every document that search matched
    (``_holders_best``). Where fewer than ``asked`` came back, every match is in
    ``scores``. Otherwise one left out scored at most the last, so the k-th must be
    above the last by more than twice ``_sum_error``: then each of the first k, added
    in the other order, still beats anything left out."""
    if len(scores) < asked:
        return True
    return scores[k - 1] - scores[-1] > 2 * _sum_error(scores[0], addends)


def _holders_bound(searcher: tantivy.Searcher, boosts: Sequence[_Boost]) -> int:
    """At most how many papers hold one of ``boosts``: for each phrase, how many hold
    its rarest word in its field."""
    return sum(
        min((int(searcher.doc_freq(b.field, w)) for w in b.words), default=0) for b in boosts
    )


def _held(searcher: tantivy.Searcher, field: str, tokens: Iterable[str]) -> int:
    """How many times ``tokens`` (distinct) are held in ``field``: the sum of their
    document frequencies, the work of reading their postings."""
    return sum(int(searcher.doc_freq(field, t)) for t in tokens)


def _explained_docs(node: dict[str, Any]) -> int:
    """BM25's ``N`` in a tantivy score explanation (0 when it holds none)."""
    if str(node.get("description", "")).startswith("N,"):
        return int(node.get("value", 0))
    for child in node.get("details") or []:
        found = _explained_docs(child)
        if found:
            return found
    return 0


class TantivyKeywordIndex:
    """A tantivy index of ``IndexDoc``s in ``path`` (created when missing)."""

    def __init__(
        self, path: Path, *, writer_heap_bytes: int | None = None, writer_threads: int | None = None
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._schema = _build_schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
        except ValueError as exc:
            if "schema does not match" in str(exc):
                raise KeywordIndexError(
                    f"the keyword index in {self.path} was built by another paperwire "
                    f"version (schema differs); delete that directory and run "
                    f"`paperwire index --rebuild`"
                ) from exc
            raise KeywordIndexError(f"cannot open keyword index {self.path}: {exc}") from exc
        # Reload only when asked (commit/refresh): searches see a stable snapshot and no
        # background file watcher runs in every process.
        self._index.config_reader("manual")
        threads = writer_threads or max(1, min(2, os.cpu_count() or 1))
        self._writer_threads = threads
        # tantivy needs at least ~15 MB of heap per indexing thread.
        self._writer_heap = writer_heap_bytes or 48_000_000 * threads
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.RLock()
        self._text_analyzer = _analyzer(stem=True)
        self._name_analyzer = _analyzer(stem=False)
        self._meta_stamp = file_stamp(self.path / "meta.json")
        # (segment ordinal, doc id) -> arXiv id of the current snapshot (see _id_of)
        self._id_cache: dict[tuple[int, int], str] = {}
        self._stems: dict[str, str] = {}
        # (the id cache of the snapshot it was read in, BM25's N there): _scoring_docs
        self._docs_scored: tuple[dict[tuple[int, int], str], int] | None = None
        self._memo = _SnapshotMemo(self._id_cache)

    # ------------------------------------------------------------------ writing

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._open_writer(self._writer_heap, self._writer_threads)
        return self._writer

    def _open_writer(self, heap_bytes: int, threads: int) -> tantivy.IndexWriter:
        """Tantivy's writer, or the reason there is none: another writer holds its lock
        (``KeywordIndexLockedError``), or the index cannot be written."""
        try:
            return self._index.writer(heap_bytes, threads)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise KeywordIndexLockedError(
                    f"another process is writing the keyword index in {self.path} "
                    f"(only one writer is allowed); wait for it to finish"
                ) from exc
            raise KeywordIndexError(f"cannot write keyword index {self.path}: {exc}") from exc

    def _document(self, doc: IndexDoc) -> tantivy.Document:
        d = tantivy.Document()
        d.add_text(_F_ID, doc.arxiv_id)
        title = doc.title or ""
        # Two values of one field: one BM25 field, but no phrase across the boundary.
        d.add_text(_F_TEXT, title)
        d.add_text(_F_TEXT, doc.abstract or "")
        d.add_text(_F_TITLE, title)
        for author in doc.authors:
            d.add_text(_F_AUTHORS, author)
        for category in {normalize_keyword(c) for c in doc.categories if c.strip()}:
            d.add_text(_F_CATEGORIES, category)
        if doc.organization and doc.organization.strip():
            d.add_text(_F_ORG, normalize_keyword(doc.organization))
        if doc.published is not None:
            d.add_integer(_F_PUBLISHED, doc.published.toordinal())
        d.add_boolean(_F_HAS_CODE, bool(doc.has_code))
        d.add_text(_F_FP, doc.fingerprint())
        return d

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        with self._lock:
            writer = self._get_writer()
            for doc in docs:
                writer.delete_documents_by_term(_F_ID, doc.arxiv_id)
                writer.add_document(self._document(doc))

    def delete(self, arxiv_ids: Sequence[str]) -> None:
        if not arxiv_ids:
            return
        with self._lock:
            writer = self._get_writer()
            for arxiv_id in arxiv_ids:
                writer.delete_documents_by_term(_F_ID, arxiv_id)

    def commit(self) -> None:
        """Make the writes durable and visible, then release the writer lock."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.commit()
                writer.wait_merging_threads()  # consumes the writer, freeing the lock
            self._reload()

    def segments(self) -> int:
        """How many segments this handle's snapshot is in (``refresh`` first to count
        another process's commits); ``compact`` makes it one."""
        searcher, _ = self._snapshot()
        return int(searcher.num_segments)

    def compact(
        self,
        batches: Iterable[Sequence[IndexDoc]],
        *,
        heap_bytes: int = COMPACT_HEAP_BYTES,
        stop: threading.Event | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int | None:
        """Write ``batches`` (every document the index should hold) in place of what it
        holds, in one commit, by one writer thread whose heap holds them all: the index
        comes out in as few segments as ``heap_bytes`` allows (one up to ~1M papers).

        Why: batch commits leave a bulk-loaded index in 10-20 segments that tantivy's
        merge policy keeps, and a search looks each word up in every segment: at 74.7k
        papers, BM25's best 30 for the bench's pasted titles took 1.74 / 3.08 ms (p50 /
        p95) in 11 segments and 1.14 / 2.24 in one; at 1M, 8.72 / 16.28 in 17 and
        7.82 / 14.54 in one (docs/benchmarks.md, forty-fifth session). The binding has
        no merge call; deleting everything and adding it again in one commit is one.

        Returns the documents written, or None where ``stop`` was set first: then
        nothing changed (the writes are rolled back). A kill does the same: the old
        commit stands. Searches go on meanwhile, on the old segments; another writer
        is refused the lock (``KeywordIndexLockedError``) until it is done."""
        with self._lock:
            if self._writer is not None:
                raise KeywordIndexError(f"{self.path}: uncommitted writes; commit them first")
            writer = self._open_writer(heap_bytes, 1)
        written = 0
        try:
            # Before the adds: it keeps documents added after it (see ``clear``).
            writer.delete_all_documents()
            for docs in batches:
                if stop is not None and stop.is_set():
                    writer.rollback()
                    return None
                for doc in docs:
                    writer.add_document(self._document(doc))
                written += len(docs)
                if on_progress is not None:
                    on_progress(len(docs))
            if stop is not None and stop.is_set():  # set during the last batch
                writer.rollback()
                return None
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()  # consumes the writer, freeing the lock
        with self._lock:
            self._reload()
        return written

    def clear(self) -> None:
        """Delete every document (and discard uncommitted changes), then commit."""
        with self._lock:
            writer = self._get_writer()
            writer.rollback()  # delete_all_documents() keeps documents added since commit
            writer.delete_all_documents()
            self.commit()

    def rollback(self) -> None:
        """Discard uncommitted changes and release the writer lock (if held)."""
        self.close()

    def close(self) -> None:
        """Discard uncommitted changes and release the writer lock (if held)."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.rollback()
                writer.wait_merging_threads()  # consumes the writer, freeing the lock

    # ------------------------------------------------------------------ reading

    def _reload(self) -> None:
        self._index.reload()
        self._meta_stamp = file_stamp(self.path / "meta.json")
        self._id_cache = {}  # doc addresses are per snapshot
        self.forget_queries()  # (frees the old memo's id cache now)

    def _snapshot(self) -> tuple[tantivy.Searcher, dict[tuple[int, int], str]]:
        """A searcher and the id cache of the same snapshot."""
        with self._lock:
            return self._index.searcher(), self._id_cache

    def _memo_of(self, cache: dict[tuple[int, int], str]) -> _SnapshotMemo:
        """The memo of the snapshot whose id cache is ``cache`` (``_SnapshotMemo``). Only
        the current snapshot's is kept: a search begun before a reload gets a new, empty
        memo at each call (its answers are still its own snapshot's)."""
        memo = self._memo
        if memo.owner is not cache:
            memo = _SnapshotMemo(cache)
            if cache is self._id_cache:
                self._memo = memo
        return memo

    def forget_queries(self) -> None:
        """Drop what the current snapshot has worked out from queries (``_SnapshotMemo``):
        a bench times each search as the first of its query."""
        self._memo = _SnapshotMemo(self._id_cache)

    @staticmethod
    def _id_of(
        searcher: tantivy.Searcher, cache: dict[tuple[int, int], str], address: tantivy.DocAddress
    ) -> str | None:
        """The arXiv id at ``address``, read from the doc store once per snapshot."""
        key = (address.segment_ord, address.doc)
        arxiv_id = cache.get(key)
        if arxiv_id is None:
            value = searcher.doc(address).get_first(_F_ID)
            if value is None:
                return None
            arxiv_id = cache[key] = str(value)
        return arxiv_id

    def refresh(self) -> None:
        """See commits made by other processes (cheap when nothing changed)."""
        with self._lock:
            if file_stamp(self.path / "meta.json") != self._meta_stamp:
                self._reload()

    def count(self) -> int:
        return int(self._index.searcher().num_docs)

    def fingerprints(self) -> dict[str, str]:
        """Every committed document's arXiv id and stored fingerprint ("" if none)."""
        searcher = self._index.searcher()
        n = int(searcher.num_docs)
        if n == 0:
            return {}
        found: dict[str, str] = {}
        for _score, address in searcher.search(tantivy.Query.all_query(), limit=n).hits:
            doc = searcher.doc(address)
            arxiv_id = doc.get_first(_F_ID)
            if arxiv_id is not None:
                found[str(arxiv_id)] = str(doc.get_first(_F_FP) or "")
        return found

    def _tokens(self, text: str, *, stem: bool) -> list[str]:
        analyzer = self._text_analyzer if stem else self._name_analyzer
        return list(analyzer.analyze(text))

    def _phrase(self, field: str, text: str, *, stem: bool, slop: int = 0) -> tantivy.Query | None:
        """A phrase (or term) query for ``text`` on ``field``; None when it has no tokens."""
        analyzer = self._text_analyzer if stem else self._name_analyzer
        return self._phrase_of(field, analyzer.pre_tokenize(text).tokens, slop)

    def _phrase_of(
        self, field: str, tokens: Sequence[tantivy.Token], slop: int = 0
    ) -> tantivy.Query | None:
        """``_phrase`` of text already tokenised."""
        if not tokens:
            return None
        if len(tokens) == 1:
            return tantivy.Query.term_query(self._schema, field, tokens[0].text)
        first = tokens[0].position
        words: list[str | tuple[int, str]] = [(t.position - first, t.text) for t in tokens]
        return tantivy.Query.phrase_query(self._schema, field, words, slop)

    def _filter_clauses(self, filters: SearchFilters) -> list[tantivy.Query]:
        schema = self._schema
        clauses: list[tantivy.Query] = []
        if filters.dated():
            clauses.append(
                tantivy.Query.range_query(
                    schema,
                    _F_PUBLISHED,
                    tantivy.FieldType.Integer,
                    filters.date_from.toordinal() if filters.date_from else None,
                    filters.date_to.toordinal() if filters.date_to else None,
                    include_lower=True,
                    include_upper=True,
                )
            )
        for field, value in _filter_terms(filters):
            clauses.append(tantivy.Query.term_query(schema, field, value, "basic"))
        # Restrict without scoring: BM25 of a category term would reorder results.
        return [tantivy.Query.const_score_query(q, 0.0) for q in clauses]

    def _boosts(self, query: KeywordQuery) -> list[tantivy.Query]:
        """The queries of ``_phrase_boosts``."""
        return [boost.query for boost in self._phrase_boosts(query)]

    def _phrase_boosts(self, query: KeywordQuery) -> list[_Boost]:
        """The phrases that add to a paper's score when it holds them, with their boosts:
        the whole free text as an author's name, and as a phrase of a title."""
        if len(query.terms) < 2:
            return []
        found: list[_Boost] = []
        name = " ".join(query.terms)
        author = self._author_name(query)
        if author:
            # "Li Dong" typed as free text: rank that author's papers first.
            author_q = self._phrase(_F_AUTHORS, name, stem=False)
            if author_q is not None:
                boosted = tantivy.Query.boost_query(author_q, AUTHOR_NAME_BOOST)
                found.append(_Boost(_F_AUTHORS, author, boosted))
        if len(query.terms) <= TITLE_PHRASE_MAX_TOKENS:
            tokens = self._text_analyzer.pre_tokenize(name).tokens
            title_q = self._phrase_of(_F_TITLE, tokens, TITLE_PHRASE_SLOP)
            if title_q is not None:
                boosted = tantivy.Query.boost_query(title_q, TITLE_PHRASE_BOOST)
                found.append(_Boost(_F_TITLE, [t.text for t in tokens], boosted))
        return found

    def _author_name(self, query: KeywordQuery) -> list[str]:
        """The words of the free text as an author's name (``_boosts``), or none when
        it is not one (a single word, or more than ``MAX_AUTHOR_NAME_TOKENS``)."""
        if len(query.terms) < 2:
            return []
        words = self._tokens(" ".join(query.terms), stem=False)
        return words if 2 <= len(words) <= MAX_AUTHOR_NAME_TOKENS else []

    def _term_clauses(self, query: KeywordQuery) -> list[tantivy.Query]:
        """One BM25 term query per distinct token of the free text and, beside free text,
        of its quoted phrases (the words a keyword match's coverage counts:
        ``_coverage_words``), weighted by how often the text repeats it. With the phrase
        words among them, every keyword match is a hit: ``"graph neural" zebra`` counts
        the papers holding the phrase, and ranks them too (as Milvus does), where a
        required "zebra" left 391 matches counted and none listed."""
        counts = Counter(self._coverage_tokens(query))
        found: list[tantivy.Query] = []
        for token, n in counts.items():
            tq = tantivy.Query.term_query(self._schema, _F_TEXT, token, "freq")
            found.append(tantivy.Query.boost_query(tq, float(n)) if n > 1 else tq)
        return found

    @staticmethod
    def _scored(
        should: Sequence[tantivy.Query],
        constraints: Sequence[tantivy.Query],
        filtering: Sequence[tantivy.Query],
    ) -> tantivy.Query | None:
        """``should`` (scored, one of them required) with the query's phrases and names
        (``_constraint_clauses``) and the filters (``_filter_clauses``) as MUST clauses
        (``_required``); None when nothing can match."""
        if not should and not constraints:
            return None
        # Nested so the SHOULDs stay required-one-of next to the MUST clauses.
        either = [(tantivy.Occur.Should, q) for q in should]
        words = [tantivy.Query.boolean_query(either)] if should else []
        return _all_of([*words, *_required(constraints, filtering)])

    def build_query(self, query: KeywordQuery, filters: SearchFilters) -> tantivy.Query | None:
        """The tantivy query for ``query`` + ``filters``; None when nothing can match
        (no searchable token). Exposed for debugging (``Query.explain``)."""
        terms = self._term_clauses(query)
        should = [*terms, *self._boosts(query)] if terms else []
        return self._scored(should, self._constraint_clauses(query), self._filter_clauses(filters))

    def keyword_search(self, query: KeywordQuery, filters: SearchFilters, k: int) -> Ranked:
        searcher, cache = self._snapshot()
        return self._search(searcher, cache, query, filters, k)

    def search_with_members(
        self, query: KeywordQuery, filters: SearchFilters, k: int, min_coverage: float
    ) -> tuple[Ranked, frozenset[str]]:
        """See ``SearchIndex.keyword_search_with_members``: the hits scoring above
        ``_sure_score`` (of the same snapshot) are keyword matches."""
        searcher, cache = self._snapshot()
        ranked = self._search(searcher, cache, query, filters, k)
        bound = None
        if ranked.ids:
            memo = self._memo_of(cache)
            bound = memo.kept(
                memo.sure,
                (_query_key(query), min_coverage),
                lambda: self._sure_score(searcher, cache, query, min_coverage),
            )
        if bound is None:
            return ranked, frozenset()
        sure = (i for i, s in zip(ranked.ids, ranked.scores, strict=True) if s > bound)
        return ranked, frozenset(sure)

    def _search(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        query: KeywordQuery,
        filters: SearchFilters,
        k: int,
    ) -> Ranked:
        if k <= 0:
            return Ranked()
        terms = self._term_clauses(query)
        phrase_boosts = self._phrase_boosts(query) if terms else []
        boosts = [boost.query for boost in phrase_boosts]
        constraints = self._constraint_clauses(query)
        filtering = self._filter_clauses(filters)
        if boosts:
            # A long plain query shares two cores; why only a plain one (no filter, phrase
            # or name): its match count, which would take the other core, is mostly not
            # run (``_word_floor``). Beside a count, at 1M papers with a category filter,
            # the two searches slowed it (p95 +1.4 and +2.4 ms).
            beside = (
                not constraints
                and not filtering
                and self._coverage_postings(searcher, query) > BESIDE_POSTINGS
            )
            hits = self._best_with_boosts(
                searcher,
                cache,
                terms,
                boosts,
                constraints,
                filtering,
                k,
                beside=beside,
                rescore=_holders_bound(searcher, phrase_boosts) > RESCORE_HOLDERS_FROM,
            )
        else:
            q = self._scored(terms, constraints, filtering)
            if q is None:
                return Ranked()
            hits = searcher.search(q, limit=k, count=False).hits
        return self._ranked(searcher, cache, hits)

    def _ranked(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        hits: Sequence[tuple[float, tantivy.DocAddress]],
    ) -> Ranked:
        """The ids and scores of ``hits`` (those whose id is still read)."""
        ids: list[str] = []
        scores: list[float] = []
        for score, address in hits:
            arxiv_id = self._id_of(searcher, cache, address)
            if arxiv_id is not None:
                ids.append(arxiv_id)
                scores.append(float(score))
        return Ranked(ids=ids, scores=scores)

    def _best_with_boosts(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        terms: Sequence[tantivy.Query],
        boosts: Sequence[tantivy.Query],
        constraints: Sequence[tantivy.Query],
        filtering: Sequence[tantivy.Query],
        k: int,
        *,
        beside: bool = False,
        rescore: bool = False,
    ) -> list[tuple[float, tantivy.DocAddress]]:
        """The best ``k`` hits of ``build_query`` (term clauses + phrase boosts), from two
        cheap searches instead of one costly one; ``beside``: at once, in two threads;
        ``rescore``: the holders ranked by ``_holders_best``'s two steps.

        Why: tantivy skips the blocks of postings that cannot reach the top k (block-max
        WAND) only for a disjunction of terms; one phrase clause beside them makes it
        score every paper holding any query word (1M papers: 35 ms a search where the
        terms alone take 15). A paper's score is its terms' score ``T`` plus the boosts
        of the phrases it holds, so the best ``k`` are among the best ``k`` by ``T``
        (for a paper holding no phrase, ``T`` is its score) and the best ``k`` by the
        whole score among the phrases' holders. A holder of the first kind that is not
        among the second (scored ``T``, short of its boost) ranks below ``k`` holders of
        higher scores, so it never reaches the top ``k``. Ties order as tantivy orders
        them: by address."""
        terms_q = self._scored(terms, constraints, filtering)
        assert terms_q is not None  # terms are not empty
        required = _required(constraints, filtering)
        args = (searcher, cache, terms, boosts, required, k, rescore)
        other: Future[list[tuple[float, tantivy.DocAddress]]] | None = None
        if beside:
            # The holders are searched on the other core while this thread searches the
            # terms (tantivy lets go of the GIL). A search no pool thread has started by
            # the time the terms' is done (a crowd) is taken back and run here.
            other = _BESIDE.pool().submit(self._holders_best, *args)
        try:
            found = searcher.search(terms_q, limit=k, count=False).hits
        except BaseException:
            if other is not None:
                taken_back(other)
            raise
        holders = handed_or_here(other, self._holders_best, *args)
        best: dict[tuple[int, int], tuple[float, tantivy.DocAddress]] = {}
        for score, address in [*found, *holders]:
            best[(address.segment_ord, address.doc)] = (score, address)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))
        return [hit for _, hit in ranked[:k]]

    def _holders_best(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        terms: Sequence[tantivy.Query],
        boosts: Sequence[tantivy.Query],
        required: Sequence[tantivy.Query],
        k: int,
        rescore: bool,
    ) -> list[tuple[float, tantivy.DocAddress]]:
        """The best ``k`` of ``build_query`` among the holders of ``boosts`` (``_held``),
        with ``_held``'s scores; ``rescore``: in two steps, for phrases of many holders.

        Why two steps: ``_held`` finds the holders with the phrases scoring 0, then adds
        each phrase's score again, so it matches each phrase twice, and a phrase is the
        costly part (positions; 1M bench papers, "large language models": 78k titles
        hold its rarest word, 25 ms). Step one ranks the best ``k + RESCORE_SLACK``
        holders with the phrases scored as they match (``((phrases + a) + b)``…: the
        same numbers summed in another order, so its scores may differ from ``_held``'s
        in the last bits, never by more than ``_sum_error``). Step two scores those
        candidates with ``_held`` itself (``_id_set``: a few dozen papers). Where
        step one's last candidate scores clear of its k-th by more than twice the
        error, every holder it left out scores below the k-th best by ``_held`` too;
        where not (ties across the cut), ``_held`` ranks them all, as without
        ``rescore``.

        One difference remains: tantivy can match a sloppy phrase when filtering and
        not when scoring (docs/benchmarks.md, forty-seventh session). Such a paper is a
        holder to ``_held`` (scored without the phrase) and not to step one; it comes
        back through the words' search (``_best_with_boosts``), with that search's score
        for the same sum."""
        held = self._held(terms, boosts, required)
        found = (
            self._rescored(searcher, cache, terms, boosts, required, held, k) if rescore else None
        )
        if found is None:
            found = list(searcher.search(held, limit=k, count=False).hits)
        return found

    def _rescored(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        terms: Sequence[tantivy.Query],
        boosts: Sequence[tantivy.Query],
        required: Sequence[tantivy.Query],
        held: tantivy.Query,
        k: int,
    ) -> list[tuple[float, tantivy.DocAddress]] | None:
        """``_holders_best``'s two steps; None where ``held`` must rank every holder."""
        phrases = tantivy.Query.boolean_query([(tantivy.Occur.Should, b) for b in boosts])
        once = _all_of([_optional_a_level(phrases, terms), *required])
        wide = k + RESCORE_SLACK
        ranked = searcher.search(once, limit=wide, count=False).hits
        if not _clear_cut([score for score, _ in ranked], k, wide, len(terms) + len(boosts)):
            return None
        ids = [self._id_of(searcher, cache, address) for _, address in ranked]
        known = [arxiv_id for arxiv_id in ids if arxiv_id is not None]
        if len(known) < len(ids):
            return None  # a candidate without its id read: the argument needs every one
        if not known:
            return []
        # The id clause scores 0 whatever its size (a term set scores 1 on its own).
        only = tantivy.Query.const_score_query(self._id_set(known), 0.0)
        found = searcher.search(_all_of([held, only]), limit=len(known), count=False).hits
        if len(found) < len(known):
            # one ``_held`` does not hold (tantivy matched a phrase when scoring it and
            # not when filtering): the argument needs every candidate
            return None
        return list(found[:k])

    def _coverage_postings(self, searcher: tantivy.Searcher, query: KeywordQuery) -> int:
        """How many times the words a keyword match covers are held: how long its
        searches are (``_search`` shares two cores past ``BESIDE_POSTINGS``,
        ``best_matches`` takes one pass up to ``ONE_PASS_POSTINGS``)."""
        return _held(searcher, _F_TEXT, set(self._coverage_tokens(query)))

    @staticmethod
    def _held(
        terms: Sequence[tantivy.Query],
        boosts: Sequence[tantivy.Query],
        required: Sequence[tantivy.Query],
    ) -> tantivy.Query:
        """``build_query`` among the papers holding one of ``boosts`` (``required``: its
        constraint and filter clauses), scored as it scores them. The holders drive the
        search (MUST, score 0) and each scored clause is optional beside them: a
        conjunction with the whole query cost twice as much at 1M papers.

        One clause per level (``(holders + a) + b``…), not every clause optional at
        one level: tantivy scores several optional clauses as a union that, at each of
        the holders, decodes every posting of every clause in the next 4,096 documents,
        so a search spread over the index read the common words' whole postings. Alone,
        an optional clause skips to the next holder. The 100 bench queries' holder
        searches at 1M papers: p50 / p95 / max 1.31 / 8.21 / 23.1 ms → 0.58 / 3.44 /
        12.2, the same hits and scores (docs/benchmarks.md).

        ``required`` (``_required``) joins at the outermost level: the quoted phrases
        and names then add to the clauses' sum as they do in ``build_query``, to the
        last bit (nested inside, they were summed first, and ties could order
        otherwise)."""
        holders = tantivy.Query.boolean_query([(tantivy.Occur.Should, b) for b in boosts])
        found = _optional_a_level(tantivy.Query.const_score_query(holders, 0.0), [*terms, *boosts])
        return _all_of([found, *required])

    def _scoring_docs(self, searcher: tantivy.Searcher, cache: dict[tuple[int, int], str]) -> int:
        """The ``N`` of tantivy's BM25 in this snapshot: every document its segments
        hold, deleted ones not yet merged away included (more than ``num_docs``; 1M
        papers after the bench's updates: 1,000,500). The binding does not expose it,
        so it is read from the explanation of one score, once per snapshot."""
        held = self._docs_scored
        if held is not None and held[0] is cache:
            return held[1]
        hits = searcher.search(tantivy.Query.all_query(), limit=1, count=False).hits
        docs = 0
        if hits:
            address = hits[0][1]
            arxiv_id = self._id_of(searcher, cache, address)
            if arxiv_id is not None:
                q = tantivy.Query.term_query(self._schema, _F_ID, arxiv_id)
                docs = _explained_docs(json.loads(q.explain(searcher, address).to_json()))
        self._docs_scored = (cache, docs)
        return docs

    def _sure_score(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        query: KeywordQuery,
        min_coverage: float,
    ) -> float | None:
        """A score above which a hit of ``_search`` is a keyword match (``match_ids``),
        whatever its words; None when no bound is known (the hits are then asked).

        Each clause of the query scores a paper below its weight, ``boost × idf × (K1 +
        1)`` (BM25's term frequency part stays under 1; phrases weigh the sum of their
        words' idf), and the scores add up. A hit that is not a match holds the quoted
        phrases' words (every hit does) and other words short of the coverage
        (``base.heaviest_short_of``), may hold the author-name phrase, never the title
        phrase (its holders hold every word), and holds the query's quoted phrases and
        names like every hit. A small margin covers tantivy's float32 sums. A phrase
        with a word no paper holds weighs nothing (no paper holds the phrase). The title
        phrase's argument needs ``min_coverage`` ≤ 1.

        Every clause ``build_query`` scores with (``_term_clauses``, ``_boosts``,
        ``_constraint_clauses``) must be bounded here: a new scoring clause left out
        would let a non-match pass for a match.

        From the coverage rule the count and the members apply (``_coverage_rule``: one
        definition); kept per snapshot by ``search_with_members`` (``_SnapshotMemo``)."""
        counts = Counter(self._coverage_tokens(query))
        docs = self._scoring_docs(searcher, cache)
        if not counts or docs <= 0 or not 0.0 <= min_coverage <= 1.0:
            return None
        tokens, freqs, units, need, _ = self._coverage_rule(searcher, cache, query, min_coverage)
        phrases = [self._tokens(p, stem=True) for p in query.phrases]
        # Every hit holds the quoted phrases' words: a non-match holds them and falls short.
        held = {t for words in phrases for t in words}
        bound = 0.0
        rest_units: list[int] = []
        rest_weights: list[float] = []
        for t, f, u in zip(tokens, freqs, units, strict=True):
            w = counts[t] * bm25_idf(f, docs)
            if t in held:
                need -= u
                bound += w
            else:
                rest_units.append(u)
                rest_weights.append(w)
        if need <= 0:
            return -math.inf  # every hit is a match
        bound += heaviest_short_of(rest_units, rest_weights, need)

        def weight(field: str, words: Sequence[str]) -> float:
            """A phrase's weight; 0 when a word of it is in no paper (none holds it)."""
            held_by = [searcher.doc_freq(field, w) for w in words]
            return sum(bm25_idf(f, docs) for f in held_by) if all(held_by) else 0.0

        bound += sum(weight(_F_TEXT, words) for words in phrases)
        bound += sum(weight(_F_AUTHORS, self._tokens(a, stem=False)) for a in query.authors)
        bound += AUTHOR_NAME_BOOST * weight(_F_AUTHORS, self._author_name(query))
        return bound * _BM25_TF_MAX * (1.0 + _SURE_MARGIN) + _SURE_MARGIN

    # ------------------------------------------------------------------ match sets

    def _constraint_clauses(self, query: KeywordQuery) -> list[tantivy.Query]:
        clauses: list[tantivy.Query] = []
        for phrase in query.phrases:
            pq = self._phrase(_F_TEXT, phrase, stem=True)
            if pq is not None:
                clauses.append(pq)
        for author in query.authors:
            aq = self._phrase(_F_AUTHORS, author, stem=False)
            if aq is not None:
                clauses.append(aq)
        return clauses

    def _term(self, token: str) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, _F_TEXT, token)

    def _coverage_tokens(self, query: KeywordQuery) -> list[str]:
        """The analysed tokens of ``_coverage_words`` but the stop words as written
        (``scored_tokens``), in order, repeats kept: what the BM25 query scores
        (``_term_clauses``) and a keyword match must cover."""
        words = _coverage_words(query)
        tokens = [tok for w in words for tok in self._tokens(w, stem=True)]
        # the same analyzer without its stemmer (``_analyzer``): one written form a token
        written = [tok for w in words for tok in self._tokens(w, stem=False)]
        return scored_tokens(tokens, written)

    def _coverage_rule(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        query: KeywordQuery,
        min_coverage: float,
    ) -> _CoverageRule:
        """``query``'s coverage rule at ``min_coverage`` (``_CoverageRule``) in the
        snapshot of ``searcher`` and its id ``cache`` (worked out once there:
        ``_SnapshotMemo``)."""

        def work() -> _CoverageRule:
            tokens = list(dict.fromkeys(self._coverage_tokens(query)))
            freqs, units, need = _coverage_weights(searcher, tokens, min_coverage)
            return _CoverageRule(tokens, freqs, units, need, minimal_covers(units, need))

        memo = self._memo_of(cache)
        return memo.kept(memo.rules, (_query_key(query), min_coverage), work)

    def _matching(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        also: Sequence[str] = (),
    ) -> tuple[_CoverageRule, tantivy.Query | None]:
        """The coverage rule (``_coverage_rule``) and the match query (``_match_query``)
        of ``query`` under ``filters``, each worked out once in the snapshot of
        ``searcher`` and ``cache`` (``_SnapshotMemo``; a query with ``also`` ids each
        time)."""
        rule = self._coverage_rule(searcher, cache, query, min_coverage)
        if also:
            return rule, self._match_query(searcher, query, filters, rule, also)
        memo = self._memo_of(cache)
        key = _match_key(query, min_coverage, filters)
        return rule, memo.kept(
            memo.matches, key, lambda: self._match_query(searcher, query, filters, rule)
        )

    def _coverage_query(
        self, rule: _CoverageRule, *, factored: bool = True
    ) -> tantivy.Query | None:
        """Documents whose terms reach the coverage ``rule`` asks (a share of the query's
        IDF weight, ``_coverage_rule``): an OR
        of ``minimal_covers`` conjunctions, merged on their common beginnings
        (``cover_tree``) when ``factored``, or where a long query has too many of them,
        a minimum-should-match over each term repeated by its weight (~10× slower).

        Not ``factored`` under a date range: tantivy then seeks the coverage query at the
        range's papers, and a union nested in a conjunction refills its window at every
        seek. Counting the first 40 bench queries at 1M papers under a ~4 % date range
        took p95 24.8 ms factored against 10.0 flat; unfiltered 37.3 against 51.6, and
        with a category filter or among 200 ids the factored form was faster too."""
        tokens, _, units, need, covers = rule
        if not tokens:
            return None
        should = tantivy.Occur.Should
        if covers is None:
            clauses = [
                (should, self._term(token))
                for token, u in zip(tokens, units, strict=True)
                for _ in range(u)
            ]
            return tantivy.Query.boolean_query(clauses, minimum_number_should_match=need)
        if not factored:
            return _any_of([_all_of([self._term(tokens[i]) for i in c]) for c in covers])
        return self._covers_query(tokens, cover_tree(covers))

    def _covers_query(self, tokens: Sequence[str], tree: CoverTree) -> tantivy.Query:
        """``tree`` (``base.cover_tree`` of covers none of which begins another, as
        ``minimal_covers`` lists them) as one query: one of its branches, each the
        conjunction of its terms down to the next fork and, below a fork, one of that
        fork's branches. Matches exactly the documents holding every term of a cover;
        an empty tree matches nothing."""
        ways: list[tantivy.Query] = []
        for first, below in tree.items():
            terms = [first]
            while len(below) == 1:  # a chain: one conjunction, not nested ones
                ((nxt, below),) = below.items()
                terms.append(nxt)
            must = [self._term(tokens[i]) for i in terms]
            if below:
                must.append(self._covers_query(tokens, below))
            ways.append(_all_of(must))
        return _any_of(ways)

    def _match_query(
        self,
        searcher: tantivy.Searcher,
        query: KeywordQuery,
        filters: SearchFilters,
        rule: _CoverageRule,
        also: Sequence[str] = (),
    ) -> tantivy.Query | None:
        """The query of ``match_ids`` (None: nothing can match); ``rule``: the query's
        coverage rule (``_coverage_rule``)."""
        if searcher.num_docs == 0:
            return None
        constraints = self._constraint_clauses(query)
        ways: list[tantivy.Query] = []
        factored = not filters.dated()  # see ``_coverage_query``
        coverage = self._coverage_query(rule, factored=factored)
        if coverage is not None:
            ways.append(coverage)
        elif constraints:
            ways.append(tantivy.Query.all_query())
        if also:
            ways.append(self._id_set(also))
        if not ways:
            return None
        must = [tantivy.Query.const_score_query(_any_of(ways), 0.0), *constraints]
        must += self._filter_clauses(filters)
        return _all_of(must)

    def _id_set(self, ids: Sequence[str]) -> tantivy.Query:
        """The papers of ``ids``: up to ``ID_TERMS_UP_TO`` of them one id term each, in a
        disjunction scoring 0, more as a term set (which scores 1: no caller reads the
        score, and the callers that sum scores hold it in a 0 constant score).

        Why: a term set costs ~0.23 ms a search at 74.7k papers (9 segments) before its
        first id, then ~2.4 µs an id; the terms one by one ~3 µs an id. Searched alone
        (random ids, p50 ms): 1 id 0.236 → 0.009, 30 ids 0.336 → 0.099, 100 ids 0.528 →
        0.326, 200 ids 0.755 → 0.648, 400 ids 1.189 → 1.395, so they cross at ~270
        (docs/benchmarks.md, thirty-seventh session)."""
        if not ids or len(ids) > ID_TERMS_UP_TO:
            return tantivy.Query.term_set_query(self._schema, _F_ID, list(ids))
        one = [tantivy.Query.term_query(self._schema, _F_ID, arxiv_id) for arxiv_id in ids]
        return tantivy.Query.const_score_query(_any_of(one), 0.0)

    def _ids(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        q: tantivy.Query,
        up_to: int | None = None,
    ) -> list[str]:
        """The ids of every hit of ``q``; with ``up_to``, of ``up_to + 1`` of them at most
        (tantivy still matches every hit, but only those are read)."""
        reach = searcher.num_docs if up_to is None else min(searcher.num_docs, up_to + 1)
        hits = searcher.search(q, limit=max(1, reach), count=False).hits
        return self._ids_at(searcher, cache, (address for _, address in hits))

    def _ids_at(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        addresses: Iterable[tantivy.DocAddress],
    ) -> list[str]:
        """The ids of the documents at ``addresses`` (those whose id is still read)."""
        # The hot loop of a large match set (40k ids at 74.7k papers): inlined _id_of.
        ids: list[str] = []
        known = cache.get
        for address in addresses:
            arxiv_id = known((address.segment_ord, address.doc))
            if arxiv_id is None:
                arxiv_id = self._id_of(searcher, cache, address)
                if arxiv_id is None:
                    continue
            ids.append(arxiv_id)
        return ids

    @staticmethod
    def _count(searcher: tantivy.Searcher, q: tantivy.Query) -> int:
        return _counted(searcher.search(q, limit=1, count=True))

    def _count_keeping(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        q: tantivy.Query,
        key: tuple[_QueryKey, float, Any],
    ) -> int:
        """``_count`` of the match query ``q``, its hits kept for the snapshot under
        ``key`` (``match_ids`` reads them there) where they are at most
        ``LISTED_BY_COUNT_UP_TO`` or ``LISTED_BY_COUNT_SHARE`` of the papers: read in
        the same pass, in ``_ids``' order."""
        reach = max(LISTED_BY_COUNT_UP_TO, int(searcher.num_docs * LISTED_BY_COUNT_SHARE))
        found = searcher.search(q, limit=reach, count=True)
        total = _counted(found)
        if total <= reach:
            self._memo_of(cache).keep_scan(key, [address for _, address in found.hits])
        return total

    def match_ids(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        also: Sequence[str] = (),
        up_to: int | None = None,
    ) -> list[str]:
        """See ``SearchIndex.keyword_match_ids``."""
        searcher, cache = self._snapshot()
        rule, q = self._matching(searcher, cache, query, filters, min_coverage, also)
        if q is None:
            return []
        scan = None if also else self._units_scan(searcher, query, filters, min_coverage, rule)
        if scan is not None:
            found = self._kept_scan(searcher, cache, scan)
        else:  # read whole by a count before (``_count_keeping``), or listed now
            key = _match_key(query, min_coverage, filters)
            kept = None if also else self._memo_of(cache).scans.get(key)
            if kept is None:
                return self._ids(searcher, cache, q, up_to)
            found = kept
        return self._ids_at(searcher, cache, found if up_to is None else found[: up_to + 1])

    def match_count(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        among: Sequence[str] = (),
        overlap: Sequence[str] = (),
        exact_up_to: int | None = None,
    ) -> MatchCount:
        """See ``SearchIndex.keyword_match_count``: counted in tantivy, and only the
        hits among ``among`` are read; past ``exact_up_to``, a lower bound read from the
        document frequencies where one is known (``_word_floor``), not counted. Else a
        lower bound counted first where one promises to pass the bound (with filters, a
        word's holders that pass them; without, or where no word promises one, the
        holders of the widest covers that pass them: ``_counted_floor``), and the exact
        count only where it does not.

        The counts run in other threads while this one reads the members: tantivy lets
        go of the GIL while it searches, so the two cores share the three searches (74.7k
        papers, a hybrid search's three: 23 → 17 ms p95; 1M: 201 → 112 ms). They are
        returned uncounted (``MatchCount`` waits when read): a search reads its total
        after building its page, so the counting goes on beside that work too."""
        searcher, cache = self._snapshot()
        rule, q = self._matching(searcher, cache, query, filters, min_coverage)
        if q is None:
            return MatchCount(0)
        floor, whole = (
            (0, False)
            if exact_up_to is None
            else self._word_floor(searcher, cache, query, filters, rule)
        )
        past = exact_up_to is not None and floor > exact_up_to
        exact = whole if past else True
        scan = None if past else self._units_scan(searcher, query, filters, min_coverage, rule)
        total_of: Callable[[], int]
        if scan is not None:
            total_of = partial(_size_of, partial(self._kept_scan, searcher, cache, scan))
        elif exact_up_to is None:  # a walk's count: its few matches listed next
            key = _match_key(query, min_coverage, filters)
            total_of = partial(self._count_keeping, searcher, cache, q, key)
        else:
            total_of = partial(self._count, searcher, q)
        overlap_of: Callable[[], int] | None = None
        if overlap and exact:  # an exact total is the only use of the overlap
            if scan is not None:  # the match query is slow to seek: asked of the units
                asked = partial(self._members, searcher, cache, q, overlap, query, filters, rule)
                overlap_of = partial(_size_of, asked)
            else:
                overlap_of = partial(self._count, searcher, _all_of([q, self._id_set(overlap)]))
        floor_q = None
        if exact_up_to is not None and not past:
            floor_q = self._counted_floor(searcher, query, filters, rule, exact_up_to)
        if floor_q is not None and exact_up_to is not None:
            deciding = _COUNTERS.pool().submit(
                self._floor_or_count, searcher, floor_q, total_of, overlap_of, exact_up_to
            )
            try:
                members = self._members(searcher, cache, q, among, query, filters, rule)
            except BaseException:
                wait([deciding])
                raise
            return MatchCount.deciding(deciding, members)
        total = floor if past else _COUNTERS.pool().submit(total_of)
        shared: Future[int] | None = None
        if overlap_of is not None:
            shared = _COUNTERS.pool().submit(overlap_of)
        try:
            members = self._members(searcher, cache, q, among, query, filters, rule)
        except BaseException:
            # The counts finish before the error goes up (nobody will read them); an
            # error of theirs is never raised in place of this one.
            wait([f for f in (total, shared) if isinstance(f, Future)])
            raise
        return MatchCount(total, members, shared if shared is not None else 0, exact=exact)

    def _floor_or_count(
        self,
        searcher: tantivy.Searcher,
        floor_q: tantivy.Query,
        total_of: Callable[[], int],
        overlap_of: Callable[[], int] | None,
        bound: int,
    ) -> Counted:
        """The lower bound ``floor_q`` counts where it passes ``bound``; else the exact
        count (``total_of``) and the overlap (``overlap_of``) counts (``match_count``),
        side by side as ``match_count`` runs them: the overlap on another pool thread,
        taken back and counted here if none has started it by the time the total is
        counted (a busy pool: this task never waits on a queued one)."""
        floor = self._count(searcher, floor_q)
        if floor > bound:
            return Counted(floor, False, 0)
        if overlap_of is None:
            return Counted(total_of(), True, 0)
        shared = _COUNTERS.pool().submit(overlap_of)
        try:
            total = total_of()
        except BaseException:
            taken_back(shared)
            raise
        return Counted(total, True, handed_or_here(shared, overlap_of))

    def _counted_floor(
        self,
        searcher: tantivy.Searcher,
        query: KeywordQuery,
        filters: SearchFilters,
        rule: _CoverageRule,
        bound: int,
    ) -> tantivy.Query | None:
        """A query whose hits are matches of ``query`` under ``filters`` (so its count is
        a lower bound of theirs) and likely more than ``bound``, which ``match_count``
        counts first: with filters, a word's holders that pass them
        (``_filtered_floor``); without, or where no word promises it, the holders of
        the widest covers that pass the filters (``_covers_floor``). None where the
        query has one word (its exact count costs the same), quoted phrases or
        ``author:`` names, or where its filters have a date range (the papers of a range
        are not known from a frequency, and keyword searches in one rank and count in
        one pass: ``best_matches``); ``match_count`` then counts exactly."""
        if query.phrases or query.authors or filters.dated() or len(rule.tokens) < 2:
            return None
        terms = _filter_terms(filters)
        share = _filter_share(searcher, terms)  # 1.0 without filters
        if terms:
            floor = self._filtered_floor(filters, share, rule, bound)
            if floor is not None:
                return floor
        return self._covers_floor(searcher, filters, share, rule, bound)

    def _filtered_floor(
        self,
        filters: SearchFilters,
        share: float,
        rule: _CoverageRule,
        bound: int,
    ) -> tantivy.Query | None:
        """``_counted_floor`` with filters: the filters with a word that is a match on
        its own and that, at the filters' ``share`` of the papers (``_filter_share``),
        holds at least ``FLOOR_MARGIN`` times the bound (the most widely held such word:
        its holders are the likeliest to pass the bound). None where there is no such
        word.

        Why: ``_word_floor`` knows a bound from frequencies only without filters, and
        the exact count of a broad query in a category took a 1M-paper search 11 / 44 ms
        (p50 / p95) of a core, most of its time. Why the most widely held: the share is
        an estimate (the filters' papers taken as independent of the word), and a count
        that falls short of the bound is followed by the exact count. The least widely
        held word, cheaper to count, fell short often enough at the 1,100 bound that a
        1M-paper keyword search in cs.CL took 44.1 ms of CPU at p95 against 31.0
        (docs/benchmarks.md, thirty-sixth session)."""
        alone = _matches_alone(rule)
        enough = [(f, t) for f, t in alone if f * share >= FLOOR_MARGIN * bound]
        if not enough:
            return None
        return _all_of([self._term(max(enough)[1]), *self._filter_clauses(filters)])

    def _covers_floor(
        self,
        searcher: tantivy.Searcher,
        filters: SearchFilters,
        share: float,
        rule: _CoverageRule,
        bound: int,
    ) -> tantivy.Query | None:
        """``_counted_floor`` by covers: the papers passing ``filters`` (no date range;
        ``share``: their share of the papers, 1.0 without filters) that hold one of the
        query's ``FLOOR_COVERS`` widest covers (those whose rarest words are held most),
        where the papers those covers are expected to hold, their words and the filters
        taken as independent (``_filter_share``), reach ``FLOOR_MARGIN`` times the bound.
        None with ``FLOOR_COVERS`` covers or fewer (the bound would be the match query
        itself) or none listed (past ``MAX_COVERS``).

        Why: a long pasted title's words each alone weigh too little to be a match, so
        ``_word_floor`` knows no bound, and its exact count is a union of 20-35 covers:
        up to 6.4 ms of a core at 74.7k papers, with the overlap with the semantic
        matches counted beside it, while a hybrid search's page waited up to 8.7 ms for
        them. The four widest covers of the same queries counted in 0.78 / 1.98 / 2.91
        ms (p50 / p95 / max; docs/benchmarks.md, thirty-second session). The gate spends
        that first count only where it is likely to pass; where it does not, the exact
        count and the overlap follow it. With a filter the same: a pasted title's
        words alone promise no bound there either (``_filtered_floor``); counting its
        covers first took 1.5-2.5 ms off a hybrid search's CPU at p95 in cs.CL at 74.7k
        papers (docs/benchmarks.md, thirty-sixth session)."""
        covers = rule.covers
        if covers is None or len(covers) <= FLOOR_COVERS:
            return None  # (with so few covers the bound would be the match query itself)
        docs = max(1, searcher.num_docs)
        shares = [min(1.0, f / docs) for f in rule.freqs]  # deleted papers may count in f
        widest = sorted(covers, key=lambda cover: -min(shares[i] for i in cover))[:FLOOR_COVERS]
        expected = share * sum(docs * math.prod(shares[i] for i in cover) for cover in widest)
        if expected < FLOOR_MARGIN * bound:
            return None
        held = self._covers_query(rule.tokens, cover_tree(widest))
        return _all_of([held, *self._filter_clauses(filters)])  # no filters: ``held``

    def _word_floor(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        query: KeywordQuery,
        filters: SearchFilters,
        rule: _CoverageRule,
    ) -> tuple[int, bool]:
        """A lower bound of ``match_ids``'s size known without a search, and whether it
        is the size: the papers holding the most widely held word that is a match on
        its own (its weight reaches the coverage), less the deleted documents its
        frequency may still count (exact for a one-word query with none). 0 where the
        query has filters, quoted phrases or ``author:`` names (they drop holders a
        frequency counts) or no such word.

        Why: an exact count reads every match's postings, and a broad query matches
        most papers (1M papers: the bench's pasted titles match 450-840k, 6 ms p50 and
        34 ms p95 of a core), where a relevance search needs its total only to say
        "N+"."""
        if query.phrases or query.authors or filters.dated() or _filter_terms(filters):
            return 0, False
        if not rule.tokens:
            return 0, False
        docs = self._scoring_docs(searcher, cache)
        if docs <= 0:
            return 0, False  # the deleted documents unknown: no bound (as ``_sure_score``)
        held = max((f for f, _ in _matches_alone(rule)), default=0)
        deleted = max(0, docs - searcher.num_docs)
        return max(0, held - deleted), len(rule.tokens) == 1 and deleted == 0

    def match_members(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        ids: Sequence[str],
    ) -> frozenset[str]:
        """See ``SearchIndex.keyword_match_members``."""
        if not ids:
            return frozenset()
        searcher, cache = self._snapshot()
        rule, q = self._matching(searcher, cache, query, filters, min_coverage)
        if q is None:
            return frozenset()
        return self._members(searcher, cache, q, ids, query, filters, rule)

    def _members(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        q: tantivy.Query,
        ids: Sequence[str],
        query: KeywordQuery,
        filters: SearchFilters,
        rule: _CoverageRule,
    ) -> frozenset[str]:
        """Those of ``ids`` that are hits of ``q``, the match query of ``query``: asked of
        their words' coverage units (``_by_units``: the same papers), or of ``q`` itself
        where the query has no words (quoted phrases or names alone) or where its words
        are not nested (too many ids or words) and ``q`` has ``MEMBERS_BY_UNITS_COVERS``
        covers or fewer."""
        if not ids:
            return frozenset()
        by_units = self._by_units(query, filters, rule, ids)
        if by_units is None:
            return frozenset(self._ids(searcher, cache, _all_of([q, self._id_set(ids)])))
        summed, need = by_units
        found: set[str] = set()
        for score, address in searcher.search(summed, limit=len(ids), count=False).hits:
            reached = score >= need - _UNITS_MARGIN
            arxiv_id = self._id_of(searcher, cache, address) if reached else None
            if arxiv_id is not None:
                found.add(arxiv_id)
        return frozenset(found)

    def _by_units(
        self, query: KeywordQuery, filters: SearchFilters, rule: _CoverageRule, ids: Sequence[str]
    ) -> tuple[tantivy.Query, int] | None:
        """The papers of ``ids`` that pass ``filters`` and hold ``query``'s phrases and
        names, each scoring the coverage units of the query's words it holds (a
        constant-score clause a word), and the units a keyword match needs: a paper is
        one exactly when its score reaches them (``minimal_covers``' rule, summed
        instead of listed). None where the query has no words, or where the words are
        not nested (below) and the match query has ``MEMBERS_BY_UNITS_COVERS`` covers
        or fewer (asked of it, the ids cost no more).

        Why: the match query is a union of the covers' conjunctions; seeking it at each
        id refills every cover's window (4,096 documents), which a long query's tens of
        covers make slow. Here the id set leads. Up to ``MEMBERS_NESTED_UP_TO`` ids and
        ``MEMBERS_NESTED_WORDS_UP_TO`` words with units, each word is one optional
        clause a level (``_optional_a_level``, as ``_held`` nests its clauses), so each
        word's postings are sought at the ids alone; past either, the words are one
        union, which reads each word's window once for the ids it holds."""
        tokens, _, units, need, covers = rule
        if not tokens:
            return None
        weighed = sum(u > 0 for u in units)
        nested = len(ids) <= MEMBERS_NESTED_UP_TO and weighed <= MEMBERS_NESTED_WORDS_UP_TO
        if not nested and covers is not None and len(covers) <= MEMBERS_BY_UNITS_COVERS:
            return None
        words = self._unit_words(rule)
        rest = self._held_clauses(query, filters)
        held = tantivy.Query.const_score_query(_all_of([*rest, self._id_set(ids)]), 0.0)
        if not nested:
            return _all_of([_any_of(words), held]), need
        return _optional_a_level(held, words), need

    def _held_clauses(self, query: KeywordQuery, filters: SearchFilters) -> list[tantivy.Query]:
        """What a paper must pass besides its words' units to match ``query`` under
        ``filters``: the query's phrases and names, and the filters."""
        return [*self._constraint_clauses(query), *self._filter_clauses(filters)]

    def _unit_words(self, rule: _CoverageRule) -> list[tantivy.Query]:
        """One constant-score clause a word of ``rule`` with units, scoring them: a paper
        holding some of them scores their sum, exactly (whole numbers in float32)."""
        return [
            tantivy.Query.const_score_query(self._term(token), float(u))
            for token, u in zip(rule.tokens, rule.units, strict=True)
            if u > 0
        ]

    def _units_scan(
        self,
        searcher: tantivy.Searcher,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        rule: _CoverageRule,
    ) -> _UnitsScan | None:
        """How to list ``query``'s matches under ``filters`` by their words' units
        (``UNITS_SCAN_FIRST``; ``rule``: its rule at ``min_coverage``), where its match
        query is a minimum-should-match (too many covers to list), or has more than
        ``MEMBERS_BY_UNITS_COVERS`` covers and the holders of the rarest words one of
        which every match holds (``_necessary``) are at most ``UNITS_SCAN_LEADS`` papers:
        those then lead (their frequencies, which count deleted papers too, bound the
        hits). None elsewhere: the match query is the cheaper."""
        covers = rule.covers
        if not rule.tokens or (covers is not None and len(covers) <= MEMBERS_BY_UNITS_COVERS):
            return None
        rest = self._held_clauses(query, filters)
        necessary = _necessary(rule)
        reach = sum(rule.freqs[i] for i in necessary)
        if reach <= UNITS_SCAN_LEADS:
            rest.append(_any_of([self._term(rule.tokens[i]) for i in necessary]))
        elif covers is not None:
            return None
        else:
            reach = searcher.num_docs
        held = tantivy.Query.const_score_query(_all_of(rest), 0.0) if rest else None
        summed = _any_of(self._unit_words(rule))
        scan = summed if held is None else _all_of([summed, held])
        key = _match_key(query, min_coverage, filters)
        return _UnitsScan(scan, rule.need, max(1, reach), key)

    def _kept_scan(
        self,
        searcher: tantivy.Searcher,
        cache: dict[tuple[int, int], str],
        scan: _UnitsScan,
    ) -> list[tantivy.DocAddress]:
        """``_scanned``, kept for the snapshot where its matches are few enough
        (``UNITS_KEPT_UP_TO``). Never changed once kept: a search's threads share it."""
        memo = self._memo_of(cache)
        found = memo.scans.get(scan.key)
        if found is None:
            found = self._scanned(searcher, scan)
            if len(found) <= UNITS_KEPT_UP_TO:
                memo.keep_scan(scan.key, found)
        return found

    def _scanned(self, searcher: tantivy.Searcher, scan: _UnitsScan) -> list[tantivy.DocAddress]:
        """The matches ``scan`` lists (``_units_scan``): its hits scoring the units
        needed (``_UNITS_MARGIN``), best first. The first ``UNITS_SCAN_FIRST`` are read,
        then ``UNITS_SCAN_GROWTH`` times as many while the last read matches (the hits
        come best first: once one does not, every match has been read), or all at once
        where the last read is far above the need (``UNITS_SCAN_FAR``)."""
        need = scan.need - _UNITS_MARGIN
        limit = min(scan.reach, UNITS_SCAN_FIRST)
        hits = searcher.search(scan.query, limit=limit, count=False).hits
        while len(hits) == limit < scan.reach and hits[-1][0] >= need:  # more may match
            far = hits[-1][0] >= UNITS_SCAN_FAR * scan.need
            limit = scan.reach if far else min(scan.reach, limit * UNITS_SCAN_GROWTH)
            hits = searcher.search(scan.query, limit=limit, count=False).hits
        return [address for score, address in hits if score >= need]

    def best_matches(
        self, query: KeywordQuery, filters: SearchFilters, min_coverage: float, k: int
    ) -> tuple[Ranked, MatchCount] | None:
        """See ``SearchIndex.keyword_best_matches``: the match query required (scoring
        0) with ``build_query`` beside it (scoring as ``keyword_search`` does), counted
        while the best ``k`` are collected; None without a date range, or when the
        query's words are held more than ``ONE_PASS_POSTINGS`` times.

        Why: tantivy seeks the matches of a date range from its few papers, and scoring
        them all costs less than two searches. Elsewhere it scores every match where BM25
        skips blocks that cannot reach the top, and the search is faster as BM25's hits
        (their matches known from their scores: ``search_with_members``) with the count
        on the other core beside it and the page: the 100 bench queries at 74.7k papers,
        keyword p95 9.8-11.6 -> 7.5-8.7 ms with no filter, 10.2-11.5 -> 7.5-8.7 with a
        category (twenty-third session)."""
        if k <= 0 or not filters.dated():
            return None  # the caller's count alone is cheaper; see above
        searcher, cache = self._snapshot()
        if self._coverage_postings(searcher, query) > ONE_PASS_POSTINGS:
            return None
        rule, matching = self._matching(searcher, cache, query, filters, min_coverage)
        if rule.covers is None:
            # a minimum-should-match, stepped through one document at a time: counted by
            # its words' units instead (``UNITS_SCAN_FIRST``; 65 words of ~210,000
            # holders under a week's range at 74.7k papers: 53 ms in one pass)
            return None
        if matching is None:
            return Ranked(), MatchCount(0)
        clauses = [(tantivy.Occur.Must, tantivy.Query.const_score_query(matching, 0.0))]
        scored = self.build_query(query, filters)
        if scored is not None:
            clauses.append((tantivy.Occur.Should, scored))
        # Every match is a ``build_query`` hit (its coverage words are among the term
        # clauses), so each is scored as ``keyword_search`` scores it.
        found = searcher.search(tantivy.Query.boolean_query(clauses), limit=k, count=True)
        ranked = self._ranked(searcher, cache, found.hits)
        return ranked, MatchCount(_counted(found), frozenset(ranked.ids))

    def postings(self, query: KeywordQuery) -> int:
        """See ``SearchIndex.keyword_postings``: the document frequencies of the words
        ``build_query`` reads, in the fields it reads them from. The scored words
        (``_coverage_tokens``: no stop words) and the quoted phrases' in the text, the
        ``author:`` names' and the free text's (as a name) in the authors."""
        searcher = self._snapshot()[0]
        text = {t for p in query.phrases for t in self._tokens(p, stem=True)}
        text.update(self._coverage_tokens(query))
        names = {t for a in query.authors for t in self._tokens(a, stem=False)}
        names.update(self._author_name(query))
        return _held(searcher, _F_TEXT, text) + _held(searcher, _F_AUTHORS, names)

    def term_statistics(self, text: str) -> list[TermStat]:
        """See ``SearchIndex.term_statistics``."""
        searcher, _ = self._snapshot()
        counts: Counter[str] = Counter()
        first: dict[str, str] = {}
        for word in self._tokens(text, stem=False):
            term = self._stems.get(word)
            if term is None:
                stemmed = self._tokens(word, stem=True)
                term = stemmed[0] if stemmed else word
                if len(self._stems) < 100_000:
                    self._stems[word] = term
            counts[term] += 1
            first.setdefault(term, word)
        return [
            TermStat(first[t], t, n, int(searcher.doc_freq(_F_TEXT, t))) for t, n in counts.items()
        ]
