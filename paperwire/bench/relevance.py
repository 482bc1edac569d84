"""Relevance benchmark: a judged collection through the real paperwire pipeline.

``paperwire bench relevance --collection scifact`` does, in a fresh temporary install
(``Settings(home=<tmpdir>)``, SQLite, embedded index):

1. convert the collection's documents into ``PaperRecord``s with synthetic arXiv ids
   (``collections.IdMap``; a document without a title uses its text as the title);
2. ``ingest_records`` (store + keyword index) and ``embed_backlog`` (vectors), with the
   document embeddings served from a per-collection cache when present (below);
3. run every judged query through ``SearchService.search`` in keyword, semantic and
   hybrid mode (depth 100: the first 100 results of each), map the ids back;
4. score each ranking with ranx: nDCG@10, Recall@100, MRR@10.

Embedding cache: ``<cache_dir>/<collection>-<model>.npz`` (default cache dir
``$XDG_CACHE_HOME/paperwire/bench`` or ``~/.cache/paperwire/bench``) holds one vector per
embedded text, keyed by ``sha1(model, max_tokens, text)``. A rerun looks each text up and
embeds only what is missing (a changed corpus or model just misses), so only the first
run of a collection pays for the model; the cache file is rewritten when anything new
was embedded.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.collections import Collection, IdMap
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.index.base import Vector
from paperwire.index.embedder import Embedder
from paperwire.models import PaperRecord, SearchMode, SearchRequest
from paperwire.search.service import SearchService
from paperwire.sources.normalize import clean_text

__all__ = [
    "METRICS",
    "BenchResult",
    "CachingEmbedder",
    "EmbeddingCache",
    "RankingResult",
    "Step",
    "default_cache_dir",
    "evaluate",
    "records_of",
    "run_relevance",
]

METRICS = ("ndcg@10", "recall@100", "mrr@10")
"""ranx metric names, in report order."""

SOURCE = "bench"
DEPTH = 100

Run = dict[str, dict[str, float]]
StepFn = Callable[[str, int | None], "Step"]


class Step:
    """A progress reporter for one phase; the CLI backs it with a rich progress bar."""

    def advance(self, n: int = 1) -> None:
        """``n`` more items done."""

    def close(self) -> None:
        """The phase is over."""


def _no_progress(description: str, total: int | None) -> Step:
    return Step()


# --- documents → records ------------------------------------------------------------------


def records_of(collection: Collection, ids: IdMap) -> Iterator[PaperRecord]:
    """One ``PaperRecord`` per document, under its synthetic arXiv id."""
    for doc in collection.docs:
        title = clean_text(doc.title)
        abstract = clean_text(doc.text)
        if not title:  # the store requires a title; the searchable text stays the same
            title, abstract = abstract or doc.id, None
        yield PaperRecord(
            arxiv_id=ids.arxiv_id(doc.id),
            source=SOURCE,
            title=title,
            abstract=abstract,
            authors=list(doc.authors),
        )


# --- embedding cache ----------------------------------------------------------------------


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paperwire" / "bench"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "model"


class EmbeddingCache:
    """Document vectors of one collection and model, keyed by a hash of each text."""

    def __init__(self, path: Path, model: str, max_tokens: int) -> None:
        self.path = path
        self._salt = f"{model}\0{max_tokens}\0".encode()
        self.vectors: dict[str, Vector] = {}
        self.hits = 0
        self.misses = 0
        self._dirty = False
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    keys, matrix = data["keys"], data["vectors"]
                self.vectors = {
                    str(k): np.asarray(v, dtype=np.float32)
                    for k, v in zip(keys, matrix, strict=True)
                }
            except (OSError, ValueError, KeyError):
                self.vectors = {}  # unreadable: rebuilt on save

    @classmethod
    def for_collection(
        cls, cache_dir: Path, collection: str, model: str, max_tokens: int
    ) -> EmbeddingCache:
        name = f"{_slug(collection)}-{_slug(model)}.npz"
        return cls(cache_dir / name, model, max_tokens)

    def key(self, text: str) -> str:
        return hashlib.sha1(self._salt + text.encode(), usedforsecurity=False).hexdigest()

    def get(self, text: str) -> Vector | None:
        return self.vectors.get(self.key(text))

    def put(self, text: str, vector: Vector) -> None:
        self.vectors[self.key(text)] = np.asarray(vector, dtype=np.float32)
        self._dirty = True

    def save(self, keep: set[str] | None = None) -> None:
        """Write the cache (only ``keep`` keys when given) if anything new was added."""
        if not self._dirty:
            return
        items = [(k, v) for k, v in self.vectors.items() if keep is None or k in keep]
        if not items:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".tmp-{os.getpid()}")
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                keys=np.asarray([k for k, _ in items]),
                vectors=np.stack([v for _, v in items]).astype(np.float32),
            )
        os.replace(tmp, self.path)
        self._dirty = False


class CachingEmbedder:
    """An ``Embedder`` that serves document vectors from an ``EmbeddingCache``."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.dim = inner.dim
        self.seen: set[str] = set()

    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None) -> Vector:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        for i, text in enumerate(texts):
            self.seen.add(self.cache.key(text))
            vec = self.cache.get(text)
            if vec is None:
                missing.append(i)
            else:
                out[i] = vec
        self.cache.hits += len(texts) - len(missing)
        self.cache.misses += len(missing)
        if missing:
            fresh = self.inner.encode_documents([texts[i] for i in missing], batch_size)
            for row, i in enumerate(missing):
                out[i] = fresh[row]
                self.cache.put(texts[i], fresh[row])
        return out

    def encode_query(self, text: str) -> Vector:
        return self.inner.encode_query(text)


class _BenchPaperwire(Paperwire):
    """A ``Paperwire`` whose embedder reads document vectors from the bench cache."""

    def __init__(self, settings: Settings, cache: EmbeddingCache | None) -> None:
        super().__init__(settings)
        self._cache = cache
        self._caching: CachingEmbedder | None = None

    def embedder(self) -> Embedder | None:
        inner = super().embedder()
        if inner is None or self._cache is None:
            return inner
        if self._caching is None:
            self._caching = CachingEmbedder(inner, self._cache)
        return self._caching

    def save_cache(self) -> None:
        if self._cache is not None and self._caching is not None:
            self._cache.save(keep=self._caching.seen)


# --- scoring ------------------------------------------------------------------------------


def evaluate(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """ranx's nDCG@10, Recall@100 and MRR@10 (mean over the judged queries).

    A judged query missing from ``run`` (no results) counts as 0.
    """
    from ranx import Qrels
    from ranx import Run as RanxRun
    from ranx import evaluate as ranx_evaluate

    full_run = {qid: dict(run.get(qid) or {}) for qid in qrels}
    empty = [qid for qid, docs in full_run.items() if not docs]
    for qid in empty:  # ranx needs at least one document per query
        full_run[qid] = {"\0no-result": 0.0}
    scores: Any = ranx_evaluate(
        Qrels({q: dict(d) for q, d in qrels.items()}),
        RanxRun(full_run),
        list(METRICS),
        make_comparable=True,
    )
    return {m: float(scores[m]) for m in METRICS}


# --- the benchmark ------------------------------------------------------------------------


@dataclass
class RankingResult:
    ranking: str
    metrics: dict[str, float]
    queries: int
    mean_ms: float

    def as_json(self) -> dict[str, object]:
        return {"ranking": self.ranking, **self.metrics, "queries": self.queries}


@dataclass
class BenchResult:
    collection: str
    split: str | None
    documents: int
    queries: int
    rankings: list[RankingResult]
    seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    runs: dict[str, Run] = field(default_factory=dict)


RANKINGS: dict[str, SearchMode] = {
    "keyword": SearchMode.keyword,
    "semantic": SearchMode.semantic,
    "hybrid": SearchMode.hybrid,
}


def run_rankings(
    services: Mapping[str, tuple[SearchService, SearchMode]],
    queries: Mapping[str, str],
    ids: IdMap,
    depth: int = DEPTH,
    step: StepFn = _no_progress,
) -> tuple[dict[str, Run], dict[str, float]]:
    """Every query through every ``(service, mode)``: runs keyed by ranking name and the
    mean milliseconds per query of each."""
    runs: dict[str, Run] = {name: {} for name in services}
    spent: dict[str, float] = dict.fromkeys(services, 0.0)
    bar = step("queries", len(queries) * len(services))
    for qid, text in queries.items():
        for name, (service, mode) in services.items():
            t0 = time.perf_counter()
            res = service.search(SearchRequest(q=text, mode=mode, limit=min(depth, 100)))
            spent[name] += time.perf_counter() - t0
            n = len(res.hits)
            runs[name][qid] = {
                ids.doc_id(h.paper.arxiv_id): float(n - rank) for rank, h in enumerate(res.hits)
            }
            bar.advance()
    bar.close()
    per_query = {name: 1000 * s / max(1, len(queries)) for name, s in spent.items()}
    return runs, per_query


def run_relevance(
    collection: Collection,
    *,
    cache_dir: Path | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    depth: int = DEPTH,
    step: StepFn = _no_progress,
    keep_runs: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> BenchResult:
    """Load ``collection`` into a temporary install, run its queries, score the rankings.

    ``variants`` adds hybrid rankings: name → ``SearchService`` keyword arguments (e.g.
    ``{"hybrid-rrf": {"fusion": "rrf"}}``); ``cache_dir=None`` disables the embedding
    cache; ``settings`` overrides ``Settings`` fields of the temporary install.
    """
    timings: dict[str, float] = {}
    ids = IdMap([d.id for d in collection.docs])
    with tempfile.TemporaryDirectory(prefix="paperwire-bench-") as tmp:
        cfg = Settings(home=Path(tmp), database_url=None, **dict(settings or {}))
        cache = (
            EmbeddingCache.for_collection(
                cache_dir, collection.name, cfg.embedding_model, cfg.embedding_max_tokens
            )
            if cache_dir is not None
            else None
        )
        pw = _BenchPaperwire(cfg, cache)
        try:
            from paperwire.jobs.embed import embed_backlog
            from paperwire.jobs.ingest import ingest_records

            t0 = time.perf_counter()
            bar = step("load", len(collection.docs))
            summary = ingest_records(pw, records_of(collection, ids), SOURCE, on_progress=bar.advance)
            bar.close()
            if summary.rejected:
                raise RuntimeError(f"{summary.rejected} documents rejected: {summary.rejections[:3]}")
            timings["load"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            bar = step("embed", pw.store.backlog_count(pw.model_name))
            embed_backlog(pw, on_progress=bar.advance)
            bar.close()
            pw.save_cache()
            timings["embed"] = time.perf_counter() - t0

            services: dict[str, tuple[SearchService, SearchMode]] = {}
            base = SearchService(pw.store, pw.index, pw.embedder, depth=depth)
            for name, mode in RANKINGS.items():
                services[name] = (base, mode)
            for name, kwargs in (variants or {}).items():
                services[name] = (
                    SearchService(pw.store, pw.index, pw.embedder, depth=depth, **kwargs),
                    SearchMode.hybrid,
                )
            t0 = time.perf_counter()
            runs, per_query = run_rankings(services, collection.queries, ids, depth, step)
            timings["queries"] = time.perf_counter() - t0
        finally:
            pw.close()

    t0 = time.perf_counter()
    results = [
        RankingResult(name, evaluate(collection.qrels, run), len(collection.queries), per_query[name])
        for name, run in runs.items()
    ]
    timings["score"] = time.perf_counter() - t0
    return BenchResult(
        collection=collection.name,
        split=collection.split,
        documents=len(collection.docs),
        queries=len(collection.queries),
        rankings=results,
        seconds=timings,
        cache_hits=cache.hits if cache else 0,
        cache_misses=cache.misses if cache else 0,
        runs=runs if keep_runs else {},
    )
