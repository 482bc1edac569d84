"""Known-item search: does a paper's own title (or a few words of it) find it first?

``paperwire bench known-item`` samples papers of a shared corpus (``74k``: the 74,728
arXiv listings, or ``hf``; built once by ``bench.corpus``, with title + abstract
embeddings) and searches, through ``SearchService.search`` in each mode:

* **titles** — the whole title as typed;
* **spans** — 2–4 consecutive words of the title (``title_span``: length and start
  drawn at random, seeded; a span needs two words that are not stop words, since
  "of the" names no paper).

It reports hit@1 (the paper is the first result) and MRR@10 (1/rank within the first
10, else 0), per query kind and mode.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from paperwire.text.snippets import STOP_WORDS

__all__ = ["KnownItemResult", "run_known_item", "title_span"]

MODES = ("hybrid", "keyword", "semantic")
_PUNCT = "\"'“”‘’()[]{}:;,.!?"


def title_span(title: str, rng: random.Random, tries: int = 30) -> str | None:
    """2–4 consecutive words of ``title`` with at least two non-stop words, or None."""
    words = [w.strip(_PUNCT) for w in title.split()]
    words = [w for w in words if w]
    for _ in range(tries):
        size = rng.randint(2, 4)
        if len(words) < size:
            continue
        start = rng.randint(0, len(words) - size)
        span = words[start : start + size]
        content = [w for w in span if w.lower() not in STOP_WORDS and any(c.isalnum() for c in w)]
        if len(content) >= 2:
            return " ".join(span)
    return None


@dataclass
class KnownItemRow:
    kind: str
    mode: str
    queries: int
    hit_at_1: float
    mrr_at_10: float
    ms_per_query: float


@dataclass
class KnownItemResult:
    corpus: str
    papers: int
    vectors: int
    rows: list[KnownItemRow] = field(default_factory=list)
    misses: dict[str, list[tuple[str, str, str | None]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def sample_queries(
    papers: Sequence[tuple[str, str]], titles: int, spans: int, seed: int = 13
) -> dict[str, list[tuple[str, str]]]:
    """Seeded (arXiv id, query) pairs: ``titles`` whole titles, ``spans`` title spans."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[str, str]]] = {"titles": [], "spans": []}
    for aid, title in rng.sample(list(papers), min(titles, len(papers))):
        out["titles"].append((aid, " ".join(title.split())))
    rng = random.Random(seed + 1)
    for aid, title in rng.sample(list(papers), min(4 * spans, len(papers))):
        if len(out["spans"]) >= spans:
            break
        span = title_span(title, rng)
        if span:
            out["spans"].append((aid, span))
    return out


def score_known_item(
    search: Any, queries: Sequence[tuple[str, str]], mode: str
) -> tuple[float, float, float, list[tuple[str, str, str | None]]]:
    """hit@1, MRR@10, ms per query and the misses (id, query, first result) of
    ``search`` (a ``SearchService``) over ``queries`` in ``mode``."""
    from paperwire.models.search import SearchMode, SearchRequest

    hits = 0
    rr = 0.0
    misses: list[tuple[str, str, str | None]] = []
    t0 = time.perf_counter()
    for aid, q in queries:
        res = search.search(SearchRequest(q=q, mode=SearchMode(mode), limit=10))
        ranked = [h.paper.arxiv_id for h in res.hits]
        if ranked[:1] == [aid]:
            hits += 1
        else:
            misses.append((aid, q, ranked[0] if ranked else None))
        if aid in ranked:
            rr += 1.0 / (ranked.index(aid) + 1)
    n = max(1, len(queries))
    return hits / n, rr / n, 1000 * (time.perf_counter() - t0) / n, misses


def run_known_item(
    corpus: str = "74k",
    *,
    titles: int = 1000,
    spans: int = 500,
    modes: Sequence[str] = MODES,
    cache_dir: Path | None = None,
    embed: bool = True,
    say: Say = _quiet,
) -> KnownItemResult:
    """``embed=False`` skips finishing the corpus's embeddings (for keyword mode)."""
    from paperwire.bench.corpus import corpus_install
    from paperwire.bench.relevance import service_for

    with corpus_install(corpus, cache_dir=cache_dir, embed=embed, say=say) as pw:
        papers = [(d.arxiv_id, d.title) for b in pw.store.iter_index_docs(None) for d in b]
        queries = sample_queries(papers, titles, spans)
        service = service_for(pw)
        result = KnownItemResult(corpus, len(papers), pw.index.vector_count())
        for kind, qs in queries.items():
            for mode in modes:
                say(f"[{corpus}] {kind} × {mode}: {len(qs)} queries")
                hit1, mrr, ms, misses = score_known_item(service, qs, mode)
                result.rows.append(KnownItemRow(kind, mode, len(qs), hit1, mrr, ms))
                result.misses[f"{kind}/{mode}"] = misses[:20]
    return result
