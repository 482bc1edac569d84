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

Embedding cache: ``<cache_dir>/<collection>-<model>-<backend>-<max_tokens>.npz`` (default
cache dir ``$XDG_CACHE_HOME/paperwire/bench`` or ``~/.cache/paperwire/bench``; backend is
the one that actually ran: ``onnx-int8``, ``onnx`` or ``torch``, with an ONNX export's
recipe, e.g. ``onnx-int8-r4``: ``vectors_made_by``) holds one vector per embedded text,
keyed by ``sha1(model, backend, max_tokens, text)``. A rerun looks each text up and
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from paperwire.bench.collections import Collection, IdMap
from paperwire.bench.common import backend_of, vectors_made_by
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.index.base import Vector
from paperwire.index.embedding.base import Embedder
from paperwire.models.common import CONTROL_RE, clean_text
from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.search.service import SearchService

__all__ = [
    "METRICS",
    "BenchResult",
    "CachingEmbedder",
    "EmbeddingCache",
    "RankingResult",
    "Step",
    "default_cache_dir",
    "evaluate",
    "evaluate_runs",
    "records_of",
    "run_relevance",
]

METRICS = ("ndcg@10", "recall@100", "mrr@10")
"""ranx metric names, in report order."""

SOURCE = "bench"
DEPTH = 100

Run = dict[str, dict[str, float]]
StepFn = Callable[[str, int | None], "Step"]


class Step(Protocol):
    """A progress reporter for one phase; the CLI backs it with a rich progress bar."""

    def advance(self, n: int = 1) -> None:
        """``n`` more items done."""

    def close(self) -> None:
        """The phase is over."""


class _Quiet:
    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _no_progress(description: str, total: int | None) -> Step:
    return _Quiet()


# --- documents → records ------------------------------------------------------------------


def records_of(collection: Collection, ids: IdMap) -> Iterator[PaperRecord]:
    """One ``PaperRecord`` per document, under its synthetic arXiv id (control characters,
    which a record refuses — CACM has a few — read as spaces)."""
    for doc in collection.docs:
        title = clean_text(CONTROL_RE.sub(" ", doc.title))
        abstract = clean_text(CONTROL_RE.sub(" ", doc.text))
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

    def __init__(self, path: Path, model: str, backend: str, max_tokens: int) -> None:
        self.path = path
        self._salt = f"{model}\0{backend}\0{max_tokens}\0".encode()
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
        cls, cache_dir: Path, collection: str, model: str, backend: str, max_tokens: int
    ) -> EmbeddingCache:
        name = f"{_slug(collection)}-{_slug(model)}-{backend}-{max_tokens}.npz"
        return cls(cache_dir / name, model, backend, max_tokens)

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

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        return self.inner.encode_query(text, beside=beside)


class BenchPaperwire(Paperwire):
    """A ``Paperwire`` whose embedder reads document vectors from the bench cache
    (``<cache_dir>/<collection>-<model>-<backend>-<max_tokens>.npz``)."""

    def __init__(self, settings: Settings, cache_dir: Path | None, collection: str) -> None:
        super().__init__(settings)
        self.cache_dir = cache_dir
        self.collection = collection
        self.cache: EmbeddingCache | None = None
        self._caching: CachingEmbedder | None = None

    def embedder(self) -> Embedder | None:
        inner = super().embedder()
        if inner is None or self.cache_dir is None:
            return inner
        if self._caching is None:
            s = self.settings
            self.cache = EmbeddingCache.for_collection(
                self.cache_dir,
                self.collection,
                s.embedding_model,
                vectors_made_by(inner),
                s.embedding_max_tokens,
            )
            self._caching = CachingEmbedder(inner, self.cache)
        return self._caching

    def save_cache(self) -> None:
        if self.cache is not None and self._caching is not None:
            self.cache.save(keep=self._caching.seen)


# --- scoring ------------------------------------------------------------------------------


_ID_WIDTH = 16


def evaluate(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """ranx's nDCG@10, Recall@100 and MRR@10 (mean over the judged queries).

    A judged query missing from ``run`` (no results) counts as 0; queries of ``run``
    without judgments are ignored.
    """
    return evaluate_runs(qrels, {"run": run})["run"]


def evaluate_runs(
    qrels: Mapping[str, Mapping[str, int]], runs: Mapping[str, Mapping[str, Mapping[str, float]]]
) -> dict[str, dict[str, float]]:
    """``evaluate`` for several runs against one set of judgments.

    Document ids are renamed to fixed-width numbers before ranx sees them: ranx compiles
    (numba) its data structures per id *width*, so collection ids of a new length would
    cost a fresh compile of tens of seconds; with one width the on-disk cache serves
    every collection.
    """
    from ranx import Qrels
    from ranx import Run as RanxRun
    from ranx import evaluate as ranx_evaluate

    names: dict[str, str] = {}

    def key(doc_id: str) -> str:
        found = names.get(doc_id)
        if found is None:
            found = names[doc_id] = f"{len(names) + 1:0{_ID_WIDTH}d}"
        return found

    judged = {q: {key(d): int(g) for d, g in docs.items()} for q, docs in qrels.items()}
    ranx_qrels = Qrels(judged)
    no_result = "0" * _ID_WIDTH  # never a judged document
    out: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        full = {
            q: ({key(d): float(s) for d, s in (run.get(q) or {}).items()} or {no_result: 0.0})
            for q in judged
        }
        scores: Any = ranx_evaluate(ranx_qrels, RanxRun(full), list(METRICS))
        out[name] = {m: float(scores[m]) for m in METRICS}
    return out


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
    embedding: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    runs: dict[str, Run] = field(default_factory=dict)


def service_for(pw: Paperwire, depth: int = DEPTH, **kwargs: Any) -> SearchService:
    """A ``SearchService`` over ``pw`` configured from its ``Settings``; ``kwargs``
    override the fusion parameters (``fusion``, ``keyword_weight``, ``rrf_k``)."""
    s = pw.settings
    params: dict[str, Any] = {
        "fusion": s.fusion,
        "keyword_weight": s.fusion_keyword_weight,
        "rrf_k": s.rrf_k,
        "semantic_floor": s.semantic_floor,
        "keyword_coverage": s.keyword_coverage,
        "partial_coverage": s.partial_coverage,
        **kwargs,
    }
    return SearchService(pw.store, pw.index, pw.embedder, depth=depth, **params)


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


@contextmanager
def open_install(
    collection: Collection,
    *,
    cache_dir: Path | None = None,
    settings: Mapping[str, Any] | None = None,
    step: StepFn = _no_progress,
    timings: dict[str, float] | None = None,
) -> Iterator[tuple[BenchPaperwire, IdMap]]:
    """A temporary paperwire install holding ``collection``, ingested and embedded.

    ``cache_dir=None`` disables the embedding cache; ``settings`` overrides ``Settings``
    fields (the home and database are always the temporary ones).
    """
    timings = timings if timings is not None else {}
    ids = IdMap([d.id for d in collection.docs])
    with tempfile.TemporaryDirectory(prefix="paperwire-bench-") as tmp:
        cfg = Settings(**{**dict(settings or {}), "home": Path(tmp), "database_url": None})
        pw = BenchPaperwire(cfg, cache_dir, collection.name)
        try:
            from paperwire.jobs.embed import embed_backlog
            from paperwire.services.ingest import ingest_records

            t0 = time.perf_counter()
            bar = step("load", len(collection.docs))
            summary = ingest_records(
                pw, records_of(collection, ids), SOURCE, on_progress=bar.advance
            )
            bar.close()
            if summary.rejected:
                shown = "; ".join(str(r) for r in summary.rejections[:3])
                raise RuntimeError(f"{summary.rejected} documents rejected: {shown}")
            timings["load"] = time.perf_counter() - t0

            if cfg.semantic:
                t0 = time.perf_counter()
                bar = step("embed", pw.store.backlog_count(pw.model_name))
                embed_backlog(pw, on_progress=bar.advance)
                bar.close()
                pw.save_cache()
                timings["embed"] = time.perf_counter() - t0
            yield pw, ids
        finally:
            pw.close()


_PUNCTUATION = re.compile(r"[^\w\s]+", re.UNICODE)


def strip_punctuation(text: str) -> str:
    """``text`` with every run of punctuation (quotes, colons, brackets, …) made a space."""
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def run_relevance(
    collection: Collection,
    *,
    cache_dir: Path | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    depth: int = DEPTH,
    step: StepFn = _no_progress,
    keep_runs: bool = False,
    settings: Mapping[str, Any] | None = None,
    stripped: bool = False,
) -> BenchResult:
    """Load ``collection`` into a temporary install, run its queries, score the rankings.

    ``variants`` adds hybrid rankings: name → ``SearchService`` keyword arguments (e.g.
    ``{"hybrid:rrf": {"fusion": "rrf"}}``); ``cache_dir=None`` disables the embedding
    cache; ``settings`` overrides ``Settings`` fields of the temporary install.
    ``stripped`` also runs keyword, semantic and hybrid on the queries with their
    punctuation stripped (``NAME (stripped)``): typed syntax against plain text.
    """
    timings: dict[str, float] = {}
    hits = misses = 0
    embedding = ""
    with open_install(
        collection, cache_dir=cache_dir, settings=settings, step=step, timings=timings
    ) as (pw, ids):
        services: dict[str, tuple[SearchService, SearchMode]] = {}
        base = service_for(pw, depth=depth)
        for name, mode in RANKINGS.items():
            services[name] = (base, mode)
        for name, kwargs in (variants or {}).items():
            services[name] = (service_for(pw, depth=depth, **kwargs), SearchMode.hybrid)
        t0 = time.perf_counter()
        runs, per_query = run_rankings(services, collection.queries, ids, depth, step)
        if stripped:
            plain = {q: strip_punctuation(t) for q, t in collection.queries.items()}
            base_only = {name: services[name] for name in RANKINGS}
            more, more_ms = run_rankings(base_only, plain, ids, depth, step)
            for name in RANKINGS:
                runs[f"{name} (stripped)"] = more[name]
                per_query[f"{name} (stripped)"] = more_ms[name]
        timings["queries"] = time.perf_counter() - t0
        if pw.cache is not None:
            hits, misses = pw.cache.hits, pw.cache.misses
        emb = pw.embedder()
        if emb is not None:
            inner = emb.inner if isinstance(emb, CachingEmbedder) else emb
            s = pw.settings
            embedding = (
                f"{s.embedding_model} ({backend_of(inner)}, {s.embedding_max_tokens} tokens)"
            )

    t0 = time.perf_counter()
    metrics = evaluate_runs(collection.qrels, runs)
    results = [
        RankingResult(name, metrics[name], len(collection.queries), per_query[name])
        for name in runs
    ]
    timings["score"] = time.perf_counter() - t0
    return BenchResult(
        collection=collection.name,
        split=collection.split,
        documents=len(collection.docs),
        queries=len(collection.queries),
        rankings=results,
        embedding=embedding,
        seconds=timings,
        cache_hits=hits,
        cache_misses=misses,
        runs=runs if keep_runs else {},
    )
