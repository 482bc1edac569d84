"""Merge the ``Ranked`` lists of several retrievers (keyword, semantic, …) into one.

Both functions share these rules:

* An id listed twice in one ranking counts once, at its best (first) position.
* Scores are summed with ``math.fsum``, so the result does not depend on the order of
  the rankings and documents that should tie do tie exactly.
* Ties are broken by the best rank the document reached in any single ranking (1 is
  best), then by id, so the output is fully deterministic.
* Empty input (no rankings, or only empty ones) gives an empty ``Ranked``. A ranking with
  weight 0 still contributes its documents, with nothing added to their scores.
* ``weights`` must have one non-negative, finite number per ranking; anything else
  raises ``ValueError`` (a programming error, not a user error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from paperwire.index.base import Ranked

__all__ = ["min_max_fusion", "reciprocal_rank_fusion"]


def _check_weights(rankings: Sequence[Ranked], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    out = [float(w) for w in weights]
    for w in out:
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weights must be finite and non-negative, got {w!r}")
    return out


def _fuse(contributions: dict[str, list[float]], best_rank: dict[str, int]) -> Ranked:
    scored = [(math.fsum(parts), doc_id) for doc_id, parts in contributions.items()]
    scored.sort(key=lambda item: (-item[0], best_rank[item[1]], item[1]))
    return Ranked(ids=[doc_id for _, doc_id in scored], scores=[score for score, _ in scored])


def reciprocal_rank_fusion(
    rankings: Sequence[Ranked], k: int = 60, weights: Sequence[float] | None = None
) -> Ranked:
    """Reciprocal rank fusion: ``score(d) = Σ_r w_r / (k + rank_r(d))``, ranks from 1.

    Documents missing from a ranking get nothing from it; ``Ranked.scores`` of the
    inputs are ignored. ``k`` must be ≥ 0 (60 is the value from Cormack et al. 2009).
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    ws = _check_weights(rankings, weights)
    contributions: dict[str, list[float]] = {}
    best_rank: dict[str, int] = {}
    for ranking, w in zip(rankings, ws, strict=True):
        seen: set[str] = set()
        for rank, doc_id in enumerate(ranking.ids, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            contributions.setdefault(doc_id, []).append(w / (k + rank))
            best_rank[doc_id] = min(rank, best_rank.get(doc_id, rank))
    return _fuse(contributions, best_rank)


def _normalized(scores: Sequence[float]) -> list[float]:
    """Min-max normalise to [0, 1]; all-equal scores become 1, non-finite ones clamp."""
    finite = [s for s in scores if math.isfinite(s)]
    if not finite:
        return [1.0 if s == math.inf else 0.0 for s in scores]
    lo, hi = min(finite), max(finite)
    out: list[float] = []
    for s in scores:
        if math.isnan(s) or s == -math.inf:
            out.append(0.0)
        elif s == math.inf or hi == lo:
            out.append(1.0)
        else:
            out.append((s - lo) / (hi - lo))
    return out


def min_max_fusion(rankings: Sequence[Ranked], weights: Sequence[float] | None = None) -> Ranked:
    """Score-normalised fusion: ``score(d) = Σ_r w_r · minmax_r(score_r(d))``.

    Each ranking's scores are min-max normalised to [0, 1] on their own (a ranking
    whose scores are all equal, e.g. a single hit, normalises to 1); a document missing
    from a ranking gets 0 from it. Each ranking needs as many scores as ids.
    """
    ws = _check_weights(rankings, weights)
    contributions: dict[str, list[float]] = {}
    best_rank: dict[str, int] = {}
    for ranking, w in zip(rankings, ws, strict=True):
        if len(ranking.scores) != len(ranking.ids):
            raise ValueError(f"ranking has {len(ranking.ids)} ids but {len(ranking.scores)} scores")
        seen: set[str] = set()
        norm = _normalized(ranking.scores)
        for rank, (doc_id, score) in enumerate(zip(ranking.ids, norm, strict=True), start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            contributions.setdefault(doc_id, []).append(w * score)
            best_rank[doc_id] = min(rank, best_rank.get(doc_id, rank))
    return _fuse(contributions, best_rank)
