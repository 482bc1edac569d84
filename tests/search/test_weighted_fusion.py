"""Weighted score fusion (the default hybrid ranking): hand-computed examples."""

from __future__ import annotations

import math

import pytest

from paperwire.index.base import Ranked
from paperwire.search.weighted import DEFAULT_KEYWORD_WEIGHT, weighted_fusion


def test_hand_computed() -> None:
    keyword = Ranked(ids=["a", "b", "c"], scores=[10.0, 5.0, 2.0])
    semantic = Ranked(ids=["c", "d", "a"], scores=[0.9, 0.6, 0.4])
    fused = weighted_fusion(keyword, semantic, keyword_weight=0.5)
    # a: .5·1 + .5·.4 = .70; b: .5·.5 + .5·.4 (missing → last cosine) = .45
    # c: .5·.2 + .5·.9 = .55; d: .5·.2 (missing → last BM25, /10) + .5·.6 = .40
    assert fused.ids == ["a", "c", "b", "d"]
    assert fused.scores == pytest.approx([0.70, 0.55, 0.45, 0.40])


def test_weight_extremes_follow_one_side() -> None:
    keyword = Ranked(ids=["a", "b"], scores=[3.0, 1.0])
    semantic = Ranked(ids=["b", "a"], scores=[0.8, 0.1])
    assert weighted_fusion(keyword, semantic, 1.0).ids == ["a", "b"]
    assert weighted_fusion(keyword, semantic, 0.0).ids == ["b", "a"]


def test_cosine_is_not_rescaled() -> None:
    """A weak best semantic match stays weak: cosines enter raw, BM25 as a ratio.
    (Min-max normalising the cosines would lift "s" to 1 and rank it first.)"""
    keyword = Ranked(ids=["k", "k2"], scores=[4.0, 2.0])
    semantic = Ranked(ids=["s", "k2"], scores=[0.2, 0.1])
    fused = weighted_fusion(keyword, semantic, 0.5)
    assert fused.ids == ["k", "s", "k2"]
    assert fused.scores == pytest.approx([0.5 + 0.05, 0.25 + 0.1, 0.25 + 0.05])


def test_ties_broken_by_best_rank_then_id() -> None:
    keyword = Ranked(ids=["x", "y"], scores=[1.0, 1.0])
    semantic = Ranked(ids=["y", "x"], scores=[0.5, 0.5])
    fused = weighted_fusion(keyword, semantic, 0.5)
    assert fused.scores[0] == fused.scores[1]
    assert fused.ids == ["x", "y"]  # both reached rank 1 somewhere: id decides


def test_duplicates_and_non_finite_scores() -> None:
    keyword = Ranked(ids=["a", "a", "b"], scores=[2.0, 100.0, math.nan])
    semantic = Ranked(ids=["b"], scores=[0.5])
    fused = weighted_fusion(keyword, semantic, 0.5)
    # "a" counts once at 2.0 (max); "b"'s NaN BM25 counts as missing (last = 2.0).
    assert fused.ids == ["a", "b"]
    assert fused.scores == pytest.approx([0.5 + 0.25, 0.5 + 0.25])


def test_empty_and_one_sided() -> None:
    assert weighted_fusion(Ranked(), Ranked()) == Ranked()
    only_kw = weighted_fusion(Ranked(ids=["a", "b"], scores=[2.0, 1.0]), Ranked())
    assert only_kw.ids == ["a", "b"]
    only_sem = weighted_fusion(Ranked(), Ranked(ids=["a", "b"], scores=[0.3, 0.9]))
    assert only_sem.ids == ["b", "a"]


@pytest.mark.parametrize("weight", [-0.1, 1.5, math.nan])
def test_bad_weight(weight: float) -> None:
    with pytest.raises(ValueError, match="keyword_weight"):
        weighted_fusion(Ranked(), Ranked(), weight)


def test_mismatched_scores() -> None:
    with pytest.raises(ValueError, match="2 ids but 1 scores"):
        weighted_fusion(Ranked(ids=["a", "b"], scores=[1.0]), Ranked())


def test_default_weight_is_the_tuned_one() -> None:
    from paperwire.config import Settings

    assert Settings().fusion_keyword_weight == DEFAULT_KEYWORD_WEIGHT == 0.3


def test_keyword_max_scores_a_cut_ranking_as_the_whole_one() -> None:
    from paperwire.index.base import Ranked

    whole = Ranked(["a", "b", "c"], [10.0, 5.0, 4.0])
    cut = Ranked(["b", "c"], [5.0, 4.0])  # "a" was not a match
    sem = Ranked(["b", "c"], [0.5, 0.6])
    full = weighted_fusion(whole, sem, 0.3)
    kept = weighted_fusion(cut, sem, 0.3, keyword_max=10.0)
    scores = dict(zip(full.ids, full.scores, strict=True))
    assert dict(zip(kept.ids, kept.scores, strict=True)) == {i: scores[i] for i in ("b", "c")}
    # Without it the best kept match would be divided by itself and gain.
    assert weighted_fusion(cut, sem, 0.3).scores[0] > kept.scores[0]
    # A smaller or unusable keyword_max is ignored.
    assert (
        weighted_fusion(cut, sem, 0.3, keyword_max=1.0).scores
        == weighted_fusion(cut, sem, 0.3).scores
    )


def _by_the_docstring(keyword: Ranked, semantic: Ranked, w: float) -> list[tuple[str, float]]:
    """The module docstring's rules worked out one document at a time, slowly."""

    def first(ranking: Ranked) -> tuple[dict[str, float], dict[str, int]]:
        scores: dict[str, float] = {}
        ranks: dict[str, int] = {}
        for rank, (doc_id, score) in enumerate(zip(ranking.ids, ranking.scores, strict=True), 1):
            if doc_id not in ranks:
                ranks[doc_id] = rank
                if math.isfinite(score):
                    scores[doc_id] = score
        return scores, ranks

    kw, kw_rank = first(keyword)
    sem, sem_rank = first(semantic)
    top = max(kw.values(), default=0.0)
    rows = []
    for doc_id in {*kw_rank, *sem_rank}:
        bm25 = kw.get(doc_id, min(kw.values(), default=0.0))
        part = bm25 / top if top > 0 else (1.0 if kw else 0.0)
        score = w * part + (1 - w) * sem.get(doc_id, min(sem.values(), default=0.0))
        best = min(kw_rank.get(doc_id, 10**9), sem_rank.get(doc_id, 10**9))
        rows.append((score, best, doc_id))
    rows.sort(key=lambda row: (-row[0], row[1], row[2]))
    return [(doc_id, score) for score, _, doc_id in rows]


def test_random_rankings_fuse_as_the_docstring_says() -> None:
    """Random rankings with ids listed twice, non-finite and equal scores, empty and
    one-sided: the fused order and scores are those of the rules worked out one
    document at a time."""
    import random

    rng = random.Random(41)
    pool = [f"p{i}" for i in range(40)]
    odd = [math.nan, math.inf, -math.inf]
    checked = 0
    for _ in range(3000):
        rankings = []
        for top in (rng.choice([0.0, 4.0, 12.5]), 1.0):
            ids = [rng.choice(pool) for _ in range(rng.randint(0, 30))]
            scores = [
                rng.choice(odd) if rng.random() < 0.05 else round(rng.uniform(0, top), 1)
                for _ in ids
            ]
            rankings.append(Ranked(ids=ids, scores=scores))
        w = rng.choice([0.0, 0.3, 0.5, 1.0])
        fused = weighted_fusion(rankings[0], rankings[1], w)
        expected = _by_the_docstring(rankings[0], rankings[1], w)
        assert list(zip(fused.ids, fused.scores, strict=True)) == expected
        checked += len(expected)
    assert checked > 30_000
