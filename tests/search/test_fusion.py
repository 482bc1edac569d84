"""Reciprocal rank fusion and min-max fusion: hand-computed examples."""

from __future__ import annotations

import math
import random

import pytest

from paperwire.index.base import Ranked
from paperwire.search.fusion import min_max_fusion, reciprocal_rank_fusion


def ranked(*ids: str, scores: list[float] | None = None) -> Ranked:
    if scores is None:
        scores = [float(len(ids) - i) for i in range(len(ids))]
    return Ranked(ids=list(ids), scores=scores)


def test_rrf_two_rankings_hand_computed():
    fused = reciprocal_rank_fusion([ranked("a", "b", "c"), ranked("c", "a", "d")], k=60)
    assert fused.ids == ["a", "c", "b", "d"]
    expected = [1 / 61 + 1 / 62, 1 / 63 + 1 / 61, 1 / 62, 1 / 63]
    assert len(fused.scores) == 4
    for got, want in zip(fused.scores, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-12)
    assert fused.scores[0] == pytest.approx(0.032522474881015336, abs=1e-12)


def test_rrf_ignores_input_scores():
    a = reciprocal_rank_fusion([ranked("x", "y", scores=[1000.0, -5.0])])
    b = reciprocal_rank_fusion([ranked("x", "y", scores=[0.1, 0.0])])
    assert a == b
    assert a.ids == ["x", "y"]
    assert a.scores == [1 / 61, 1 / 62]


def test_rrf_k():
    fused = reciprocal_rank_fusion([ranked("a", "b")], k=0)
    assert fused.scores == [1.0, 0.5]
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([ranked("a")], k=-1)


def test_rrf_weights_change_the_order():
    rankings = [ranked("a", "b", "c"), ranked("c", "a", "d")]
    fused = reciprocal_rank_fusion(rankings, k=60, weights=[1.0, 3.0])
    # a: 1/61 + 3/62 = 0.0647767; c: 1/63 + 3/61 = 0.0650522; d: 3/63; b: 1/62
    assert fused.ids == ["c", "a", "d", "b"]
    expected = [1 / 63 + 3 / 61, 1 / 61 + 3 / 62, 3 / 63, 1 / 62]
    for got, want in zip(fused.scores, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-12)


def test_rrf_zero_weight_keeps_documents_with_nothing_added():
    fused = reciprocal_rank_fusion([ranked("a"), ranked("b", "a")], weights=[1.0, 0.0])
    assert fused.ids == ["a", "b"]
    assert fused.scores == [1 / 61, 0.0]


@pytest.mark.parametrize("weights", [[1.0], [1.0, 2.0, 3.0], [1.0, -1.0], [1.0, math.nan]])
def test_rrf_bad_weights(weights: list[float]):
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([ranked("a"), ranked("b")], weights=weights)


def test_rrf_empty_inputs():
    assert reciprocal_rank_fusion([]) == Ranked()
    assert reciprocal_rank_fusion([Ranked(), Ranked()]) == Ranked()
    assert reciprocal_rank_fusion([], weights=[]) == Ranked()
    fused = reciprocal_rank_fusion([Ranked(), ranked("a", "b")])
    assert fused.ids == ["a", "b"]
    assert fused.scores == [1 / 61, 1 / 62]


def test_rrf_single_ranking_keeps_its_order():
    ids = [f"2406.{i:05d}" for i in range(50)]
    fused = reciprocal_rank_fusion([ranked(*ids)])
    assert fused.ids == ids
    assert fused.scores == sorted(fused.scores, reverse=True)


def test_rrf_duplicate_id_counts_once_at_best_rank():
    fused = reciprocal_rank_fusion([ranked("a", "b", "a")])
    assert fused.ids == ["a", "b"]
    assert fused.scores == [1 / 61, 1 / 62]


def test_rrf_ties_broken_by_best_single_rank_then_id():
    # symmetric rankings tie exactly (fsum does not depend on summation order)
    fused = reciprocal_rank_fusion([ranked("b", "a"), ranked("a", "b")])
    assert fused.scores[0] == fused.scores[1]
    assert fused.ids == ["a", "b"]  # both best rank 1: id decides
    # "c" only in one ranking at rank 1 vs "d" at rank 1 in another: equal, id decides
    fused = reciprocal_rank_fusion([ranked("d"), ranked("c")])
    assert fused.ids == ["c", "d"]
    # equal scores, different best rank: k=0, p at ranks 2 and 2 (1/2+1/2 = 1.0);
    # q at rank 1 only (1/1 = 1.0) -> q has the better single rank
    fused = reciprocal_rank_fusion([ranked("q", "p"), ranked("z", "p")], k=0)
    assert fused.scores[:2] == [1.0, 1.0]
    assert fused.ids[:2] == ["q", "z"]
    assert fused.ids[2] == "p"
    assert fused.scores[2] == 1.0


def test_rrf_best_single_rank_beats_id():
    fused = reciprocal_rank_fusion([ranked("z", "a"), ranked("y", "a")], k=0)
    # a: 1/2 + 1/2 = 1.0 at best rank 2; y and z: 1.0 at rank 1
    assert fused.ids == ["y", "z", "a"]


def test_rrf_deterministic_regardless_of_ranking_order():
    rng = random.Random(3)
    pool = [f"id{i}" for i in range(40)]
    rankings = [ranked(*rng.sample(pool, 25)) for _ in range(4)]
    first = reciprocal_rank_fusion(rankings)
    for _ in range(5):
        shuffled = rankings[:]
        rng.shuffle(shuffled)
        assert reciprocal_rank_fusion(shuffled) == first
    assert first.scores == sorted(first.scores, reverse=True)
    assert sorted(first.ids) == sorted(set().union(*(r.ids for r in rankings)))


def test_min_max_hand_computed():
    bm25 = ranked("a", "b", "c", scores=[10.0, 6.0, 2.0])  # -> 1.0, 0.5, 0.0
    cosine = ranked("c", "a", "d", scores=[0.9, 0.7, 0.5])  # -> 1.0, 0.5, 0.0
    fused = min_max_fusion([bm25, cosine], [1.0, 1.0])
    # a: 1.0 + 0.5 = 1.5 ; c: 0.0 + 1.0 = 1.0 ; b: 0.5 ; d: 0.0
    assert fused.ids == ["a", "c", "b", "d"]
    for got, want in zip(fused.scores, [1.5, 1.0, 0.5, 0.0], strict=True):
        assert got == pytest.approx(want, abs=1e-12)


def test_min_max_weights():
    bm25 = ranked("a", "b", "c", scores=[10.0, 6.0, 2.0])
    cosine = ranked("c", "a", "d", scores=[0.9, 0.7, 0.5])
    fused = min_max_fusion([bm25, cosine], [0.25, 0.75])
    # a: .25 + .375 = .625 ; c: 0 + .75 = .75 ; b: .125 ; d: 0
    assert fused.ids == ["c", "a", "b", "d"]
    for got, want in zip(fused.scores, [0.75, 0.625, 0.125, 0.0], strict=True):
        assert got == pytest.approx(want, abs=1e-12)


def test_min_max_default_weights_and_constant_scores():
    fused = min_max_fusion([ranked("a", scores=[3.0]), ranked("b", "c", scores=[0.2, 0.2])])
    assert fused.scores == [1.0, 1.0, 1.0]
    assert fused.ids == ["a", "b", "c"]  # best rank 1 (a, b) before c (rank 2); then id


def test_min_max_non_finite_scores():
    fused = min_max_fusion([ranked("a", "b", "c", "d", scores=[math.inf, 4.0, 2.0, math.nan])])
    assert fused.ids == ["a", "b", "c", "d"]
    assert fused.scores == [1.0, 1.0, 0.0, 0.0]


def test_min_max_errors_and_empty():
    assert min_max_fusion([], []) == Ranked()
    assert min_max_fusion([Ranked()], None) == Ranked()
    with pytest.raises(ValueError):
        min_max_fusion([Ranked(ids=["a", "b"], scores=[1.0])], None)
    with pytest.raises(ValueError):
        min_max_fusion([ranked("a")], [1.0, 1.0])
