"""Doc-to-doc relevance: "papers like this one" on a judged collection.

``paperwire bench relevance --similar`` turns a judged collection into seed papers and
their targets: every relevant document of a query becomes a seed, and the query's other
relevant documents are its targets (CACM has ~15 relevant documents per query; a SciFact
query usually has one, so it yields few seeds). Each seed goes through
``SearchService.similar_ranking`` and three of its rankings are scored with nDCG@10,
Recall@100 and MRR@10:

* ``vector`` — the seed's nearest neighbours by cosine;
* ``keyword-mlt`` — BM25 over the seed's salient terms ("more like this", Lucene-style);
* ``fused`` — the two fused (what the paper page shows), plus ``fused:w=…`` variants of
  the fusion weight when asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from paperwire.bench.collections import Collection
from paperwire.bench.relevance import (
    DEPTH,
    RankingResult,
    Run,
    StepFn,
    _no_progress,
    evaluate_runs,
    open_install,
    service_for,
)
from paperwire.index.base import Ranked
from paperwire.models.search import SearchFilters

__all__ = ["DocToDocResult", "doc_to_doc_pairs", "run_doc_to_doc"]


@dataclass
class DocToDocResult:
    collection: str
    documents: int
    seeds: int
    rankings: list[RankingResult] = field(default_factory=list)


def doc_to_doc_pairs(qrels: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """``{seed doc: {target doc: grade}}``: each relevant document of a query with two or
    more, targeting the query's other relevant documents (best grade when a seed is
    relevant to several queries)."""
    out: dict[str, dict[str, int]] = {}
    for docs in qrels.values():
        relevant = {d: g for d, g in docs.items() if g > 0}
        if len(relevant) < 2:
            continue
        for seed in relevant:
            targets = out.setdefault(seed, {})
            for d, g in relevant.items():
                if d != seed:
                    targets[d] = max(g, targets.get(d, 0))
    return out


def run_doc_to_doc(
    collection: Collection,
    *,
    cache_dir: Path | None = None,
    weights: Sequence[float] = (),
    step: StepFn = _no_progress,
) -> DocToDocResult:
    """Score the similar-paper rankings of every seed (see the module docstring)."""
    pairs = doc_to_doc_pairs(collection.qrels)
    with open_install(collection, cache_dir=cache_dir, step=step) as (pw, ids):
        service = service_for(pw)
        variants = {f"fused:w={w:g}": service_for(pw, similar_keyword_weight=w) for w in weights}
        names = ["vector", "keyword-mlt", "fused", *variants]
        runs: dict[str, Run] = {name: {} for name in names}

        def run_of(ranked: Ranked) -> dict[str, float]:
            top = ranked.ids[:DEPTH]
            return {ids.doc_id(a): float(len(top) - r) for r, a in enumerate(top)}

        bar = step("seeds", len(pairs))
        for seed in pairs:
            aid = ids.arxiv_id(seed)
            found = service.similar_ranking(aid, SearchFilters(), DEPTH)
            if found is not None:
                runs["vector"][seed] = run_of(found.semantic)
                runs["keyword-mlt"][seed] = run_of(found.keyword)
                runs["fused"][seed] = run_of(found.ranked)
            for name, variant in variants.items():
                other = variant.similar_ranking(aid, SearchFilters(), DEPTH)
                if other is not None:
                    runs[name][seed] = run_of(other.ranked)
            bar.advance()
        bar.close()
    metrics = evaluate_runs(pairs, runs)
    return DocToDocResult(
        collection=collection.name,
        documents=len(collection.docs),
        seeds=len(pairs),
        rankings=[RankingResult(n, metrics[n], len(pairs), 0.0) for n in names],
    )
