"""Latency of searches over large match sets, in each sort order.

``paperwire bench sorted`` times ``SearchService.search`` (one 20-result page, the query
embedding cached so the model is not timed) on a corpus install with real title +
abstract vectors (``bench.corpus``: ``74k`` or ``hf``). "Newest" and "most upvoted" order
*every* match (``PaperStore.sort_page``), so their cost grows with the match set; the
queries are chosen to make it large:

* ``broad`` — single common words ("model", "learning", …): 10k+ matches at 74.7k;
* ``topics`` — the short topical phrases of the latency benchmark (``SHORT_QUERIES``);
* ``deep`` — ``broad`` queries at the last page a reader can reach (offset 1000).

Each (kind, sort) pair runs every query, interleaved; the table gives p50/p95/p99 and
the median total (match-set size).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.common import SHORT_QUERIES, percentile

__all__ = ["BROAD_QUERIES", "SortedResult", "run_sorted_bench"]

BROAD_QUERIES = [
    "model",
    "learning",
    "data",
    "language",
    "image",
    "reasoning",
    "training",
    "network",
    "agent",
    "benchmark",
    "generation",
    "large language models",
    "neural network",
    "diffusion",
    "attention",
    "graph",
    "video",
    "robot",
    "optimization",
    "evaluation",
]
SORTS = ("relevance", "newest", "upvotes")
KINDS = ("broad", "topics", "deep")

Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass
class SortedRow:
    kind: str
    sort: str
    n: int
    p50: float
    p95: float
    p99: float
    median_total: float


@dataclass
class SortedResult:
    corpus: str
    papers: int
    vectors: int
    rows: list[SortedRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _CachedQueries:
    """An embedder whose query vectors are computed once (the model is not timed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[str, Any] = {}

    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None) -> Any:
        return self.inner.encode_documents(texts, batch_size)

    def encode_query(self, text: str, *, beside: bool = False) -> Any:
        if text not in self._cache:
            self._cache[text] = self.inner.encode_query(text, beside=beside)
        return self._cache[text]


def run_sorted_bench(
    corpus: str = "74k",
    *,
    rounds: int = 3,
    cache_dir: Path | None = None,
    embed: bool = True,
    say: Say = _quiet,
) -> SortedResult:
    """``embed=False`` times the install as it is (vectors of the papers embedded so far)."""
    from paperwire.bench.corpus import corpus_install
    from paperwire.bench.relevance import service_for
    from paperwire.models.search import SearchRequest, SortOrder

    queries = {"broad": BROAD_QUERIES, "topics": SHORT_QUERIES, "deep": BROAD_QUERIES}
    with corpus_install(corpus, cache_dir=cache_dir, embed=embed, say=say) as pw:
        service = service_for(pw)
        embedder = pw.embedder()
        cached = _CachedQueries(embedder)
        service.embedder = lambda: cached
        result = SortedResult(corpus, pw.store.count(), pw.index.vector_count())
        combos = [(k, s) for k in KINDS for s in SORTS]
        times: dict[tuple[str, str], list[float]] = {c: [] for c in combos}
        totals: dict[tuple[str, str], list[int]] = {c: [] for c in combos}
        for q in {q for qs in queries.values() for q in qs}:  # warm: embeddings, caches
            service.search(SearchRequest(q=q, limit=20))
        say(f"[{corpus}] timing {len(combos)} (kind, sort) pairs × {rounds} rounds")
        for r in range(rounds):
            for i in range(max(len(qs) for qs in queries.values())):
                for j in range(len(combos)):
                    kind, sort = combos[(i + j + r) % len(combos)]
                    qs = queries[kind]
                    if i >= len(qs):
                        continue
                    offset = 980 if kind == "deep" else 0
                    req = SearchRequest(q=qs[i], sort=SortOrder(sort), limit=20, offset=offset)
                    t0 = time.perf_counter()
                    res = service.search(req)
                    times[(kind, sort)].append((time.perf_counter() - t0) * 1000)
                    totals[(kind, sort)].append(res.total)
        for (kind, sort), ms in times.items():
            result.rows.append(
                SortedRow(
                    kind,
                    sort,
                    len(ms),
                    round(percentile(ms, 50), 2),
                    round(percentile(ms, 95), 2),
                    round(percentile(ms, 99), 2),
                    float(np.median(totals[(kind, sort)])),
                )
            )
    return result
