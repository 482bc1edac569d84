"""A ``SearchIndex`` on Milvus: BM25 (a ``Function`` over the text) + HNSW vectors + filters.

The same code talks to a Milvus cluster (``http://host:19530``, ``PAPERWIRE_MILVUS_URI``)
and to Milvus Lite (a local ``./x.db`` path; pymilvus starts an in-process server for it),
which the tests use. One collection (``PAPERWIRE_MILVUS_COLLECTION``, default ``papers``):

============== ============================= =============================================
field          type                          use
============== ============================= =============================================
arxiv_id       VARCHAR, primary key
title          VARCHAR                       phrase post-filter (title/abstract boundary)
text           VARCHAR, analyzer + match     ``title + "\\n" + abstract``; BM25 input
text_sparse    SPARSE_FLOAT_VECTOR           BM25 ``Function`` output; keyword ranking
authors        VARCHAR, analyzer + match     one author per line; ``author:`` constraints
authors_sparse SPARSE_FLOAT_VECTOR           BM25 over authors: "Li Dong" typed as words
vector         FLOAT_VECTOR(dim), HNSW       cosine; a placeholder where ``has_vector`` is false
has_vector     BOOL                          Milvus needs a value in every vector field
published      INT64                         ``date.toordinal()``; -1 when unknown
has_code       BOOL
categories     ARRAY<VARCHAR>                lower-case
organization   VARCHAR                       lower-case; "" when unknown
============== ============================= =============================================

Behaviour, and where it differs from the embedded backend:

* The text analyzer is a setting (``PAPERWIRE_MILVUS_ANALYZER``): ``english`` (stemming,
  stop words) on a cluster; Milvus Lite 3.2.2 only has ``standard`` (lower-cased words,
  **no stemming**: "pruning" does not find "pruned" there). Authors always use ``standard``.
* Terms are weighted by count by repeating them in the BM25 query text (Milvus counts
  query-term frequency).
* Quoted phrases and ``author:`` names are constraints. Milvus Lite has ``TEXT_MATCH``
  but no ``PHRASE_MATCH``, and a phrase must not match across the title/abstract boundary
  nor across two authors, which ``PHRASE_MATCH`` on one string cannot express anyway.
  So the filter requires every word with ``TEXT_MATCH`` (on any Milvus), and the exact
  phrase is checked in Python over the returned documents, fetching more hits until ``k``
  pass (up to Milvus's top-k limit of 16,384).
* A free-text query that looks like a name (2–6 words) also ranks that author's papers
  first: BM25 over ``authors_sparse``, × ``AUTHOR_NAME_BOOST``, added to the text BM25.
* Writes are buffered and sent on ``commit()`` (uncommitted changes stay invisible, as
  the contract says). An upsert without a vector keeps the stored one: ``commit`` reads
  it back first (Milvus replaces whole rows).
* The index lives in the server, so every process's searches see a commit as soon as
  the server has applied it (there is no per-process snapshot as with the embedded files);
  ``refresh()`` renews cached counts (at most every ``count_ttl`` seconds) and notices a
  collection created or dropped by another process.
* Keyword hits come back with their vectors, kept (4,096 at most, until the next commit
  or refresh) for ``vector_of``: hybrid search asks for the vector of every keyword
  candidate, which would otherwise be one round trip per paper.
* Consistency: searches use "Session" (a process reads its own commits; others' within
  the cluster's staleness bound), counts and stored-vector reads "Strong".
* ``clear()`` drops the collection; the next ``commit()`` creates it again (with the
  dimension of the first vector, or of the embedding model via ``dim_provider``).
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paperwire.index.base import (
    IndexDoc,
    KeywordQuery,
    Ranked,
    TermStat,
    Vector,
    bm25_idf,
    coverage_units,
    required_units,
)
from paperwire.index.vectors import VectorDimensionError
from paperwire.models.search import SearchFilters

__all__ = ["MilvusIndex", "MilvusIndexError", "milvus_literal"]

# Milvus refuses a search with a limit above this (``topk``).
MAX_TOPK = 16_384
# Like the embedded backend: an author-name match of the whole query counts 3×.
AUTHOR_NAME_BOOST = 3.0
MAX_AUTHOR_NAME_TOKENS = 6
# tantivy's tokenizers drop tokens of 40+ bytes; do the same to query words.
_LONG_TOKEN_LIMIT = 40
_VARCHAR_MAX = 65_535  # bytes
_SHORT_MAX = 512
_CATEGORY_MAX = 64
_CATEGORIES_CAPACITY = 64
_WRITE_BATCH = 500
_READ_BATCH = 1_000
_HNSW = {"M": 16, "efConstruction": 128}
_EF_SEARCH = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WORD = re.compile(r"\w+", re.UNICODE)
# Vectors of recent keyword hits kept for ``vector_of`` (see ``_remember``).
_VECTOR_FIELDS = ("vector", "has_vector")
_VECTOR_CACHE_SIZE = 4096

# Lucene's English stop words, which Milvus's ``english`` analyzer removes (after stemming).
_ENGLISH_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
     "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
     "these", "they", "this", "to", "was", "will", "with"]
)  # fmt: skip


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


class _Analyzer:
    """A Python twin of a Milvus analyzer, for query words and the phrase post-filter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stemmer: Any = None
        if name == "english":
            import Stemmer  # PyStemmer: Snowball English, as Milvus's stemmer filter

            self._stemmer = Stemmer.Stemmer("english")

    def words(self, text: str) -> list[str]:
        """Lower-cased words (what is sent to Milvus, which analyzes them again)."""
        words = [w for w in _WORD.findall(text.lower()) if len(w.encode()) < _LONG_TOKEN_LIMIT]
        if self._stemmer is not None:
            words = [w for w in words if self._stemmer.stemWord(w) not in _ENGLISH_STOP]
        return words

    def tokens(self, text: str) -> list[str]:
        """Index tokens (stemmed for ``english``), in order, for phrase matching."""
        words = self.words(text)
        if self._stemmer is None:
            return words
        return [str(t) for t in self._stemmer.stemWords(words)]


def _contains_run(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    if n == 0:
        return True
    first = needle[0]
    for i in range(len(haystack) - n + 1):
        if haystack[i] == first and list(haystack[i : i + n]) == list(needle):
            return True
    return False


@dataclass
class _Pending:
    doc: IndexDoc
    vector: Vector | None
    lookup: bool  # no vector given: keep the one stored for this id


_DELETE = None

_lite_lock = threading.Lock()
_lite_users: dict[str, int] = {}


def _is_lite(uri: str) -> bool:
    return uri.endswith(".db")


class MilvusIndex:
    """``SearchIndex`` in a Milvus collection.

    ``dim`` fixes the vector size; without it the collection is created with the size of
    the first vector committed, or ``dim_provider()`` (the embedding model's) when the
    first commit has no vectors.

    Counts are exact ``count(*)`` queries, cached: this process's commits renew them at
    once; ``refresh()`` (the search service calls it every 2 s) renews counts older than
    ``count_ttl`` seconds, so another process's commits show in them within that time
    (searches see them at once). A filtered count takes ~1 s on Milvus Lite at 75k rows.
    """

    name = "milvus"

    def __init__(
        self,
        uri: str,
        *,
        collection: str = "papers",
        analyzer: str = "standard",
        token: str | None = None,
        dim: int | None = None,
        dim_provider: Callable[[], int] | None = None,
        count_ttl: float = 30.0,
    ) -> None:
        from pymilvus import MilvusClient

        self.uri = uri
        self.collection = collection
        self.analyzer = analyzer
        self._text = _Analyzer(analyzer)
        self._names = _Analyzer("standard")
        self._configured_dim = dim
        self._dim_provider = dim_provider
        self._lock = threading.RLock()
        self._pending: dict[str, _Pending | None] = {}
        self._counts: tuple[int, int] | None = None
        self._vector_cache: OrderedDict[str, Vector | None] = OrderedDict()
        self._counted_at = 0.0
        self.count_ttl = count_ttl
        self._dim: int | None = None
        self._exists = False
        self._lite_path: str | None = None
        if _is_lite(uri):
            from pathlib import Path

            path = str(Path(uri).expanduser().resolve())
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with _lite_lock:
                _lite_users[path] = _lite_users.get(path, 0) + 1
            self._lite_path = path
            uri = path
        try:
            self._client = MilvusClient(uri=uri, token=token or "")
        except Exception:
            self._release_lite()
            raise
        self._load_schema()

    def __repr__(self) -> str:
        return f"MilvusIndex({self.uri!r}, collection={self.collection!r})"

    # ------------------------------------------------------------------ collection

    def _load_schema(self) -> None:
        """Learn whether the collection exists and its vector size; load it for search."""
        self._exists = bool(self._client.has_collection(self.collection))
        self._dim = None
        if not self._exists:
            return
        info = self._client.describe_collection(self.collection)
        for f in info.get("fields", []):
            if f.get("name") == "vector":
                self._dim = int(f.get("params", {}).get("dim"))
        self._client.load_collection(self.collection)

    def _create(self, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self._client
        s = c.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("arxiv_id", DataType.VARCHAR, is_primary=True, max_length=64)
        s.add_field("title", DataType.VARCHAR, max_length=_VARCHAR_MAX)
        s.add_field(
            "text",
            DataType.VARCHAR,
            max_length=_VARCHAR_MAX,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params={"type": self.analyzer},
        )
        s.add_field("text_sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field(
            "authors",
            DataType.VARCHAR,
            max_length=_VARCHAR_MAX,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params={"type": "standard"},
        )
        s.add_field("authors_sparse", DataType.SPARSE_FLOAT_VECTOR)
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
        for src in ("text", "authors"):
            s.add_function(
                Function(
                    name=f"{src}_bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=[src],
                    output_field_names=[f"{src}_sparse"],
                )
            )
        ip = c.prepare_index_params()
        bm25 = {"inverted_index_algo": "DAAT_MAXSCORE", "bm25_k1": 1.2, "bm25_b": 0.75}
        for sparse in ("text_sparse", "authors_sparse"):
            ip.add_index(sparse, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=bm25)  # fmt: skip
        ip.add_index("vector", index_type="HNSW", metric_type="COSINE", params=_HNSW)
        scalars = ["published", "has_code", "has_vector", "organization", "categories"]
        if self._lite_path is not None:
            scalars.remove("categories")  # Milvus Lite: no scalar index on ARRAY fields
        for scalar in scalars:
            ip.add_index(scalar, index_type="INVERTED")
        # Searches: "Session" — a process sees its own commits at once (read-your-writes)
        # without waiting for the cluster's latest timestamp on every search, as "Strong"
        # would (up to a time tick, 200 ms by default). Counts and vector reads: "Strong".
        c.create_collection(self.collection, schema=s, consistency_level="Session")
        # Indexes on an empty collection are ready at once; not waiting per index saves
        # 0.5 s of polling each (and Milvus Lite lacks the RPC the wait uses).
        c.create_index(self.collection, ip, sync=False)
        c.load_collection(self.collection)
        self._exists = True
        self._dim = dim

    def _ensure_collection(self, first_vector_dim: int | None) -> None:
        if self._exists:
            return
        self._load_schema()  # another process may have created it meanwhile
        if self._exists:
            return
        dim = self._configured_dim or first_vector_dim
        if dim is None and self._dim_provider is not None:
            dim = self._dim_provider()
        if dim is None:
            raise MilvusIndexError(
                f"cannot create Milvus collection {self.collection!r}: vector size unknown"
            )
        self._create(dim)

    def _missing(self, exc: Exception) -> bool:
        """True (and forget the collection) when ``exc`` says it does not exist."""
        text = str(exc).lower()
        if "not found" in text or "not exist" in text or "can't find" in text:
            self._exists = False
            self._counts = None
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
                        raise VectorDimensionError(
                            f"vector for {doc.arxiv_id} has {v.shape[0]} dimensions, "
                            f"the index has {dim}"
                        )
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

    def _stored_vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        found: dict[str, Vector] = {}
        for start in range(0, len(ids), _READ_BATCH):
            chunk = list(ids[start : start + _READ_BATCH])
            expr = f"arxiv_id in [{', '.join(milvus_literal(i) for i in chunk)}]"
            rows = self._client.query(
                self.collection,
                filter=expr + " and has_vector == true",
                output_fields=["arxiv_id", "vector"],
                consistency_level="Strong",
            )
            for row in rows:
                found[str(row["arxiv_id"])] = np.asarray(row["vector"], dtype=np.float32)
        return found

    def _row(self, p: _Pending, dim: int) -> dict[str, Any]:
        d = p.doc
        title = _one_line(d.title)
        abstract = _one_line(d.abstract)
        authors = "\n".join(a for a in (_one_line(x) for x in d.authors) if a)
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
            "title": _clip(title, _VARCHAR_MAX),
            "text": _clip(f"{title}\n{abstract}", _VARCHAR_MAX),
            "authors": _clip(authors, _VARCHAR_MAX),
            "vector": vector,
            "has_vector": p.vector is not None,
            "published": d.published.toordinal() if d.published is not None else -1,
            "has_code": bool(d.has_code),
            "categories": categories,
            "organization": _clip(_keyword(d.organization), _SHORT_MAX),
        }

    def commit(self) -> None:
        with self._lock:
            self._counts = None
            self._vector_cache.clear()
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
            self._ensure_collection(first_dim)
            dim = self._dim
            assert dim is not None
            for p in writes:
                if p.vector is not None and p.vector.shape[0] != dim:
                    raise VectorDimensionError(
                        f"vector for {p.doc.arxiv_id} has {p.vector.shape[0]} dimensions, "
                        f"the Milvus collection {self.collection!r} has {dim}"
                    )
            lookups = [p.doc.arxiv_id for p in writes if p.lookup]
            if lookups:
                stored = self._stored_vectors(lookups)
                for p in writes:
                    if p.lookup:
                        p.vector, p.lookup = stored.get(p.doc.arxiv_id), False
            for start in range(0, len(deletes), _READ_BATCH):
                self._client.delete(self.collection, ids=deletes[start : start + _READ_BATCH])
            for start in range(0, len(writes), _WRITE_BATCH):
                rows = [self._row(p, dim) for p in writes[start : start + _WRITE_BATCH]]
                self._client.upsert(self.collection, rows)
            if self._lite_path is not None:
                # Milvus Lite scores unflushed rows with BM25 statistics of the *filtered*
                # rows; flushed segments use all their rows, so filters no longer change
                # scores. (A cluster keeps collection-wide statistics and needs no flush;
                # an acknowledged write is already durable there.)
                self._client.flush(self.collection)
            self._pending = {}

    def clear(self) -> None:
        """Drop every document and every pending change (drops the collection)."""
        with self._lock:
            self._pending = {}
            self._counts = None
            self._vector_cache.clear()
            if self._client.has_collection(self.collection):
                self._client.drop_collection(self.collection)
            self._exists = False
            self._dim = None

    def close(self) -> None:
        """Discard uncommitted changes and close the connection."""
        with self._lock:
            self._pending = {}
            self._vector_cache.clear()
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
        # The last user in this process: stop Milvus Lite's in-process server, which
        # frees the data directory for other processes.
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(path)

    # ------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Notice another process's commits: renew counts older than ``count_ttl`` and the
        schema if the collection was created or dropped (searches need no refresh)."""
        with self._lock:
            self._vector_cache.clear()
            if time.monotonic() - self._counted_at >= self.count_ttl:
                self._counts = None
            if not self._exists or not self._client.has_collection(self.collection):
                self._load_schema()  # created or dropped meanwhile

    def _count(self, expr: str) -> int:
        rows = self._client.query(
            self.collection, filter=expr, output_fields=["count(*)"], consistency_level="Strong"
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
                except Exception as exc:
                    if self._missing(exc):
                        return (0, 0)
                    raise
            return self._counts

    def keyword_count(self) -> int:
        return self._all_counts()[0]

    def vector_count(self) -> int:
        return self._all_counts()[1]

    def _remember(self, hits: Sequence[dict[str, Any]]) -> None:
        """Keep the vectors that came with keyword hits: hybrid search asks ``vector_of``
        for each keyword candidate next, which then costs no round trip per paper."""
        with self._lock:
            cache = self._vector_cache
            for h in hits:
                row = h.get("entity", h)
                if "has_vector" not in row:
                    continue
                vector = row.get("vector") if row["has_vector"] else None
                cache[str(h["arxiv_id"])] = (
                    None if vector is None else np.asarray(vector, dtype=np.float32)
                )
                cache.move_to_end(str(h["arxiv_id"]))
            while len(cache) > _VECTOR_CACHE_SIZE:
                cache.popitem(last=False)

    def vector_of(self, arxiv_id: str) -> Vector | None:
        if not self._exists:
            return None
        with self._lock:
            if arxiv_id in self._vector_cache:
                cached = self._vector_cache[arxiv_id]
                return None if cached is None else cached.copy()
        rows = self._client.query(
            self.collection,
            filter=f"arxiv_id == {milvus_literal(arxiv_id)} and has_vector == true",
            output_fields=["vector"],
            consistency_level="Strong",
        )
        if not rows:
            return None
        return np.asarray(rows[0]["vector"], dtype=np.float32)

    # ------------------------------------------------------------------ filters

    @staticmethod
    def filter_expression(filters: SearchFilters) -> list[str]:
        """``filters`` as Milvus boolean expressions (to be joined with ``and``)."""
        parts: list[str] = []
        if filters.date_from is not None or filters.date_to is not None:
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
        return " and ".join(parts)  # no part has a top-level ``or``

    # ------------------------------------------------------------------ keyword search

    def _search(
        self,
        field: str,
        data: list[Any],
        expr: str,
        limit: int,
        params: dict[str, Any],
        output: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        result = self._client.search(
            self.collection,
            data=data,
            anns_field=field,
            limit=limit,
            filter=expr,
            search_params=params,
            output_fields=output or [],
            consistency_level="Session",
        )
        return list(result[0]) if result else []

    def _bm25(
        self,
        field: str,
        words: list[str],
        expr: str,
        k: int,
        check: Callable[[dict[str, Any]], bool] | None,
        output: list[str],
    ) -> list[tuple[str, float]]:
        """BM25 hits ``(id, score)`` of ``words`` on ``field``; ``check`` post-filters,
        fetching more until ``k`` hits pass or nothing more can come."""
        text = " ".join(words)
        params = {"metric_type": "BM25"}
        limit = min(k if check is None else max(4 * k, 100), MAX_TOPK)
        fields = [*_VECTOR_FIELDS, *(output if check else [])]
        while True:
            hits = self._search(field, [text], expr, limit, params, fields)
            kept = [h for h in hits if check is None or check(h.get("entity", h))]
            if len(kept) >= k or len(hits) < limit or limit >= MAX_TOPK:
                break
            limit = min(limit * 4, MAX_TOPK)
        self._remember(kept[:k])
        # Milvus returns BM25 scores as positive similarities, Milvus Lite as negative
        # distances; both best first, so the magnitude is the BM25 score.
        return [(str(h["arxiv_id"]), abs(float(h["distance"]))) for h in kept[:k]]

    def _phrase_check(
        self, phrases: list[list[str]], names: list[list[str]]
    ) -> Callable[[dict[str, Any]], bool] | None:
        phrases = [p for p in phrases if len(p) > 1]  # one word: TEXT_MATCH is exact
        names = [n for n in names if len(n) > 1]
        if not phrases and not names:
            return None

        def check(row: dict[str, Any]) -> bool:
            if phrases:
                title = str(row.get("title", ""))
                text = str(row.get("text", ""))
                abstract = text[len(title) + 1 :] if text.startswith(title) else text
                parts = [self._text.tokens(title), self._text.tokens(abstract)]
                for phrase in phrases:
                    if not any(_contains_run(part, phrase) for part in parts):
                        return False
            if names:
                authors = [self._names.tokens(a) for a in str(row.get("authors", "")).split("\n")]
                for name in names:
                    if not any(_contains_run(a, name) for a in authors):
                        return False
            return True

        return check

    def keyword_search(self, query: KeywordQuery, filters: SearchFilters, k: int) -> Ranked:
        if k <= 0 or not self._exists:
            return Ranked()
        k = min(k, MAX_TOPK)
        term_words = [w for t in query.terms for w in self._text.words(t)]
        phrase_words = [self._text.words(p) for p in query.phrases]
        phrase_words = [p for p in phrase_words if p]
        author_words = [self._names.words(a) for a in query.authors]
        author_words = [a for a in author_words if a]

        parts = self.filter_expression(filters)
        for words in phrase_words:
            parts += [f"TEXT_MATCH(text, {milvus_literal(w)})" for w in dict.fromkeys(words)]
        for words in author_words:
            parts += [f"TEXT_MATCH(authors, {milvus_literal(w)})" for w in dict.fromkeys(words)]
        check = self._phrase_check(
            [self._text.tokens(" ".join(p)) for p in phrase_words],
            [self._names.tokens(" ".join(a)) for a in author_words],
        )
        output = ["title", "text", "authors"]

        text_words = term_words + [w for p in phrase_words for w in p]
        try:
            if not text_words:
                if not author_words:
                    return Ranked()
                words = [w for a in author_words for w in a]
                hits = self._bm25("authors_sparse", words, self._join(parts), k, check, output)
                return self._ranked(dict(hits), k)

            hits = self._bm25("text_sparse", text_words, self._join(parts), k, check, output)
            scores = dict(hits)
            name = self._names.words(" ".join(query.terms))
            if term_words and len(query.terms) >= 2 and 2 <= len(name) <= MAX_AUTHOR_NAME_TOKENS:
                self._add_author_name(scores, name, parts, text_words, k, check, output)
        except Exception as exc:
            if self._missing(exc):
                return Ranked()
            raise
        return self._ranked(scores, k)

    def _add_author_name(
        self,
        scores: dict[str, float],
        name: list[str],
        parts: list[str],
        text_words: list[str],
        k: int,
        check: Callable[[dict[str, Any]], bool] | None,
        output: list[str],
    ) -> None:
        """Add ``AUTHOR_NAME_BOOST`` × BM25(authors) for papers by the author ``name``."""
        name_parts = parts + [f"TEXT_MATCH(authors, {milvus_literal(w)})" for w in name]
        name_check = self._phrase_check([], [name])

        def both(row: dict[str, Any]) -> bool:
            return (name_check is None or name_check(row)) and (check is None or check(row))

        by_name = self._bm25("authors_sparse", name, self._join(name_parts), k, both, output)
        if not by_name:
            return
        # Text scores of the author's papers that were not among the text hits.
        missing = [i for i, _ in by_name if i not in scores]
        if missing:
            ids = f"arxiv_id in [{', '.join(milvus_literal(i) for i in missing)}]"
            more = self._bm25(
                "text_sparse", text_words, self._join([*parts, ids]), len(missing), None, output
            )
            for arxiv_id, s in more:
                scores[arxiv_id] = s
        for arxiv_id, s in by_name:
            scores[arxiv_id] = scores.get(arxiv_id, 0.0) + AUTHOR_NAME_BOOST * s

    @staticmethod
    def _ranked(scores: dict[str, float], k: int) -> Ranked:
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return Ranked(ids=[i for i, _ in best], scores=[s for _, s in best])

    # ------------------------------------------------------------------ vector search

    def vector_search(
        self, vector: Vector, filters: SearchFilters, k: int, exclude: Sequence[str] = ()
    ) -> Ranked:
        if k <= 0 or not self._exists or self._dim is None:
            return Ranked()
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != self._dim:
            raise VectorDimensionError(
                f"query vector has {q.shape[0]} dimensions, the index has {self._dim}"
            )
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or norm == 0.0:
            return Ranked()
        k = min(k, MAX_TOPK)
        parts = ["has_vector == true", *self.filter_expression(filters)]
        if exclude:
            parts.append(f"arxiv_id not in [{', '.join(milvus_literal(i) for i in exclude)}]")
        params = {"metric_type": "COSINE", "params": {"ef": max(_EF_SEARCH, k)}}
        try:
            hits = self._search("vector", [(q / norm).tolist()], self._join(parts), k, params)
        except Exception as exc:
            if self._missing(exc):
                return Ranked()
            raise
        return self._ranked({str(h["arxiv_id"]): float(h["distance"]) for h in hits}, k)

    # ------------------------------------------------------------------ match sets
    # Straightforward versions of the match-set contract (exact totals and full sorts,
    # "more like this"): one TEXT_MATCH query per distinct term, coverage counted here.

    def _rows(self, expr: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        """Every row matching ``expr`` (a query iterator: one query is capped at 16,384)."""
        it = self._client.query_iterator(
            self.collection,
            batch_size=MAX_TOPK // 2,
            filter=expr,
            output_fields=["arxiv_id", *fields],
        )
        rows: list[dict[str, Any]] = []
        try:
            while batch := it.next():
                rows.extend(batch)
        finally:
            it.close()
        return rows

    def _doc_freq(self, word: str) -> int:
        return self._count(f"TEXT_MATCH(text, {milvus_literal(word)})")

    def keyword_match_ids(
        self,
        query: KeywordQuery,
        filters: SearchFilters,
        min_coverage: float,
        also: Sequence[str] = (),
    ) -> list[str]:
        if not self._exists:
            return []
        phrase_words = [p for p in (self._text.words(p) for p in query.phrases) if p]
        words = list(dict.fromkeys(w for t in query.terms for w in self._text.words(t)))
        if words:  # phrase words count towards coverage (as in the embedded backend)
            words = list(dict.fromkeys([*words, *(w for p in phrase_words for w in p)]))
        author_words = [a for a in (self._names.words(a) for a in query.authors) if a]
        parts = self.filter_expression(filters)
        for ws in phrase_words:
            parts += [f"TEXT_MATCH(text, {milvus_literal(w)})" for w in dict.fromkeys(ws)]
        for ws in author_words:
            parts += [f"TEXT_MATCH(authors, {milvus_literal(w)})" for w in dict.fromkeys(ws)]
        check = self._phrase_check(
            [self._text.tokens(" ".join(p)) for p in phrase_words],
            [self._names.tokens(" ".join(a)) for a in author_words],
        )
        fields = ["title", "text", "authors"] if check else []

        def passing(expr_parts: list[str]) -> set[str]:
            rows = self._rows(self._join(expr_parts), fields)
            return {str(r["arxiv_id"]) for r in rows if check is None or check(r)}

        try:
            found: set[str] = set()
            if words:
                docs = max(1, self.keyword_count())
                units = coverage_units([bm25_idf(self._doc_freq(w), docs) for w in words])
                need = required_units(units, min_coverage)
                weight: dict[str, int] = {}
                for w, u in zip(words, units, strict=True):
                    if u:
                        for i in passing([*parts, f"TEXT_MATCH(text, {milvus_literal(w)})"]):
                            weight[i] = weight.get(i, 0) + u
                found = {i for i, total in weight.items() if total >= need}
            elif phrase_words or author_words:
                found = passing(parts)
            if also:
                ids = f"arxiv_id in [{', '.join(milvus_literal(i) for i in also)}]"
                found |= passing([*parts, ids])
        except Exception as exc:
            if self._missing(exc):
                return []
            raise
        return sorted(found)

    def vector_range(
        self, vector: Vector, filters: SearchFilters, min_score: float, limit: int
    ) -> Ranked:
        """The nearest ``min(limit, 16,384)`` (Milvus's top-k cap) cut at ``min_score``."""
        near = self.vector_search(vector, filters, min(limit, MAX_TOPK))
        keep = sum(1 for s in near.scores if s >= min_score)
        return Ranked(near.ids[:keep], near.scores[:keep])

    def term_statistics(self, text: str) -> list[TermStat]:
        counts: dict[str, int] = {}
        first: dict[str, str] = {}
        words = self._text.words(text)
        for word, term in zip(words, self._text.tokens(" ".join(words)), strict=True):
            counts[term] = counts.get(term, 0) + 1
            first.setdefault(term, word)
        if not self._exists:
            return [TermStat(first[t], t, n, 0) for t, n in counts.items()]
        return [TermStat(first[t], t, n, self._doc_freq(first[t])) for t, n in counts.items()]
