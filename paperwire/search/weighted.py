"""Weighted score fusion of a keyword (BM25) ranking and a semantic (cosine) ranking.

``score(d) = w · bm25(d) / max_bm25 + (1 − w) · cos(d)``, ``w`` = ``keyword_weight``.

* BM25 is divided by the query's best BM25 score (the top keyword match gets ``w``):
  its scale depends on query length and term rarity, so only the ratio is comparable
  across queries.
* The cosine is used as it is: it already has a fixed scale, and keeping it raw lets a
  weak best semantic match stay weak. Min-max normalising both sides (as
  ``fusion.min_max_fusion`` does) or z-scores scored lower on SciFact train; see
  docs/benchmarks.md ("Relevance") for the tuning runs.
* A document missing from a ranking scores like that ranking's last document (it fell
  below that ranking's cut-off). ``SearchService`` gives the semantic ranking the exact
  cosine of every keyword candidate, so on that side this only applies to papers that
  have no vector yet.
* An id listed twice in one ranking counts once, at its first position; non-finite
  scores count as missing. Ties are broken by the best rank the document reached in
  either ranking (1 is best), then by id. Both rankings empty gives an empty ``Ranked``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from paperwire.index.base import Ranked

__all__ = ["DEFAULT_KEYWORD_WEIGHT", "weighted_fusion"]

DEFAULT_KEYWORD_WEIGHT = 0.3
"""Tuned on SciFact train (0.2–0.4 are within 0.003 nDCG@10 of each other there)."""


def _first_scores(ranking: Ranked) -> tuple[dict[str, float], dict[str, int]]:
    """``{id: rank}`` (from 1) at each id's first listing, and ``{id: score}`` with
    that listing's score where it is finite."""
    ids = ranking.ids
    if len(ranking.scores) != len(ids):
        raise ValueError(f"ranking has {len(ids)} ids but {len(ranking.scores)} scores")
    # Built by dict() from the last listing back, so that an id's first listing is the
    # one kept: no Python step per id where no id is listed twice (a hybrid search
    # fuses ~200 ids, each once).
    ranks = dict(zip(reversed(ids), range(len(ids), 0, -1), strict=True))
    if len(ranks) == len(ids):  # no id listed twice
        listed: Iterable[tuple[str, float]] = zip(ids, map(float, ranking.scores), strict=True)
    else:
        firsts = set(ranks.items())
        listed = (
            (doc_id, float(score))
            for rank, (doc_id, score) in enumerate(zip(ids, ranking.scores, strict=True), 1)
            if (doc_id, rank) in firsts
        )
    scores = {doc_id: score for doc_id, score in listed if math.isfinite(score)}
    return scores, ranks


def weighted_fusion(
    keyword: Ranked,
    semantic: Ranked,
    keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
    keyword_max: float | None = None,
) -> Ranked:
    """Fuse a BM25 ranking and a cosine ranking (see the module docstring).

    ``keyword_max`` is the best BM25 score to divide by when ``keyword`` was cut from a
    longer ranking (search keeps only the matches of its BM25 ranking): the documents
    kept then score exactly as they would have in the whole ranking.
    """
    w = float(keyword_weight)
    if not math.isfinite(w) or not 0.0 <= w <= 1.0:
        raise ValueError(f"keyword_weight must be in [0, 1], got {keyword_weight!r}")
    kw, kw_rank = _first_scores(keyword)
    sem, sem_rank = _first_scores(semantic)

    kw_max = max(kw.values(), default=0.0)
    if keyword_max is not None and math.isfinite(keyword_max) and keyword_max > kw_max:
        kw_max = float(keyword_max)
    kw_last = min(kw.values(), default=0.0)
    sem_last = min(sem.values(), default=0.0)

    # score(d) = w · kw_part(d) + (1 − w) · cos(d), ties by best rank then id: one
    # tuple a document, sorted as tuples (no key function; ~200 documents a search).
    kw_flat = 1.0 if kw else 0.0  # kw_part of every document when no BM25 score is > 0
    sem_w = 1.0 - w
    unranked = len(keyword.ids) + len(semantic.ids) + 1  # worse than any rank
    fused: list[tuple[float, int, str]] = []
    for doc_id in dict.fromkeys([*kw_rank, *sem_rank]):
        kw_part = kw.get(doc_id, kw_last) / kw_max if kw_max > 0 else kw_flat
        score = w * kw_part + sem_w * sem.get(doc_id, sem_last)
        by_kw, by_sem = kw_rank.get(doc_id, unranked), sem_rank.get(doc_id, unranked)
        fused.append((-score, by_kw if by_kw < by_sem else by_sem, doc_id))
    fused.sort()
    return Ranked(ids=[d for _, _, d in fused], scores=[-s for s, _, _ in fused])
