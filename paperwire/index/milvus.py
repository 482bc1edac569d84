"""A ``SearchIndex`` on Milvus: BM25 (``Function``s over the text) + vectors + filters.

The same code talks to a Milvus cluster or standalone server (``http://host:19530``,
``PAPERWIRE_MILVUS_URI``), to a Milvus Lite server (the ``milvus`` binary of the
``milvus-lite`` 2.5 wheel listening on a port, which the tests run), and to a Milvus Lite
file (a local ``./x.db`` path; pymilvus starts that binary for it). milvus-lite 2.5 runs
the engine a cluster runs (segcore, knowhere, tantivy analyzers) in one process. One
collection (``PAPERWIRE_MILVUS_COLLECTION``, default ``papers``):

==================== ============================= =======================================
field                type                          use
==================== ============================= =======================================
arxiv_id             VARCHAR, primary key
text                 VARCHAR, analyzer             ``title + "\\n" + abstract``; BM25 input
text_sparse          SPARSE_FLOAT_VECTOR           BM25 ``Function`` output; keyword ranking
authors              VARCHAR, analyzer             one author per line; ``author:`` names
authors_sparse       SPARSE_FLOAT_VECTOR           BM25 over author words
author_pairs         VARCHAR, analyzer             each two adjacent words of one author,
                                                   joined by ``0`` (``li0dong``)
author_pairs_sparse  SPARSE_FLOAT_VECTOR           BM25 over those pairs: names of 2+ words
vector               FLOAT_VECTOR(dim)             cosine; a placeholder where ``has_vector``
                                                   is false
has_vector           BOOL                          Milvus needs a value in every vector field
published            INT64                         ``date.toordinal()``; -1 when unknown
has_code             BOOL
categories           ARRAY<VARCHAR>                lower-case
organization         VARCHAR                       lower-case; "" when unknown
==================== ============================= =======================================

Behaviour, and where it differs from the embedded backend:

* The text analyzer is a setting (``PAPERWIRE_MILVUS_ANALYZER``, default ``english``:
  stemming, stop words). Authors use ``standard``. Terms are weighted by count by
  repeating them in the BM25 query text (Milvus counts query-term frequency).
* The vector index is a setting (``PAPERWIRE_MILVUS_INDEX_TYPE`` and its build/search
  parameters): ``auto`` builds HNSW where the server can, FLAT (exact) on Milvus Lite,
  whose local mode accepts only FLAT, IVF_FLAT and AUTOINDEX.
* Quoted phrases and ``author:`` names are constraints, checked without ``TEXT_MATCH`` or
  ``PHRASE_MATCH``: Milvus Lite 2.5 rejects both, a phrase must not match across the
  title/abstract boundary nor a name across two authors, and ``LIKE`` or token arrays were
  10–100× slower (docs/benchmarks.md, Backends). An author name of two or more words is
  looked up by its word pairs (``li0dong``: a pair exists only inside one author, so the
  lookup returns few papers besides the author's). A phrase is checked in Python on the
  text of each paper holding all its words (their holders intersected), once per state
  of the collection: the papers that pass are kept with the word holders
  (``_phrase_holders``). A phrase ranks by BM25 over its words, among those papers (an id
  filter where they are at most ``_ID_FILTER_MAX``; else the hits are checked, fetching
  further pages until ``k`` pass, up to Milvus's top-k limit of 16,384).
* A free-text query that looks like a name (2–6 words) also ranks that author's papers
  first: BM25 over ``author_pairs_sparse``, × ``AUTHOR_NAME_BOOST``, added to the text BM25.
* Writes are buffered and sent on ``commit()`` (uncommitted changes stay invisible, as
  the contract says). An upsert without a vector keeps the stored one: ``commit`` reads
  it back first (Milvus replaces whole rows).
* The index lives in the server, so every process's searches see a commit as soon as
  the server has applied it (there is no per-process snapshot as with the embedded files);
  ``refresh()`` renews cached counts (at most every ``count_ttl`` seconds) and notices a
  collection created or dropped by another process.
* Match sets (``keyword_match_ids``, ``keyword_match_count``, ``vector_range``,
  ``term_statistics``) are exact past Milvus's top-k cap of 16,384: a one-word BM25
  search returns every document holding the word, a range search every cosine above the
  floor, and where the cap cuts an answer the search runs again per slice of the
  collection (ranges of ``published``, then of ``arxiv_id``, each under the cap); a range
  search pages down by score instead (``range_filter``: one scan per 16,384 matches).
  Ids are read straight from the search reply, not as one pymilvus object per hit, in
  replies of at most 500,000 hits.
* Keyword match sets are computed here from each term's *holders* (unfiltered), kept in
  a cache of the index (``_HolderCache``: numpy positions, at most ``HOLDERS_BUDGET`` ids,
  least recently used out) with the members of each filter; only the terms of
  ``base.minimal_covers`` are read (not "model" beside "zebra"), and a relevance search's
  count, members and overlap are set operations on them (74.7k papers: ~0.3 ms warm).
  The cache is dropped when this process commits, when the collection's size changes
  (counts are renewed every ``count_ttl`` on ``refresh``) and when the store's content
  generation moves (``follow_content``: the search service tells it with each
  ``refresh``, every 2 s; it moves when any process edits, adds, hides or embeds papers,
  and again when the index journal's applier has committed them to the index; a vote,
  a signup, a comment or a follow does not move it), so another process's text edit,
  which keeps the size, is seen within seconds. Holders read while the generation still
  moves (an ingest commits batch after batch) are dropped once more when it has settled,
  and no warm-up starts before.
  No time limit: every write to the collection that paperwire makes is one of these
  (Milvus has no cheaper sign of another client's edit); an index used without a store
  (no ``follow_content``) keeps its holders until its own commit or a size change.
  A cold common term costs its holders' reading once (~1 µs per holder: "model", 61,008
  holders, 180 ms). From ``WARM_MIN_DOCS`` documents on, the first match set after a
  change starts a background ``warm_up`` of the terms in 5 % of a 1,000-document
  sample, within 3/4 of the budget (74.7k papers: ~475 terms, ~6 M holders, 24 MB,
  ~6 s); a warm-up whose cache was dropped meanwhile stops.
* Up to ``DF_SCAN_MAX`` documents the warm-up first counts every term's frequency from
  one scan of the ``text`` field, words cut and stemmed as Milvus 2.5 does (its stemmer
  is rust-stemmers, from the ``py-rust-stemmers`` package of the ``milvus`` extra;
  PyStemmer's newer Snowball parts from it on "university", "organization",
  "emergency"...; without the package the sample above is used), and reads the holders
  of every term that fits the budget, commonest first, in searches limited to each
  term's count (74.7k papers: all ~105k terms, ~8 M holders, 32 MB, ~60 s of work in
  the background on 2 busy cores, against ~16 s for the sample's ~475 terms; again
  after each change of the content, not while it is unchanged). A relevance search's match
  count, even at the first sight of its words, is then set operations only: rare words
  were the tail of the unfiltered keyword search (one more search, 7-75 ms, per query).
  The count only chooses what to read: frequencies and holders are always Milvus's own
  (a few rare terms differ from the count, e.g. where an upserted paper's older text
  still answers a BM25 search).
  Holders and frequencies are kept per term by Milvus's stems (``_term``).
* ``vectors_of`` reads the vectors of many papers in one query; ``cosines_of`` scores
  many papers against a query in one id-filtered search (hybrid search asks it for the
  keyword candidates below the semantic floor: ~18 ms on Lite whatever their number).
* Searches may run at once from several threads (``parallel_reads``: a relevance search
  runs its BM25 search beside the query embedding, the range scan and the holders).
* Consistency: searches and vector reads use "Session" (a process reads its own commits;
  others' within the cluster's staleness bound), counts and the reads of ``commit``
  "Strong".
* ``clear()`` drops the collection; the next ``commit()`` creates it again (with the
  dimension of the first vector, or of the embedding model via ``dim_provider``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import logging
import os
import re
import subprocess
import threading
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from paperwire.index.base import (
    BM25_STOP_WORDS,
    IndexDoc,
    IndexInventory,
    KeywordQuery,
    MatchCount,
    RangeHead,
    Ranked,
    TermStat,
    Vector,
    bm25_idf,
    cosines,
    coverage_units,
    minimal_covers,
    required_units,
)
from paperwire.index.vectors import VectorDimensionError
from paperwire.models.search import SearchFilters

__all__ = ["LiteServer", "MilvusIndex", "MilvusIndexError", "milvus_literal"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _expected_refusal(quiet: bool = True) -> Iterator[None]:
    """Silence pymilvus's own ERROR log (with a traceback) for a call whose refusal is
    expected and handled here (index kinds a server may not support): the handler says
    what happened in one line instead."""
    rpc_log = logging.getLogger("pymilvus.decorators")
    level = rpc_log.level
    if quiet:
        rpc_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        rpc_log.setLevel(level)


# Milvus refuses a search with offset + limit above this (``topk``).
MAX_TOPK = 16_384

# gRPC keepalive for every client. pymilvus pings every 10 s, even with no call in flight;
# a server that keeps gRPC's default policy (Milvus Lite: at most one ping per 5 minutes
# without calls) answers "too_many_pings" and drops the connection, failing the next call.
# Ping only during calls, and rarely: a cluster's proxy accepts this too.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}

# Query texts or vectors sent in one search (Milvus accepts up to 16,384 ``nq``).
_NQ_MAX = 1_024
# Hits one search may return (``nq`` × limit): a reply is decoded at once, and 475 words
# × 16,384 hits (a warm-up in one search) took the paperwire process from 0.7 to 1.2 GB.
_REPLY_MAX = 500_000
# A range search returns cosines strictly above its radius: lower it by float noise.
_RADIUS_SLACK = 1e-6
# Word holders (and filter members) a process keeps, in ids: 4 bytes each (a numpy int32
# position in the cache's id table, which holds each id once).
HOLDERS_BUDGET = 12_000_000
# Warm-up (``MilvusIndex.warm_up``): the terms in at least WARM_SHARE of the first
# WARM_SAMPLE documents, commonest first, while their estimated holders fill at most
# WARM_FILL of the budget; from WARM_MIN_DOCS documents on.
WARM_SAMPLE = 1_000
WARM_SHARE = 0.05
WARM_FILL = 0.75
WARM_MIN_DOCS = 20_000
# Up to DF_SCAN_MAX documents the warm-up counts every term's document frequency from one
# scan of the ``text`` field (74.7k papers: ~105 MB of text, 14-17 s) and reads the holders
# of every term that fits WARM_FILL of the budget by that count (74.7k papers: all ~105k
# terms, ~8 M holders); a larger collection is warmed by the sample (no scan per change).
DF_SCAN_MAX = 250_000
# How long a first write waits for a Milvus server that is still starting (``_while_starting``).
STARTING_WAIT = 30.0
_NO_DATE = -1  # ``published`` of an undated paper
_LAST_DAY = dt.date.max.toordinal()
# Like the embedded backend: an author-name match of the whole query counts 3×.
AUTHOR_NAME_BOOST = 3.0
MAX_AUTHOR_NAME_TOKENS = 6
# tantivy's tokenizers drop tokens of 40+ bytes; do the same to query words.
_LONG_TOKEN_LIMIT = 40
# Distinct words whose index token ``_Analyzer.tokens`` keeps (~100 bytes each).
_TOKENS_KEPT = 400_000
_VARCHAR_MAX = 65_535  # bytes
_SHORT_MAX = 512
_CATEGORY_MAX = 64
_CATEGORIES_CAPACITY = 64
_WRITE_BATCH = 500
_READ_BATCH = 1_000
_FP_MAX = 32
# Papers allowed by ``author:`` that are named in the text search's filter; more are
# checked in Python instead (a long ``arxiv_id in [...]`` costs more than it saves).
_ID_FILTER_MAX = 1_000
_PAIR_JOIN = "0"  # inside a token for Milvus's tokenizers (alphanumeric runs)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # Milvus's tokenizers split on "_" too
LITE_VECTOR_INDEX = "FLAT"
# Build and search parameters per vector index type, unless the settings give them.
VECTOR_INDEX_DEFAULTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "HNSW": ({"M": 16, "efConstruction": 128}, {"ef": 64}),
    "IVF_FLAT": ({"nlist": 1024}, {"nprobe": 32}),
    "FLAT": ({}, {}),
}
_BM25 = {"inverted_index_algo": "DAAT_MAXSCORE", "bm25_k1": 1.2, "bm25_b": 0.75}
# Fields added since the first Milvus schema; a collection without them needs a rebuild.
_REQUIRED_FIELDS = frozenset({"author_pairs_sparse", "fp", "vfp"})


class MilvusIndexError(RuntimeError):
    """The Milvus collection cannot be used as configured."""


def _placeholder_vector(arxiv_id: str, dim: int) -> list[float]:
    """The vector stored for a paper that has no embedding yet: a unit vector drawn from a
    generator seeded by its id (so rewrites store the same value).

    Not zeros: a zero vector has no cosine, and an HNSW graph holding tens of thousands
    of them (every paper of the embedding backlog) routes searches badly. Measured on
    Milvus Lite with 74,728 papers of which 5,000 had vectors: recall@10 of filtered
    vector search fell from 0.62 to 0.20 once the collection settled with zero
    placeholders, and stayed at 0.99–1.0 with these (docs/benchmarks.md, Backends)."""
    rng = np.random.default_rng(zlib.crc32(arxiv_id.encode("utf-8")))
    v = rng.standard_normal(dim)
    v /= np.linalg.norm(v)
    return [float(x) for x in v]


def milvus_literal(value: str) -> str:
    """``value`` as a double-quoted Milvus expression string (escapes ``\\`` and ``"``).

    Control characters are removed (they are also removed from stored values)."""
    value = _CONTROL.sub("", value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _id_list(ids: Iterable[str]) -> str:
    return f"arxiv_id in [{', '.join(milvus_literal(i) for i in ids)}]"


def _keyword(value: str | None) -> str:
    """How categories and organisations are stored and matched (case-insensitive)."""
    return _CONTROL.sub("", value or "").strip().lower()


def _clip(text: str, max_bytes: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", errors="ignore")


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _pairs(tokens: Sequence[str]) -> list[str]:
    """Adjacent tokens joined into one token: ``li0dong`` for "Li Dong"."""
    return [f"{a}{_PAIR_JOIN}{b}" for a, b in itertools.pairwise(tokens)]


def _index_stemmer() -> Callable[[list[str]], list[str]] | None:
    """The English stemmer of Milvus 2.5's analyzer itself, where installed: rust-stemmers
    (as tantivy's ``Stemmer`` filter), from ``py-rust-stemmers``. PyStemmer's newer
    Snowball parts from it on a few word families ("university", "organization",
    "emergency", "internal", "radiologist": 131 of 126,436 distinct words of the 74.7k
    papers), which matters for counting frequencies (``_count_terms``), not for query
    words or phrases."""
    try:
        from py_rust_stemmers import SnowballStemmer
    except ImportError:
        return None
    stem: Callable[[list[str]], list[str]] = SnowballStemmer("english").stem_words
    return stem


class _Analyzer:
    """A Python twin of a Milvus analyzer, for query words and the phrase post-filter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stems = name == "english"  # PyStemmer's Snowball English, as Milvus's filter
        self._local = threading.local()  # a stemmer per thread: they are not thread-safe
        # the stems of Milvus's own stemmer, for counting (None: not installed)
        self.index_stems: Callable[[list[str]], list[str]] | None = list
        if self.stems:
            self.index_stems = _index_stemmer()
        # word as written (lower-cased) -> its index token, None for a stop word or a
        # word too long to index (``tokens``); cleared past ``_TOKENS_KEPT`` words
        self._tokens: dict[str, str | None] = {}

    def _stem_words(self, words: list[str]) -> list[str]:
        """Snowball English stems of ``words``, by this thread's own stemmer: PyStemmer's
        are not thread-safe, and a hybrid search analyses words in two threads at once."""
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            import Stemmer

            stemmer = self._local.stemmer = Stemmer.Stemmer("english")
        return list(stemmer.stemWords(words))

    def analysed(self, text: str) -> list[tuple[str, str]]:
        """(word, index token) of each word that is not a stop word."""
        words = [w for w in _WORD.findall(text.lower()) if len(w.encode()) < _LONG_TOKEN_LIMIT]
        if not self.stems:
            return [(w, w) for w in words]
        stems = self._stem_words(words)  # one C call for the whole text
        return [(w, s) for w, s in zip(words, stems, strict=True) if s not in BM25_STOP_WORDS]

    def index_terms(self, text: str, memo: dict[str, str | None]) -> set[str]:
        """The distinct terms Milvus indexes for ``text`` (stems of ``index_stems``), each
        word analysed once across texts through ``memo`` (word -> term, None for a
        dropped word): counting document frequencies (``_count_terms``)."""
        stems = self.index_stems
        assert stems is not None
        if text.isascii():
            words = set(_WORD.findall(text.lower()))
        else:  # cut, then lower-case each token, as Milvus does ("İ" is "i̇", not "i")
            words = {w.lower() for w in _WORD.findall(text)}
        new = [w for w in words if w not in memo]
        if new:
            self._file(new, stems, memo)
        found = {memo[w] for w in words}
        found.discard(None)
        return found  # type: ignore[return-value]

    def index_term(self, word: str) -> str:
        """The term Milvus looks up for one query word (``index_stems``)."""
        stems = self.index_stems
        assert stems is not None
        return stems([word.lower()])[0]

    def words(self, text: str) -> list[str]:
        """Lower-cased words (what is sent to Milvus, which analyzes them again)."""
        return [w for w, _ in self.analysed(text)]

    def tokens(self, text: str) -> list[str]:
        """Index tokens (stemmed for ``english``), in order, for phrase matching: what
        ``analysed`` gives, each distinct word stemmed once across texts (``_tokens``).

        A common phrase's first search checks thousands of texts (6,304 for "diffusion
        model" at 74.7k papers); stemming each of their ~1.3 M words took 4 of its 5 s,
        where they hold ~50,000 distinct words."""
        if not self.stems:
            return [str(t) for _, t in self.analysed(text)]
        words = _WORD.findall(text.lower())
        known = self._tokens
        new = [w for w in dict.fromkeys(words) if w not in known]
        if new:
            if len(known) + len(new) > _TOKENS_KEPT:
                # a new table, not a cleared one: another thread may be reading this one
                known = self._tokens = {}
                new = list(dict.fromkeys(words))
            self._file(new, self._stem_words, known)
        return [t for t in map(known.get, words) if t is not None]

    def _file(
        self, new: list[str], stems: Callable[[list[str]], list[str]], memo: dict[str, str | None]
    ) -> None:
        """Enter each of ``new`` in ``memo`` with its term by ``stems``: None for a word
        too long to index or, on ``english``, a stop word (one call for all of them)."""
        kept = [w for w in new if len(w.encode()) < _LONG_TOKEN_LIMIT]
        stop = BM25_STOP_WORDS if self.stems else frozenset()
        memo.update(dict.fromkeys(new))
        memo.update((w, s) for w, s in zip(kept, stems(kept), strict=True) if s not in stop)


def _contains_run(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    if n == 0:
        return True
    first = needle[0]
    for i in range(len(haystack) - n + 1):
        if haystack[i] == first and list(haystack[i : i + n]) == list(needle):
            return True
    return False


Hit = Any  # pymilvus ``Hit``: a dict of "id", "distance", "entity" (the output fields)
Check = Callable[[Hit], bool]


def _hit_id(hit: Hit) -> str:
    return str(hit.id)


_Found = tuple[list[str], list[float]]  # one search's hits: ids and scores, as columns


@dataclass
class _Pending:
    doc: IndexDoc
    vector: Vector | None
    lookup: bool  # no vector given: keep the one stored for this id


@dataclass(frozen=True)
class _Constraints:
    """A keyword query's hard constraints, checked on each hit (see ``check``)."""

    phrases: list[list[str]]  # index tokens of each quoted phrase
    names: list[list[str]]  # tokens of each author name (``author:`` or a free-text name)
    allowed: Container[str] | None = None  # ids that passed the ``author:`` lookup

    def output(self) -> list[str]:
        return [*(["text"] if self.phrases else []), *(["authors"] if self.names else [])]

    def check(self, text: _Analyzer, names: _Analyzer) -> Check | None:
        if not (self.phrases or self.names or self.allowed is not None):
            return None

        def ok(hit: Hit) -> bool:
            if self.allowed is not None and _hit_id(hit) not in self.allowed:
                return False
            row = hit.get("entity", hit)
            if self.phrases:
                title, _, abstract = str(row.get("text", "")).partition("\n")
                parts = [text.tokens(title), text.tokens(abstract)]
                if not all(any(_contains_run(p, ph) for p in parts) for ph in self.phrases):
                    return False
            if self.names:
                authors = [names.tokens(a) for a in str(row.get("authors", "")).split("\n")]
                if not all(any(_contains_run(a, n) for a in authors) for n in self.names):
                    return False
            return True

        return ok


@dataclass(frozen=True)
class _Slice:
    """A part of the collection, for searches past the top-k cap (``_search_all``): the
    papers published from day ``first`` to ``last`` (ordinals; -1 is undated) and, where
    one day holds too many, with an arxiv id from ``id_from`` up to ``id_before``
    (None: unbounded). A cut never leaves a gap, so the slices of the whole cover every
    row, including rows written after the cut."""

    first: int = _NO_DATE
    last: int = _LAST_DAY
    id_from: str | None = None
    id_before: str | None = None

    def joins(self, after: _Slice) -> bool:
        """Whether ``after`` continues this slice's days (neither cut by ids)."""
        ids = (self.id_from, self.id_before, after.id_from, after.id_before)
        return self.last + 1 == after.first and ids == (None,) * 4

    def expr(self) -> str:
        parts = []
        if self.first > _NO_DATE:
            parts.append(f"published >= {self.first}")
        if self.last < _LAST_DAY:
            parts.append(f"published <= {self.last}")
        if self.id_from is not None:
            parts.append(f"arxiv_id >= {milvus_literal(self.id_from)}")
        if self.id_before is not None:
            parts.append(f"arxiv_id < {milvus_literal(self.id_before)}")
        return " and ".join(parts)


class _HolderCache:
    """Which documents hold each word (unfiltered), and which pass each filter, kept
    across searches as positions in one id table (numpy int32: 4 bytes per holder, each
    id stored once), least recently used first out past ``budget`` positions. Document
    frequencies are kept apart (an int per word, never evicted): a word's weight needs
    its frequency, its holders are read again only if it weighs something.

    A cache lives until the collection changes (``MilvusIndex._forget_counts`` and
    ``_renew_holders`` put a new one in its place); a search keeps the one it began with,
    so what it adds after a change is never seen by later searches."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.ids: list[str] = []  # position -> arxiv id
        self.positions_of: dict[str, int] = {}
        self.doc_freqs: dict[str, int] = {}
        self._kept: OrderedDict[str, npt.NDArray[np.int32]] = OrderedDict()
        self.held = 0  # positions in ``_kept``
        self.warming = False  # a warm-up of this cache has begun
        # Begun while the store's content was still moving (``follow_content``): no
        # warm-up, and replaced once the content has settled.
        self.unsettled = False
        self._lock = threading.Lock()

    def positions(self, ids: Sequence[str]) -> npt.NDArray[np.int32]:
        """The positions of ``ids``, adding new ids to the table (no Python int per id:
        the table's own are read into the array)."""
        known = self.positions_of
        return np.fromiter((known[i] for i in self.canonical(ids)), np.int32, len(ids))

    def canonical(self, ids: Iterable[str]) -> list[str]:
        """``ids`` as the id objects of the table (adding new ones): a reply's ids are
        fresh strings, and 6 M of them (a warm-up) would cost 360 MB until converted."""
        with self._lock:
            table, known = self.ids, self.positions_of
            out: list[str] = []
            for i in ids:
                p = known.get(i)
                if p is None:
                    p = known[i] = len(table)
                    table.append(i)
                out.append(table[p])
        return out

    def __contains__(self, key: str) -> bool:
        """Whether ``key`` is kept (without counting as a use)."""
        return key in self._kept

    def get(self, key: str) -> npt.NDArray[np.int32] | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: str, positions: npt.NDArray[np.int32]) -> None:
        """Keep ``positions`` under ``key`` (unless larger than the whole budget),
        dropping the least recently used entries to stay within it."""
        with self._lock:
            if key in self._kept or positions.size > self.budget:
                return
            while self._kept and self.held + positions.size > self.budget:
                _, dropped = self._kept.popitem(last=False)
                self.held -= dropped.size
            self._kept[key] = positions
            self.held += positions.size

    def mask(self, positions: npt.NDArray[np.int32], size: int) -> npt.NDArray[np.bool_]:
        out = np.zeros(size, dtype=bool)
        out[positions] = True
        return out


@dataclass(frozen=True)
class _MatchSet:
    """A match set as a mask over a ``_HolderCache``'s id table."""

    cache: _HolderCache
    mask: npt.NDArray[np.bool_]

    def total(self) -> int:
        return int(np.count_nonzero(self.mask))

    def held(self, ids: Iterable[str]) -> npt.NDArray[np.bool_]:
        """Whether each of ``ids`` is in the set, in one array lookup (not a numpy scalar
        per id: a hybrid search asks about every semantic match, 10,000s of them)."""
        known = self.cache.positions_of
        size = self.mask.size
        at = np.fromiter((known.get(i, size) for i in ids), np.int64)
        inside = at < size
        out = np.zeros(at.size, dtype=bool)
        out[inside] = self.mask[at[inside]]
        return out

    def among(self, ids: Iterable[str]) -> frozenset[str]:
        """Those of ``ids`` that are in the set."""
        asked = list(ids)
        return frozenset(itertools.compress(asked, self.held(asked).tolist()))

    def ids(self) -> list[str]:
        table = self.cache.ids
        return [table[p] for p in np.flatnonzero(self.mask)]


def _filter_key(expr: str) -> str:
    return f"\x00filter {expr}"  # never a word (words have no control characters)


def _phrase_key(tokens: Sequence[str]) -> str:
    return "\x00phrase " + " ".join(tokens)


_DELETE = None

_lite_lock = threading.Lock()
_lite_users: dict[str, int] = {}


def _is_lite(uri: str) -> bool:
    return uri.endswith(".db")


class MilvusIndex:
    """``SearchIndex`` in a Milvus collection.

    ``dim`` fixes the vector size; without it the collection is created with the size of
    the first vector committed, or ``dim_provider()`` (the embedding model's) when the
    first commit has no vectors. ``index_type`` (``auto`` or a Milvus index type),
    ``index_params`` and ``search_params`` choose the vector index when the collection is
    created and how it is searched (defaults: ``VECTOR_INDEX_DEFAULTS``). ``max_topk``
    is the most hits one search returns (Milvus's cap; tests lower it to reach the
    slicing of match sets with a small corpus). ``holders_budget`` bounds the word
    holders kept for match sets (``HOLDERS_BUDGET``, in ids); from ``warm_min_docs``
    documents on, the first match set after a change starts ``warm_up`` in a thread,
    which up to ``df_scan_max`` documents also counts every term's frequency
    (``DF_SCAN_MAX``).

    Counts are exact ``count(*)`` queries, cached: this process's commits renew them at
    once; ``refresh()`` (the search service calls it every 2 s) renews counts older than
    ``count_ttl`` seconds, so another process's commits show in them within that time
    (searches see them at once).
    """

    name = "milvus"
    parallel_reads = True  # round trips; the client and the holder cache are thread-safe
    members_by_id = False  # each question works out the match set (``_matching``)
    # No: the author-name merge takes each list's best k before adding them up, and ties
    # at the cut come back in no set order.
    prefix_rankings = False

    def __init__(
        self,
        uri: str,
        *,
        collection: str = "papers",
        analyzer: str = "english",
        token: str | None = None,
        dim: int | None = None,
        dim_provider: Callable[[], int] | None = None,
        count_ttl: float = 1.0,
        index_type: str = "auto",
        index_params: Mapping[str, Any] | None = None,
        search_params: Mapping[str, Any] | None = None,
        max_topk: int = MAX_TOPK,
        holders_budget: int = HOLDERS_BUDGET,
        warm_min_docs: int = WARM_MIN_DOCS,
        df_scan_max: int = DF_SCAN_MAX,
    ) -> None:
        from pymilvus import MilvusClient

        self.uri = uri
        self.collection = collection
        self.analyzer = analyzer
        self.index_type = index_type
        self._index_params = dict(index_params or {})
        self._search_params = dict(search_params or {})
        self._text = _Analyzer(analyzer)
        self._names = _Analyzer("standard")
        self._configured_dim = dim
        self._dim_provider = dim_provider
        self._lock = threading.RLock()
        self._pending: dict[str, _Pending | None] = {}
        self._counts: tuple[int, int] | None = None
        self.holders_budget = holders_budget
        self._holders = _HolderCache(holders_budget)
        self._holders_rows = -1  # the collection's size when the holders were renewed
        self._generation: int | None = None  # the content generation last told
        self._raw_search = True  # read search replies' ids directly (``_search_columns``)
        self.warm_min_docs = warm_min_docs
        self.df_scan_max = df_scan_max
        self._slices: list[_Slice] | None = None
        self.max_topk = max_topk
        self._counted_at = 0.0
        self.count_ttl = count_ttl
        self._dim: int | None = None
        self._exists = False
        self._outdated: set[str] = set()
        self.vector_index: str | None = None  # the collection's vector index type
        self._lite_path: str | None = None
        if _is_lite(uri):
            path = str(Path(uri).expanduser().resolve())
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with _lite_lock:
                _lite_users[path] = _lite_users.get(path, 0) + 1
            self._lite_path = path
            uri = path
        try:
            self._client = MilvusClient(uri=uri, token=token or "", grpc_options=GRPC_OPTIONS)
        except Exception:
            self._release_lite()
            raise
        self._load_schema()

    def __repr__(self) -> str:
        return f"MilvusIndex({self.uri!r}, collection={self.collection!r})"

    # ------------------------------------------------------------------ collection

    def _load_schema(self) -> None:
        """Learn whether the collection exists, its vector size and index; load it."""
        self._exists = bool(self._client.has_collection(self.collection))
        self._dim = None
        self.vector_index = None
        self._outdated = set()
        if not self._exists:
            return
        info = self._client.describe_collection(self.collection)
        names = {str(f.get("name")) for f in info.get("fields", [])}
        self._outdated = set(_REQUIRED_FIELDS - names)
        for f in info.get("fields", []):
            if f.get("name") == "vector":
                self._dim = int(f.get("params", {}).get("dim"))
        for index_name in self._client.list_indexes(self.collection, field_name="vector"):
            described = self._client.describe_index(self.collection, index_name=index_name)
            self.vector_index = str(described.get("index_type") or "") or None
        self._client.load_collection(self.collection)

    def _require_current(self) -> None:
        if self._outdated:
            raise MilvusIndexError(
                f"Milvus collection {self.collection!r} was created by an older paperwire "
                f"(no {', '.join(sorted(self._outdated))}): run `paperwire index --rebuild --clear`"
            )

    def _create(self, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self._client
        s = c.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("arxiv_id", DataType.VARCHAR, is_primary=True, max_length=64)
        analyzers = {"text": self.analyzer, "authors": "standard", "author_pairs": "standard"}
        for src, analyzer in analyzers.items():
            s.add_field(
                src,
                DataType.VARCHAR,
                max_length=_VARCHAR_MAX,
                enable_analyzer=True,
                analyzer_params={"type": analyzer},
            )
            s.add_field(f"{src}_sparse", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(
                Function(
                    name=f"{src}_bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=[src],
                    output_field_names=[f"{src}_sparse"],
                )
            )
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        s.add_field("has_vector", DataType.BOOL)
        s.add_field("published", DataType.INT64)
        s.add_field("has_code", DataType.BOOL)
        s.add_field(
            "categories",
            DataType.ARRAY,
            element_type=DataType.VARCHAR,
            max_capacity=_CATEGORIES_CAPACITY,
            max_length=_CATEGORY_MAX,
        )
        s.add_field("organization", DataType.VARCHAR, max_length=_SHORT_MAX)
        # IndexDoc.fingerprint() and vector_fingerprint(), for inventory() (paperwire doctor).
        s.add_field("fp", DataType.VARCHAR, max_length=_FP_MAX)
        s.add_field("vfp", DataType.VARCHAR, max_length=_FP_MAX)
        # Searches: "Session" — a process sees its own commits at once (read-your-writes)
        # without waiting for the cluster's latest timestamp on every search, as "Strong"
        # would (up to a time tick, 200 ms by default). Counts and commit's reads: "Strong".
        self._while_starting(
            lambda: c.create_collection(self.collection, schema=s, consistency_level="Session")
        )
        try:
            self._create_indexes()
            c.load_collection(self.collection)
        except Exception:
            c.drop_collection(self.collection)  # a retry with other settings starts clean
            raise
        self._exists = True
        self._outdated = set()
        self._dim = dim

    @staticmethod
    def _while_starting(call: Callable[[], Any], seconds: float = STARTING_WAIT) -> Any:
        """``call()``, tried again while the server says it is still starting: a Milvus
        Lite server accepts connections before its segment core is ready and refuses a
        first ``create_collection`` with "Mmap manager has not been init" (seen once in
        ~600 backend test runs)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                return call()
            except Exception as exc:
                if "has not been init" not in str(exc) or time.monotonic() >= deadline:
                    raise
                log.info("Milvus is still starting (%s); trying again", exc)
                time.sleep(0.5)

    def _create_indexes(self) -> None:
        c = self._client
        ip = c.prepare_index_params()
        for src in ("text", "authors", "author_pairs"):
            ip.add_index(f"{src}_sparse", index_type="SPARSE_INVERTED_INDEX",
                         metric_type="BM25", params=_BM25)  # fmt: skip
        for scalar in ("published", "has_code", "has_vector", "organization"):
            ip.add_index(scalar, index_type="INVERTED")
        # Indexes on an empty collection are ready at once; not waiting per index saves
        # 0.5 s of polling each.
        c.create_index(self.collection, ip, sync=False)
        self.vector_index = self._create_vector_index()
        # A cluster indexes ARRAY fields; Milvus Lite refuses ("Only int, varchar, float,
        # double and bool fields support scalar index"; its 3.x server said "field type
        # ARRAY does not support scalar index"). The category filter works either way.
        ip = c.prepare_index_params()
        ip.add_index("categories", index_type="INVERTED")
        try:
            with _expected_refusal():
                c.create_index(self.collection, ip, sync=False)
        except Exception as exc:  # any refusal: the filter works unindexed
            log.info("Milvus: no scalar index on categories (%s); filtering without", exc)

    def _create_vector_index(self) -> str:
        """Build the configured vector index; ``auto``: HNSW, or FLAT where refused."""
        from pymilvus.exceptions import MilvusException

        kind = self.index_type
        if kind == "auto":
            kind = LITE_VECTOR_INDEX if self._lite_path is not None else "HNSW"
        try:
            with _expected_refusal(quiet=self.index_type == "auto"):
                self._add_vector_index(kind)
        except MilvusException as exc:
            if self.index_type != "auto" or "local mode" not in str(exc):
                raise MilvusIndexError(
                    f"Milvus refused vector index {kind} {self._build_params(kind)} on "
                    f"{self.uri}: {exc} (PAPERWIRE_MILVUS_INDEX_TYPE, "
                    "PAPERWIRE_MILVUS_INDEX_PARAMS)"
                ) from exc
            # A Milvus Lite server: its local mode builds FLAT, IVF_FLAT, AUTOINDEX only.
            kind = LITE_VECTOR_INDEX
            log.info("Milvus at %s refused HNSW (Milvus Lite); using %s", self.uri, kind)
            self._add_vector_index(kind)
        return kind

    def _build_params(self, kind: str) -> dict[str, Any]:
        return self._index_params or dict(VECTOR_INDEX_DEFAULTS.get(kind, ({}, {}))[0])

    def _add_vector_index(self, kind: str) -> None:
        ip = self._client.prepare_index_params()
        ip.add_index("vector", index_type=kind, metric_type="COSINE",
                     params=self._build_params(kind))  # fmt: skip
        self._client.create_index(self.collection, ip, sync=False)

    def _vector_search_params(self, k: int) -> dict[str, Any]:
        params = self._search_params or dict(
            VECTOR_INDEX_DEFAULTS.get(self.vector_index or "", ({}, {}))[1]
        )
        params = dict(params)
        if "ef" in params:  # HNSW needs ef >= k
            params["ef"] = max(int(params["ef"]), k)
        return {"metric_type": "COSINE", "params": params}

    def _ensure_collection(self, first_vector_dim: int | None) -> bool:
        """Create the collection unless it exists; whether this call created it."""
        if self._exists:
            return False
        self._load_schema()  # another process may have created it meanwhile
        if self._exists:
            return False
        dim = self._configured_dim or first_vector_dim
        if dim is None and self._dim_provider is not None:
            dim = self._dim_provider()
        if dim is None:
            raise MilvusIndexError(
                f"cannot create Milvus collection {self.collection!r}: vector size unknown"
            )
        self._create(dim)
        return True

    def _missing(self, exc: Exception) -> bool:
        """True (and forget the collection) when ``exc`` says it does not exist."""
        text = str(exc).lower()
        if "not found" in text or "not exist" in text or "can't find" in text:
            self._exists = False
            self._forget_counts()
            return True
        return False

    # ------------------------------------------------------------------ writing

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        with self._lock:
            dim = self._dim or self._configured_dim
            for doc in docs:
                if doc.vector is not None:
                    v = np.asarray(doc.vector, dtype=np.float32).reshape(-1)
                    if dim is not None and v.shape[0] != dim:
                        raise VectorDimensionError.written(doc.arxiv_id, v.shape[0], dim)
                    self._pending[doc.arxiv_id] = _Pending(doc, v, lookup=False)
                    continue
                if doc.arxiv_id in self._pending:
                    prev = self._pending[doc.arxiv_id]
                    if prev is _DELETE:  # deleted in this batch: no vector any more
                        self._pending[doc.arxiv_id] = _Pending(doc, None, lookup=False)
                    else:
                        self._pending[doc.arxiv_id] = _Pending(doc, prev.vector, prev.lookup)
                else:
                    self._pending[doc.arxiv_id] = _Pending(doc, None, lookup=True)

    def delete(self, arxiv_ids: Sequence[str]) -> None:
        with self._lock:
            for arxiv_id in arxiv_ids:
                self._pending[arxiv_id] = _DELETE

    def _read_vectors(self, ids: Sequence[str], consistency: str) -> dict[str, Vector]:
        found: dict[str, Vector] = {}
        for start in range(0, len(ids), _READ_BATCH):
            rows = self._client.query(
                self.collection,
                filter=_id_list(ids[start : start + _READ_BATCH]) + " and has_vector == true",
                output_fields=["arxiv_id", "vector"],
                consistency_level=consistency,
            )
            for row in rows:
                found[str(row["arxiv_id"])] = np.asarray(row["vector"], dtype=np.float32)
        return found

    def _row(self, p: _Pending, dim: int) -> dict[str, Any]:
        d = p.doc
        title = _one_line(d.title)
        abstract = _one_line(d.abstract)
        authors = [a for a in (_one_line(x) for x in d.authors) if a]
        pairs = [pair for a in authors for pair in _pairs(self._names.tokens(a))]
        categories = sorted({_keyword(c) for c in d.categories if _keyword(c)})
        categories = [_clip(c, _CATEGORY_MAX) for c in categories][:_CATEGORIES_CAPACITY]
        # Milvus needs a value in every vector field; has_vector excludes placeholders.
        vector = (
            [float(x) for x in p.vector.tolist()]
            if p.vector is not None
            else _placeholder_vector(d.arxiv_id, dim)
        )
        return {
            "arxiv_id": d.arxiv_id,
            "text": _clip(f"{title}\n{abstract}", _VARCHAR_MAX),
            "authors": _clip("\n".join(authors), _VARCHAR_MAX),
            "author_pairs": _clip(" ".join(pairs), _VARCHAR_MAX),
            "vector": vector,
            "has_vector": p.vector is not None,
            "published": d.published.toordinal() if d.published is not None else -1,
            "has_code": bool(d.has_code),
            "categories": categories,
            "organization": _clip(_keyword(d.organization), _SHORT_MAX),
            "fp": d.fingerprint(),
            "vfp": IndexDoc(
                d.arxiv_id, "", "", [], [], None, None, False, p.vector
            ).vector_fingerprint()
            or "",
        }

    def commit(self) -> None:
        with self._lock:
            self._forget_counts()
            pending = self._pending  # kept until written: a failed commit can be retried
            if not pending:
                return
            deletes = [i for i, p in pending.items() if p is _DELETE]
            writes = [p for p in pending.values() if p is not None]
            first_dim = next((int(p.vector.shape[0]) for p in writes if p.vector is not None), None)
            if not self._exists and not writes:
                self._load_schema()
                if not self._exists:
                    self._pending = {}
                    return  # deleting from a collection that does not exist
            created = self._ensure_collection(first_dim)
            self._require_current()
            dim = self._dim
            assert dim is not None
            for p in writes:
                if p.vector is not None and p.vector.shape[0] != dim:
                    raise VectorDimensionError.written(
                        p.doc.arxiv_id,
                        p.vector.shape[0],
                        dim,
                        f"the Milvus collection {self.collection!r}",
                    )
            # A new collection holds no vectors to keep (and Milvus Lite fails to read
            # vectors from an empty IVF_FLAT collection: "Growing segment loss raw data").
            lookups = [] if created else [p.doc.arxiv_id for p in writes if p.lookup]
            stored = self._read_vectors(lookups, "Strong") if lookups else {}
            for p in writes:
                if p.lookup:
                    p.vector, p.lookup = stored.get(p.doc.arxiv_id), False
            for start in range(0, len(deletes), _READ_BATCH):
                self._client.delete(self.collection, ids=deletes[start : start + _READ_BATCH])
            for start in range(0, len(writes), _WRITE_BATCH):
                rows = [self._row(p, dim) for p in writes[start : start + _WRITE_BATCH]]
                self._client.upsert(self.collection, rows)
            self._pending = {}
            self._forget_counts()

    def rollback(self) -> None:
        with self._lock:
            self._pending = {}

    def clear(self) -> None:
        """Drop every document and every pending change (drops the collection)."""
        with self._lock:
            self._pending = {}
            self._forget_counts()
            self._slices = None
            if self._client.has_collection(self.collection):
                self._client.drop_collection(self.collection)
            self._exists = False
            self._outdated = set()
            self._dim = None
            self.vector_index = None

    def close(self) -> None:
        """Discard uncommitted changes and close the connection."""
        with self._lock:
            self._pending = {}
            client = self.__dict__.pop("_client", None)
            if client is not None:
                try:
                    client.close()
                finally:
                    self._release_lite()

    def _release_lite(self) -> None:
        path, self._lite_path = self._lite_path, None
        if path is None:
            return
        with _lite_lock:
            users = _lite_users.get(path, 1) - 1
            if users > 0:
                _lite_users[path] = users
                return
            _lite_users.pop(path, None)
        # The last user in this process: stop the Milvus Lite process that pymilvus
        # started for the file, which frees the data file for other processes.
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(path)

    # ------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Notice another process's commits: renew counts older than ``count_ttl`` and the
        schema if the collection was created or dropped (searches need no refresh)."""
        with self._lock:
            if time.monotonic() - self._counted_at >= self.count_ttl:
                self._counts = None  # word holders: see ``_all_counts``
            if not self._exists or not self._client.has_collection(self.collection):
                self._load_schema()  # created or dropped meanwhile

    def _forget_counts(self) -> None:
        """Forget the cached counts and word holders (this process wrote)."""
        with self._lock:
            self._counts = None
            self._holders = self._new_holders()

    def _new_holders(self, unsettled: bool | None = None) -> _HolderCache:
        """An empty holder cache, unsettled if the one it replaces was (unless told)."""
        cache = _HolderCache(self.holders_budget)
        cache.unsettled = self._holders.unsettled if unsettled is None else unsettled
        return cache

    def _renew_holders(self, rows: int) -> None:
        """Forget the kept word holders when the collection's size changed (another
        process wrote): kept across the counts' renewals every second, they spare the
        searches of every common word's holders. A search that began before keeps
        filling the cache it began with, now unused."""
        if rows != self._holders_rows:
            self._holders = self._new_holders()
            self._holders_rows = rows

    def follow_content(self, generation: int, settled: bool) -> None:
        """Renew the kept word holders when the store's content generation moved (any
        process edited, added, hid or embedded papers; a vote or a comment does not): an edit
        elsewhere may keep the collection's size. The holders begun while it still moves
        are not warmed up and are renewed once more when it has ``settled`` (the index
        follows the store within seconds; an ingest commits batch after batch). The
        first generation told is only noted: what is kept is as new as this process's
        first look at the collection."""
        with self._lock:
            if self._generation is None:
                self._generation = generation
            elif generation != self._generation:
                self._generation = generation
                self._holders = self._new_holders(unsettled=not settled)
            elif settled and self._holders.unsettled:
                self._holders = self._new_holders(unsettled=False)

    def _count(self, expr: str, consistency: str = "Strong") -> int:
        rows = self._client.query(
            self.collection, filter=expr, output_fields=["count(*)"], consistency_level=consistency
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def _all_counts(self) -> tuple[int, int]:
        with self._lock:
            if self._counts is None:
                if not self._exists:
                    return (0, 0)
                try:
                    self._counts = (self._count(""), self._count("has_vector == true"))
                    self._counted_at = time.monotonic()
                    self._renew_holders(self._counts[0])
                except Exception as exc:
                    if self._missing(exc):
                        return (0, 0)
                    raise
            return self._counts

    def keyword_count(self) -> int:
        return self._all_counts()[0]

    def inventory(self) -> IndexInventory:
        """Every row's id and fingerprints, read in pages."""
        found = IndexInventory()
        if not self._exists:
            return found
        self._require_current()
        it = self._client.query_iterator(
            self.collection,
            batch_size=_READ_BATCH,
            filter="",
            output_fields=["arxiv_id", "has_vector", "fp", "vfp"],
        )
        try:
            while rows := it.next():
                for row in rows:
                    arxiv_id, fp = str(row["arxiv_id"]), str(row["fp"])
                    found.keyword[arxiv_id] = fp
                    if row["has_vector"]:
                        found.vectors[arxiv_id] = f"{fp}:{row['vfp']}"
        finally:
            it.close()
        return found

    def vector_count(self) -> int:
        return self._all_counts()[1]

    def vector_dim(self) -> int | None:
        """The collection's vector length (fixed when it was made); None before it is."""
        return self._dim if self._exists else None

    def warm(self) -> None:
        """Nothing to build: the server holds its own indexes."""

    def data_files(self) -> list[Path]:
        """None: the server reads its own files."""
        return []

    def vectors_of(self, arxiv_ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of those of ``arxiv_ids`` that have one, in one query."""
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids or not self._exists:
            return {}
        try:
            return self._read_vectors(ids, "Session")
        except Exception as exc:
            if self._missing(exc):
                return {}
            raise

    def vector_of(self, arxiv_id: str) -> Vector | None:
        return self.vectors_of([arxiv_id]).get(arxiv_id)

    def cosines_of(self, vector: Vector, arxiv_ids: Sequence[str]) -> dict[str, float]:
        """One search among ``arxiv_ids`` (``arxiv_id in [...]``, limit: all of them):
        the server scores the papers where their vectors are, where ``vectors_of`` sends
        every vector back as Python floats (74.7k papers, 100 ids: ~3 vs ~17 ms). An
        exact (FLAT) index answers for every paper with a vector; an approximate one may
        leave some out, and those are read and scored here."""
        ids = list(dict.fromkeys(arxiv_ids))
        q = self._unit_query(vector)
        if not ids or q is None:
            return {}
        found: dict[str, float] = {}
        try:
            for start in range(0, len(ids), _ID_FILTER_MAX):
                chunk = ids[start : start + _ID_FILTER_MAX]
                expr = self._join(["has_vector == true", _id_list(chunk)])
                params = self._vector_search_params(len(chunk))
                hit_ids, scores = self._search_columns(
                    "vector", [q.tolist()], expr, len(chunk), params
                )[0]
                found.update(zip(hit_ids, (float(s) for s in scores), strict=True))
            if self.vector_index != "FLAT":  # approximate: some may be missing
                rest = [i for i in ids if i not in found]
                found.update(cosines(q, self._read_vectors(rest, "Session")) if rest else {})
        except Exception as exc:
            if self._missing(exc):
                return {}
            raise
        return found

    # ------------------------------------------------------------------ filters

    @staticmethod
    def filter_expression(filters: SearchFilters) -> list[str]:
        """``filters`` as Milvus boolean expressions (to be joined with ``and``)."""
        parts: list[str] = []
        if filters.dated():
            low = filters.date_from.toordinal() if filters.date_from is not None else 0
            parts.append(f"published >= {low}")  # -1 (undated) never passes a date filter
            if filters.date_to is not None:
                parts.append(f"published <= {filters.date_to.toordinal()}")
        if filters.category is not None:
            category = milvus_literal(_keyword(filters.category))
            parts.append(f"ARRAY_CONTAINS(categories, {category})")
        if filters.organization is not None:
            parts.append(f"organization == {milvus_literal(_keyword(filters.organization))}")
        if filters.has_code is not None:
            parts.append(f"has_code == {'true' if filters.has_code else 'false'}")
        return parts

    @staticmethod
    def _join(parts: Iterable[str]) -> str:
        return " and ".join(p for p in parts if p)  # no part has a top-level ``or``

    # ------------------------------------------------------------------ keyword search

    def _search_many(
        self,
        field: str,
        data: list[Any],
        expr: str,
        limit: int,
        params: dict[str, Any],
        output: Sequence[str] = (),
        offset: int = 0,
    ) -> list[list[Hit]]:
        """The hits of each of ``data`` (one round trip per ``_NQ_MAX`` of them)."""
        extra = {"offset": offset} if offset else {}
        found: list[list[Hit]] = []
        for start in range(0, len(data), _NQ_MAX):
            result = self._client.search(
                self.collection,
                data=data[start : start + _NQ_MAX],
                anns_field=field,
                limit=limit,
                filter=expr,
                search_params=params,
                output_fields=list(output),
                consistency_level="Session",
                **extra,
            )
            found.extend(list(hits) for hits in result)
        return found

    def _bm25(
        self,
        field: str,
        words: list[str],
        parts: Sequence[str],
        k: int,
        check: Check | None = None,
        output: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """BM25 hits ``(id, score)`` of ``words`` on ``field``, best first; ``check``
        post-filters (a hit holds the ``output`` fields), fetching further pages until
        ``k`` hits pass or nothing more can come."""
        text = " ".join(words)
        expr = self._join(parts)
        params = {"metric_type": "BM25"}
        limit = min(k if check is None else max(2 * k, 50), self.max_topk)
        offset = 0
        kept: list[Hit] = []
        while True:
            hits = self._search_many(field, [text], expr, limit, params, output, offset)[0]
            for hit in hits:  # best first: the first k that pass are the top k
                if check is None or check(hit):
                    kept.append(hit)
                    if len(kept) >= k:
                        break
            offset += len(hits)
            if len(kept) >= k or len(hits) < limit or offset >= self.max_topk:
                break
            limit = min(limit * 4, self.max_topk - offset)
        # Milvus returns BM25 scores as positive similarities, Milvus Lite 3.x as negative
        # distances; both best first, so the magnitude is the BM25 score.
        return [(_hit_id(h), abs(float(h["distance"]))) for h in kept[:k]]

    def _name_hits(
        self, name: list[str], parts: Sequence[str], k: int, constraints: _Constraints
    ) -> list[tuple[str, float]]:
        """Papers with an author named ``name`` (and passing ``constraints``), by BM25 over
        the name's word pairs (one word: over author words)."""
        if len(name) == 1:  # every hit has the word: nothing to check
            field, words, runs = "authors_sparse", name, []
        else:  # a pair lies inside one author; 3+ words can span two: check
            field, words, runs = "author_pairs_sparse", _pairs(name), [name]
        both = _Constraints(constraints.phrases, runs, constraints.allowed)
        check = both.check(self._text, self._names)
        return self._bm25(field, words, parts, k, check, both.output())

    def _author_matches(
        self, names: list[list[str]], parts: Sequence[str], phrases: list[list[str]], k: int
    ) -> dict[str, float]:
        """Ids of the papers by every one of ``names`` (``author:``), with the sum of their
        name scores: the best ``k`` for one name, all (up to ``max_topk``) for several;
        phrases are checked here too, as the hits carry their text."""
        limit = k if len(names) == 1 else self.max_topk
        found: dict[str, float] | None = None
        for name in names:
            hits = self._name_hits(name, parts, limit, _Constraints(phrases, [], found))
            scores = dict(hits)
            found = scores if found is None else {i: found[i] + s for i, s in scores.items()}
            if not found:
                break
        return found or {}

    def keyword_search_with_members(
        self, query: KeywordQuery, filters: SearchFilters, k: int, min_coverage: float
    ) -> tuple[Ranked, frozenset[str]]:
        """``keyword_search`` and no member known from the scores: the search asks
        ``keyword_match_members`` (one array lookup in the holder cache) about all."""
        return self.keyword_search(query, filters, k), frozenset()

    def keyword_search(self, query: KeywordQuery, filters: SearchFilters, k: int) -> Ranked:
        if k <= 0 or not self._exists:
            return Ranked()
        self._require_current()
        k = min(k, self.max_topk)
        term_words = [w for t in query.terms for w in self._text.words(t)]
        phrase_words = [p for p in (self._text.words(x) for x in query.phrases) if p]
        names = [n for n in (self._names.tokens(a) for a in query.authors) if n]
        phrases = [self._text.tokens(" ".join(p)) for p in phrase_words]
        parts = self.filter_expression(filters)
        text_words = term_words + [w for p in phrase_words for w in p]
        try:
            # The papers holding the phrases (kept: ``_phrase_holders``): where they are
            # few, the text search is asked among them only, instead of paging through
            # BM25 hits until k of them hold the phrase (a rare phrase of common words:
            # the whole collection's texts, ~8 s at 74.7k papers).
            held = self._phrase_holder_ids(phrase_words)
            if held is not None and not held:
                return Ranked()
            allowed: Collection[str] | None = held
            if names:  # alone, the top k by name are the answer; else all candidates
                enough = self.max_topk if text_words else k
                authored = self._author_matches(names, parts, phrases, enough)
                if held is not None:
                    authored = {i: s for i, s in authored.items() if i in held}
                if not text_words or not authored:
                    return self._ranked(authored, k)
                allowed = authored
            if allowed is not None and len(allowed) <= _ID_FILTER_MAX:
                parts = [*parts, _id_list(sorted(allowed))]
            constraints = _Constraints(phrases, [], allowed)
            check = constraints.check(self._text, self._names)
            output = constraints.output()
            scores = dict(self._bm25("text_sparse", text_words, parts, k, check, output))
            name = self._names.tokens(" ".join(query.terms))
            if term_words and len(query.terms) >= 2 and 2 <= len(name) <= MAX_AUTHOR_NAME_TOKENS:
                by_name = self._name_hits(name, parts, k, constraints)
                # Fewer than k text hits: every paper with a text score is among them.
                rest = parts if len(scores) >= k else None
                self._add_author_name(scores, by_name, rest, text_words)
        except Exception as exc:
            if self._missing(exc):
                return Ranked()
            raise
        return self._ranked(scores, k)

    def _add_author_name(
        self,
        scores: dict[str, float],
        by_name: list[tuple[str, float]],
        parts: Sequence[str] | None,
        text_words: list[str],
    ) -> None:
        """Add ``AUTHOR_NAME_BOOST`` × the name score to the papers of the author; first
        look up the text scores of those that were not among the text hits, unless
        ``parts`` (the text search's filter) is None: they have none."""
        if not by_name:
            return
        missing = [i for i, _ in by_name if i not in scores]
        if missing and parts is not None:
            scores.update(
                self._bm25("text_sparse", text_words, [*parts, _id_list(missing)], len(missing))
            )
        for arxiv_id, s in by_name:
            scores[arxiv_id] = scores.get(arxiv_id, 0.0) + AUTHOR_NAME_BOOST * s

    @staticmethod
    def _ranked(scores: dict[str, float], k: int) -> Ranked:
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return Ranked(ids=[i for i, _ in best], scores=[s for _, s in best])

    # ------------------------------------------------------------------ vector search

    def _unit_query(self, vector: Vector) -> Vector | None:
        """``vector`` scaled to length 1; None when there is nothing to search or it has
        no direction."""
        if not self._exists or self._dim is None:
            return None
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != self._dim:
            raise VectorDimensionError(
                f"query vector has {q.shape[0]} dimensions, the index has {self._dim}"
            )
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or norm == 0.0:
            return None
        return q / norm

    def vector_search(
        self, vector: Vector, filters: SearchFilters, k: int, exclude: Sequence[str] = ()
    ) -> Ranked:
        q = self._unit_query(vector)
        if k <= 0 or q is None:
            return Ranked()
        k = min(k, self.max_topk)
        parts = ["has_vector == true", *self.filter_expression(filters)]
        if exclude:
            parts.append(f"arxiv_id not in [{', '.join(milvus_literal(i) for i in exclude)}]")
        params = self._vector_search_params(k)
        try:
            hits = self._search_many("vector", [q.tolist()], self._join(parts), k, params)[0]
        except Exception as exc:
            if self._missing(exc):
                return Ranked()
            raise
        return self._ranked({_hit_id(h): float(h["distance"]) for h in hits}, k)

    def vector_search_many(
        self, vectors: Sequence[Vector], filters: SearchFilters, k: int
    ) -> list[Ranked]:
        """``vector_search`` of each of ``vectors`` in one search request (``nq``)."""
        queries = [self._unit_query(v) for v in vectors]
        out = [Ranked() for _ in queries]
        live = [i for i, q in enumerate(queries) if q is not None]
        if k <= 0 or not live:
            return out
        k = min(k, self.max_topk)
        expr = self._join(["has_vector == true", *self.filter_expression(filters)])
        data = [q.tolist() for q in queries if q is not None]
        try:
            found = self._search_many("vector", data, expr, k, self._vector_search_params(k))
        except Exception as exc:
            if self._missing(exc):
                return out
            raise
        for i, hits in zip(live, found, strict=True):
            out[i] = self._ranked({_hit_id(h): float(h["distance"]) for h in hits}, k)
        return out

    # ------------------------------------------------------------------ match sets
    # The match-set contract (exact totals and full sorts, "more like this") without
    # ``TEXT_MATCH`` (Milvus Lite 2.5 has none). The documents holding a word are the hits
    # of a one-word BM25 search: every hit holds the word, and a search whose limit exceeds
    # the word's documents returns them all. The semantic matches are a range search
    # (``radius``: every cosine above the floor). One search asks for many words at once
    # (``nq``). A search returns at most ``max_topk`` hits (Milvus's top-k cap), so a word
    # in more documents (or a query with more semantic matches) is searched again in each
    # *slice* of the collection (``_Slice``): disjoint parts, each holding fewer rows than
    # the cap, so every slice's answer is complete. Round trips per call: one search, plus
    # one per slice when some word fills the cap (a slice search asks for all such words
    # at once); the slices (count queries) are cut once and kept while they stay small.

    def _whole_slices(self) -> list[_Slice]:
        """The collection cut into slices of fewer than ``max_topk`` rows (kept)."""
        slices = self._slices
        if slices is None:
            whole = _Slice()
            slices = self._slices = self._cut(whole, self._slice_count(whole))
        return slices

    def _cut(self, piece: _Slice, size: int) -> list[_Slice]:
        """``piece`` (holding ``size`` rows) as slices of fewer than ``max_topk`` rows,
        neighbours merged while they stay under it (so no empty day range is left alone,
        and none is dropped: rows written there later must be found)."""
        merged: list[tuple[_Slice, int]] = []
        for part, n in self._split(piece, size):
            if merged and merged[-1][0].joins(part) and merged[-1][1] + n < self.max_topk:
                prev, m = merged.pop()
                part, n = replace(prev, last=part.last), m + n
            merged.append((part, n))
        return [part for part, _ in merged]

    def _split(self, piece: _Slice, size: int) -> list[tuple[_Slice, int]]:
        """``piece`` (holding ``size`` rows) cut into slices of fewer than ``max_topk``
        rows, with their sizes: halves of its days (one count query each), then, for one
        day that holds too many, runs of arxiv ids."""
        if size < self.max_topk:
            return [(piece, size)]
        if piece.first < piece.last:
            mid = (piece.first + piece.last) // 2
            left, right = replace(piece, last=mid), replace(piece, first=mid + 1)
            n = self._slice_count(left)
            return [*self._split(left, n), *self._split(right, max(0, size - n))]
        ids = sorted(self._ids_in(piece.expr()))
        step = self.max_topk - 1
        starts = ids[step::step]
        edges = [piece.id_from, *starts, piece.id_before]
        sizes = [min(step, len(ids) - i * step) for i in range(len(edges) - 1)]
        pieces = [replace(piece, id_from=a, id_before=b) for a, b in itertools.pairwise(edges)]
        return list(zip(pieces, sizes, strict=True))

    def _slice_count(self, piece: _Slice) -> int:
        """Rows in ``piece`` ("Session": no wait for the cluster's latest time tick; a
        slice that turns out too full is cut again when searched)."""
        return self._count(piece.expr(), "Session")

    def _ids_in(self, expr: str) -> list[str]:
        it = self._client.query_iterator(
            self.collection, batch_size=_READ_BATCH * 10, filter=expr, output_fields=["arxiv_id"]
        )
        found: list[str] = []
        try:
            while rows := it.next():
                found.extend(str(r["arxiv_id"]) for r in rows)
        finally:
            it.close()
        return found

    def _search_columns(
        self,
        field: str,
        data: list[Any],
        expr: str,
        limit: int,
        params: dict[str, Any],
        canon: Callable[[Iterable[str]], list[str]] | None = None,
    ) -> list[_Found]:
        """The ids and scores of each of ``data``'s hits, best first, read straight from
        the search reply (one round trip per ``_NQ_MAX`` of them, fewer where their hits
        could pass ``_REPLY_MAX``).

        pymilvus turns every hit into a Python dict with an entity dict; for 16,384 hits
        that took 30-100 ms of a 13-18 ms search (74.7k papers). Its asynchronous call
        hands back the gRPC future, whose reply holds the ids and scores as two columns.
        Where a pymilvus lacks that path, the hits are read the ordinary way. With
        ``canon`` (reading holders), each reply's ids become shared objects as it comes
        and no scores are read."""
        found: list[_Found] = []
        step = max(1, min(_NQ_MAX, _REPLY_MAX // max(1, limit)))
        for start in range(0, len(data), step):
            chunk = data[start : start + step]
            reply = self._raw_reply(field, chunk, expr, limit, params) if self._raw_search else None
            if reply is None:
                hits = self._search_many(field, chunk, expr, limit, params)
                found.extend(
                    ([_hit_id(h) for h in x], [float(h["distance"]) for h in x]) for x in hits
                )
                continue
            if canon is None:
                ids, scores = list(reply.ids.str_id.data), list(reply.scores)
            else:  # holders: shared ids, no scores (6 M Python floats: 190 MB)
                ids, scores = canon(reply.ids.str_id.data), []
            at = 0
            for n in reply.topks:
                found.append((ids[at : at + n], scores[at : at + n]))
                at += n
        return found

    def _raw_reply(
        self, field: str, data: list[Any], expr: str, limit: int, params: dict[str, Any]
    ) -> Any:
        """The ``SearchResultData`` of one search, or None (and never again for this
        index) where pymilvus does not hand back its gRPC future."""
        from pymilvus.client.utils import check_status

        future = self._client.search(
            self.collection,
            data=data,
            anns_field=field,
            limit=limit,
            filter=expr,
            search_params=params,
            output_fields=[],
            consistency_level="Session",
            _async=True,
        )
        grpc_future: Any = getattr(future, "_future", None)
        if not callable(getattr(grpc_future, "result", None)):
            self._raw_search = False
            log.info("Milvus: pymilvus returns no gRPC future; reading search hits one by one")
            return None
        response = grpc_future.result()
        check_status(response.status)
        reply = response.results
        if len(reply.topks) != len(data) or (reply.ids.HasField("int_id") and reply.topks[0]):
            self._raw_search = False
            return None
        return reply

    def _search_all(
        self,
        field: str,
        data: list[Any],
        parts: Sequence[str],
        params: dict[str, Any],
        limit: int | None = None,
        canon: Callable[[Iterable[str]], list[str]] | None = None,
    ) -> list[_Found]:
        """For each of ``data``: the ids and scores of every hit of a search on ``field``
        passing ``parts`` (and the ``radius`` of ``params``, if any), or, when ``limit``
        is at most the cap, of the best ``limit`` (see the section comment for the
        slices; hits from several slices are not in score order)."""
        cap = self.max_topk
        first = cap if limit is None else min(limit, cap)
        found = self._search_columns(field, data, self._join(parts), first, params, canon)
        full = [i for i, (ids, _) in enumerate(found) if len(ids) >= cap]
        if not full or (limit is not None and limit <= cap):
            return found
        for i in full:
            found[i] = ([], [])
        queries = [data[i] for i in full]
        pending = list(self._whole_slices())
        while pending:
            piece = pending.pop()
            hits = self._search_columns(
                field, queries, self._join([*parts, piece.expr()]), cap, params, canon
            )
            if any(len(ids) >= cap for ids, _ in hits):  # the slice grew since it was cut
                smaller = self._cut(piece, max(cap, self._slice_count(piece)))
                if smaller != [piece]:
                    self._slices = None
                    pending.extend(smaller)
                    continue
            for i, (ids, scores) in zip(full, hits, strict=True):
                found[i][0].extend(ids)
                found[i][1].extend(scores)
        return found

    def _cache(self) -> _HolderCache:
        """The holders kept now (renewing the counts first, which may forget them); the
        first call on new holders of a large collection starts their warm-up."""
        rows = self.keyword_count()
        cache = self._holders
        if rows >= self.warm_min_docs and not cache.warming and not cache.unsettled:
            cache.warming = True
            threading.Thread(
                target=self._warm_quietly, args=(cache,), name="milvus-warm-up", daemon=True
            ).start()
        return cache

    def _abandoned(self, cache: _HolderCache | None) -> bool:
        """Whether ``cache`` is no longer the one kept (renewed meanwhile): its warm-up
        stops, rather than spend a core on holders no search will read."""
        return cache is not None and cache is not self._holders

    def _warm_quietly(self, cache: _HolderCache) -> None:
        try:
            self._warm(cache)
        except Exception as exc:  # closed, dropped meanwhile: searches read what they need
            log.info("Milvus: warm-up of word holders stopped (%s)", exc)

    def warm_up(self) -> int:
        """Read and keep the holders of the commonest terms now (see ``_warm``); the
        number of terms read. A search process does it by itself in the background
        after each change of the collection; a benchmark calls it to time warm searches."""
        if not self._exists:
            return 0
        self.keyword_count()
        cache = self._holders
        cache.warming = True
        return self._warm(cache)

    def _warm(self, cache: _HolderCache) -> int:
        """Read the holders of the commonest terms into ``cache`` while they fill at most
        ``WARM_FILL`` of its budget. Up to ``df_scan_max`` documents (and with Milvus's
        stemmer at hand) every term's frequency is counted first (``_count_terms``) and
        the terms are taken by that count, down to the rarest where they fit (74.7k
        papers: all ~105k terms, ~8 M holders). Otherwise the terms in at least
        ``WARM_SHARE`` of the first ``WARM_SAMPLE`` documents, by their estimated
        holders (74.7k papers: ~475 terms, ~6 M holders in about 6 s). Commonest first:
        their cold reading costs most ("model": 61,008 holders, 180 ms at 74.7k papers)."""
        docs = self.keyword_count()
        if docs <= self.df_scan_max and self._text.index_stems is not None:
            return self._warm_counted(cache)
        rows = self._client.query(
            self.collection, filter="", output_fields=["text"], limit=WARM_SAMPLE
        )
        if self._abandoned(cache):
            return 0
        seen: Counter[str] = Counter()
        word_of: dict[str, str] = {}
        for row in rows:
            analysed = self._text.analysed(str(row.get("text", "")))
            for word, term in analysed:
                word_of.setdefault(str(term), word)
            seen.update({str(term) for _, term in analysed})
        least = max(1.0, WARM_SHARE * len(rows))
        room = WARM_FILL * cache.budget
        words: list[str] = []
        for term, n in seen.most_common():
            room -= n / max(1, len(rows)) * docs
            if n < least or room < 0:
                break
            words.append(word_of[term])
        self._word_holders(words, cache)
        return len(words)

    def _warm_counted(self, cache: _HolderCache) -> int:
        """``_warm`` by the counted frequencies: the commonest terms while they fit, read
        in searches whose limit is the count (rounded up to a power of two: a thousand
        rare words per search, where the cap would allow thirty); a word whose holders
        reach the limit (its count was short) is read again past the cap. What is kept is
        what Milvus answered, whatever the count said."""
        counts, word_of = self._count_terms(cache)
        if self._abandoned(cache):
            return 0
        room = WARM_FILL * cache.budget
        by_limit: dict[int, list[tuple[str, str]]] = {}  # limit -> (counted term, word)
        again: list[str] = []  # past the cap: read in slices
        taken = 0
        for counted, n in counts.most_common():
            if n > room:
                break
            room -= n
            taken += 1
            limit = 1 << n.bit_length()  # > n
            if limit <= self.max_topk:
                by_limit.setdefault(limit, []).append((counted, word_of[counted]))
            else:
                again.append(word_of[counted])
        del word_of
        params = {"metric_type": "BM25"}
        differ = 0
        for limit, pairs in sorted(by_limit.items(), reverse=True):
            if self._abandoned(cache):
                return taken
            words = [word for _, word in pairs]
            found = self._search_columns("text_sparse", words, "", limit, params, cache.canonical)
            for (counted, word), (ids, _) in zip(pairs, found, strict=True):
                term = self._term(word)
                if len(ids) >= limit:
                    again.append(word)
                    continue
                if len(ids) != counts[counted]:
                    differ += 1
                if term not in cache.doc_freqs:
                    cache.doc_freqs[term] = len(ids)
                    cache.put(term, cache.positions(ids))
        self._word_holders(again, cache)
        if differ:
            log.info("Milvus: %d of %d terms hold other than counted (kept as held)", differ, taken)
        return taken

    def _count_terms(
        self, cache: _HolderCache | None = None
    ) -> tuple[Counter[str], dict[str, str]]:
        """Every term's document frequency, from one scan of the ``text`` field cut and
        stemmed as Milvus does (``_Analyzer.index_terms``), and a word of each term (to
        send for it). 74.7k papers: ~126k distinct words, ~105k terms, 14-17 s. Stops
        early (a partial count) once ``cache`` is abandoned."""
        counts: Counter[str] = Counter()
        memo: dict[str, str | None] = {}
        it = self._client.query_iterator(
            self.collection, batch_size=_READ_BATCH * 5, filter="", output_fields=["text"]
        )
        try:
            while not self._abandoned(cache) and (rows := it.next()):
                for row in rows:
                    counts.update(self._text.index_terms(str(row.get("text", "")), memo))
        finally:
            it.close()
        word_of: dict[str, str] = {}
        for word, term in memo.items():
            if term is not None:
                word_of.setdefault(term, word)
        return counts, word_of

    def _term(self, word: str) -> str:
        """The index term of a query word (its stem for ``english``, by Milvus's own
        stemmer where installed: ``_index_stemmer``): holders and frequencies are kept
        per term, so "model" and "models" are read once."""
        tokens = self._text.tokens(word)
        if len(tokens) != 1:
            return word
        if self._text.index_stems is not None:
            return self._text.index_term(self._text.words(word)[0])
        return tokens[0]

    def _word_holders(
        self, words: Sequence[str], cache: _HolderCache
    ) -> dict[str, npt.NDArray[np.int32]]:
        """The positions (in ``cache``'s table) of the documents holding each word, from
        ``cache`` or, for those it lacks, one search for them all (sliced past the cap);
        their document frequencies are kept as a side effect."""
        terms = {w: self._term(w) for w in words}
        by_term: dict[str, npt.NDArray[np.int32]] = {}
        missing: dict[str, str] = {}  # term -> the word sent
        for w, term in terms.items():
            kept = cache.get(term)
            if kept is None:
                missing.setdefault(term, w)
            else:
                by_term[term] = kept
        if missing:
            sent = list(missing.values())
            params = {"metric_type": "BM25"}
            read = self._search_all("text_sparse", sent, [], params, canon=cache.canonical)
            for term, (ids, _) in zip(missing, read, strict=True):
                by_term[term] = cache.positions(ids)
                cache.doc_freqs[term] = len(ids)
                cache.put(term, by_term[term])
        return {w: by_term[term] for w, term in terms.items()}

    def _passing(self, parts: Sequence[str], cache: _HolderCache) -> npt.NDArray[np.int32] | None:
        """The positions of the documents passing the filter ``parts`` (kept like a
        word's holders); None without a filter."""
        expr = self._join(parts)
        if not expr:
            return None
        key = _filter_key(expr)
        kept = cache.get(key)
        if kept is None:
            kept = cache.positions(self._ids_in(expr))
            cache.put(key, kept)
        return kept

    def _doc_freqs(self, words: Sequence[str]) -> dict[str, int]:
        """How many documents hold each word (kept: see ``_HolderCache``)."""
        cache = self._cache()
        missing = [w for w in dict.fromkeys(words) if self._term(w) not in cache.doc_freqs]
        if missing:
            self._word_holders(missing, cache)
        return {w: cache.doc_freqs[self._term(w)] for w in words}

    def _matching(
        self, query: KeywordQuery, filters: SearchFilters, min_coverage: float
    ) -> _MatchSet | None:
        """The keyword matches (without ``also``) as positions in the holder cache, or
        None when nothing can match."""
        phrase_words = [p for p in (self._text.words(p) for p in query.phrases) if p]
        words = [w for t in query.terms for w in self._text.words(t)]
        if words:  # phrase words count towards coverage (as in the embedded backend)
            words += [w for p in phrase_words for w in p]
        # one word per analysed term, as the contract counts terms ("models" = "model")
        by_term: dict[str, str] = {}
        for w in words:
            by_term.setdefault(self._term(w), w)
        words = list(by_term.values())
        names = [n for n in (self._names.tokens(a) for a in query.authors) if n]
        if not (words or phrase_words or names):
            return None
        phrases = [self._text.tokens(" ".join(p)) for p in phrase_words]
        parts = self.filter_expression(filters)
        cache = self._cache()
        # Every read first (each may add ids to the table), then the masks at one size.
        held = [self._phrase_holders(p, cache) for p in phrase_words]
        mask = self._covering(words, parts, min_coverage, cache) if words else None
        if mask is None and parts:  # ``_covering`` applies the filters itself
            passing = self._passing(parts, cache)
            if passing is not None:
                held.append(passing)
        if names:
            by_name = self._author_matches(names, parts, phrases, self.max_topk)
            held.append(cache.positions(list(by_name)))
        size = len(cache.ids)
        out = np.ones(size, dtype=bool)
        if mask is not None:
            out[mask.size :] = False
            out[: mask.size] = mask
        for positions in held:
            out &= cache.mask(positions, size)
        return _MatchSet(cache, out)

    def _phrase_holder_ids(self, phrase_words: list[list[str]]) -> set[str] | None:
        """The ids of the papers holding every phrase (None: no phrase)."""
        if not phrase_words:
            return None
        cache = self._cache()
        held = [self._phrase_holders(p, cache) for p in phrase_words]
        table = cache.ids
        return {table[p] for p in functools.reduce(np.intersect1d, held[1:], held[0]).tolist()}

    def _phrase_holders(self, words: list[str], cache: _HolderCache) -> npt.NDArray[np.int32]:
        """The positions of the documents whose title or abstract holds ``words`` as a
        phrase, kept in ``cache`` like a word's holders (until the collection changes).

        Milvus Lite has no ``PHRASE_MATCH``, so a phrase is checked on the text of each
        document that holds all of its words. Those are read and analysed once per
        phrase, not on every search that asks (a hybrid search asked three times: its
        semantic side, its count, its ranking), and only the documents holding every
        word are read, not all holders of the rarest one."""
        tokens = self._text.tokens(" ".join(words))
        key = _phrase_key(tokens)
        kept = cache.get(key)
        if kept is not None:
            return kept
        holders = list(self._word_holders(words, cache).values())
        candidates = functools.reduce(np.intersect1d, holders[1:], holders[0])
        table = cache.ids
        passed = self._with_phrases({table[p] for p in candidates.tolist()}, [tokens])
        found = cache.positions(sorted(passed))
        cache.put(key, found)
        return found

    def _covering(
        self, words: list[str], parts: Sequence[str], min_coverage: float, cache: _HolderCache
    ) -> npt.NDArray[np.bool_]:
        """Documents (passing ``parts``) holding words worth ``min_coverage`` of the
        ``coverage_units`` of ``words``, as a mask over ``cache``'s table. Only the words
        of ``minimal_covers`` are read: a word that weighs nothing, or too little to
        matter ("model" beside "zebra"), is not (its frequency may be)."""
        docs = max(1, self.keyword_count())
        df = self._doc_freqs(words)
        units = coverage_units([bm25_idf(df[w], docs) for w in words])
        need = required_units(units, min_coverage)
        covers = minimal_covers(units, need)
        used = (
            sorted({i for c in covers for i in c})
            if covers is not None
            else [i for i, u in enumerate(units) if u]
        )
        holders = self._word_holders([words[i] for i in used], cache)
        passing = self._passing(parts, cache)
        size = len(cache.ids)  # after every read above added its ids
        weight = np.zeros(size, dtype=np.int32)
        for i in used:
            weight[holders[words[i]]] += units[i]
        mask = weight >= need
        if passing is not None:
            mask &= cache.mask(passing, size)
        return mask

    def keyword_match_ids(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        also: Sequence[str] = (),
        up_to: int | None = None,
    ) -> list[str]:
        if not self._exists:
            return []
        self._require_current()
        try:
            matched = self._matching(query, filters, min_coverage)
            found = set() if matched is None else set(matched.ids())
            if also:
                found |= self._also(query, filters, also)
            listed = sorted(found)
            return listed if up_to is None else listed[: up_to + 1]
        except Exception as exc:
            if self._missing(exc):
                return []
            raise

    def keyword_match_count(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        among: Sequence[str] = (),
        overlap: Sequence[str] = (),
        exact_up_to: int | None = None,
    ) -> MatchCount:
        """Counted over the kept word holders (``_HolderCache``): a warm query costs
        no round trip, a cold one reads its words' holders once. Always exact
        (``exact_up_to`` unused): the holders are read for the members anyway, and
        counting them is a numpy sum."""
        matched = self._current_matches(query, filters, min_coverage)
        if matched is None:
            return MatchCount(0)
        overlapping = int(np.count_nonzero(matched.held(set(overlap))))
        return MatchCount(matched.total(), matched.among(among), overlapping)

    def keyword_match_members(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        ids: Sequence[str],
    ) -> frozenset[str]:
        """Looked up in the kept word holders, as ``keyword_match_count`` counts."""
        matched = self._current_matches(query, filters, min_coverage) if ids else None
        return frozenset() if matched is None else matched.among(ids)

    def _current_matches(
        self, query: KeywordQuery, filters: SearchFilters, min_coverage: float
    ) -> _MatchSet | None:
        """``_matching`` of the current collection; None when nothing can match or there
        is no collection (yet, or any more)."""
        if not self._exists:
            return None
        self._require_current()
        try:
            return self._matching(query, filters, min_coverage)
        except Exception as exc:
            if self._missing(exc):
                return None
            raise

    def keyword_postings(self, query: KeywordQuery) -> None:
        """None: the words' frequencies come from reading their holders (round trips),
        and a relevance search runs its searches side by side here (``parallel_reads``)."""
        return None

    def keyword_best_matches(
        self, query: KeywordQuery, filters: SearchFilters, min_coverage: float, k: int
    ) -> None:
        """None: Milvus ranks by BM25 in one call and counts over the kept word holders
        in another, which a relevance search runs side by side (``parallel_reads``)."""
        return None

    def _also(self, query: KeywordQuery, filters: SearchFilters, also: Sequence[str]) -> set[str]:
        """Those of ``also`` that pass the filters, the phrases and the authors."""
        parts = self.filter_expression(filters)
        names = [n for n in (self._names.tokens(a) for a in query.authors) if n]
        phrase_words = [p for p in (self._text.words(p) for p in query.phrases) if p]
        phrases = [self._text.tokens(" ".join(p)) for p in phrase_words]
        allowed = set(self._author_matches(names, parts, phrases, self.max_topk)) if names else None
        return self._with_phrases(self._passing_ids(also, parts, allowed), phrases)

    def _passing_ids(
        self, ids: Sequence[str], parts: Sequence[str], allowed: set[str] | None
    ) -> set[str]:
        """Those of ``ids`` that pass the filter ``parts`` (and ``allowed``, if given)."""
        if not ids:
            return set()
        rows = self._client.query(
            self.collection,
            filter=self._join([*parts, _id_list(ids)]),
            output_fields=["arxiv_id"],
        )
        return {str(r["arxiv_id"]) for r in rows if allowed is None or r["arxiv_id"] in allowed}

    def _with_phrases(self, ids: set[str], phrases: list[list[str]]) -> set[str]:
        """Those of ``ids`` whose title or abstract holds every phrase (checked here)."""
        if not phrases or not ids:
            return ids
        check = _Constraints(phrases, []).check(self._text, self._names)
        kept: set[str] = set()
        ordered = sorted(ids)
        for start in range(0, len(ordered), _ID_FILTER_MAX):
            chunk = ordered[start : start + _ID_FILTER_MAX]
            rows = self._client.query(
                self.collection, filter=_id_list(chunk), output_fields=["arxiv_id", "text"]
            )
            kept |= {str(r["arxiv_id"]) for r in rows if check is None or check(r)}
        return kept

    def vector_range(
        self, vector: Vector, filters: SearchFilters, min_score: float, limit: int
    ) -> Ranked:
        """A range search (``radius``: cosine above ``min_score``); past the cap, in
        bands of lower scores (``_bands``), or sliced where a band cannot advance."""
        q = self._unit_query(vector)
        if limit <= 0 or q is None:
            return Ranked()
        parts = ["has_vector == true", *self.filter_expression(filters)]
        params = self._vector_search_params(min(limit, self.max_topk))
        try:
            if min_score > -1.0:  # Milvus: a cosine strictly above the radius
                params["params"] = {**params["params"], "radius": min_score - _RADIUS_SLACK}
                found = self._bands(q.tolist(), self._join(parts), params, limit)
                if found is not None:
                    return self._ranked(found, limit)
            ids, scores = self._search_all("vector", [q.tolist()], parts, params, limit)[0]
        except Exception as exc:
            if self._missing(exc):
                return Ranked()
            raise
        return self._ranked(dict(zip(ids, scores, strict=True)), limit)

    def vector_range_head(
        self,
        vector: Vector,
        filters: SearchFilters,
        min_score: float,
        limit: int,
        head: int,
        members: bool = False,
    ) -> RangeHead:
        """The range search's first ``head`` hits and its length (Milvus returns the
        scores of every hit it counts), and its ids where asked for."""
        found = self.vector_range(vector, filters, min_score, limit)
        return RangeHead.of(found, head, limit, members)

    def _bands(
        self, q: list[float], expr: str, params: dict[str, Any], limit: int
    ) -> dict[str, float] | None:
        """Every hit of the range search ``params`` (best first, up to ``limit``): the
        best ``limit`` (one page, when ``limit`` is under the cap: a relevance search's
        bound), else the best ``max_topk``, then the next ones below the lowest score seen
        (``range_filter``, inclusive: ties there come twice and are kept once), until a
        page comes back short. None when a page brings nothing new (more ties at one
        score than the cap): the caller slices instead.

        Why: each page is one scan, so 20,000 semantic matches cost 2 scans, where the
        slices of the collection cost one per slice plus the first (6 at 74.7k papers:
        ~150 ms on Milvus Lite's exact scan)."""
        cap = min(self.max_topk, limit)
        found: dict[str, float] = {}
        page_params = params
        while True:
            ids, scores = self._search_columns("vector", [q], expr, cap, page_params)[0]
            before = len(found)
            for i, score in zip(ids, scores, strict=True):
                found.setdefault(i, score)
            if len(ids) < cap or len(found) >= limit:
                return found
            if len(found) == before:
                return None
            inner = {**page_params["params"], "range_filter": min(scores)}
            page_params = {**page_params, "params": inner}

    def term_statistics(self, text: str) -> list[TermStat]:
        counts: dict[str, int] = {}
        first: dict[str, str] = {}
        words = self._text.words(text)
        for word, term in zip(words, self._text.tokens(" ".join(words)), strict=True):
            counts[term] = counts.get(term, 0) + 1
            first.setdefault(term, word)
        df: dict[str, int] = {}
        if self._exists and counts:
            try:
                df = self._doc_freqs([first[t] for t in counts])
            except Exception as exc:
                if not self._missing(exc):
                    raise
        return [TermStat(first[t], t, n, df.get(first[t], 0)) for t, n in counts.items()]


class LiteServer:
    """A Milvus Lite server: the ``milvus`` binary of the milvus-lite wheel serving
    ``data_file`` on ``127.0.0.1:port``; paperwire reaches it as ``http://127.0.0.1:port``,
    like a cluster. Unlike a ``.db`` URI, several processes can share it. For tests,
    benchmarks and trials (one process, no authentication, loopback only)."""

    def __init__(self, data_file: Path, port: int) -> None:
        self.data_file = Path(data_file).resolve()
        self.port = port
        self.uri = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> str:
        """Start the server and wait until it answers; its URI."""
        from milvus_lite.server import BIN_PATH
        from pymilvus import MilvusClient

        self.data_file.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, LD_LIBRARY_PATH=BIN_PATH)
        log = (self.data_file.parent / f"{self.data_file.name}.log").open("ab")
        with log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [str(Path(BIN_PATH) / "milvus"), str(self.data_file),
                 f"127.0.0.1:{self.port}", os.environ.get("LOG_LEVEL", "ERROR")],
                env=env, cwd=self.data_file.parent, stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise MilvusIndexError(
                    f"Milvus Lite server for {self.data_file} exited ({self.process.returncode});"
                    f" see {log.name}"
                )
            try:
                client = MilvusClient(self.uri, timeout=2, grpc_options=GRPC_OPTIONS)
                client.list_collections()
                client.close()
                return self.uri
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # it writes through to its data file; no shutdown work
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
