"""``minimal_covers``: the coverage rule as an OR of ANDs, against brute force;
``cover_tree``: the same covers merged on their common beginnings; and
``heaviest_short_of``: the most a set of terms short of the coverage weighs."""

from __future__ import annotations

import itertools
import random

import pytest

from paperwire.index.base import CoverTree, cover_tree, heaviest_short_of, minimal_covers


def brute_minimal(units: list[int], need: int) -> set[frozenset[int]]:
    weighed = [i for i, u in enumerate(units) if u > 0]
    found: set[frozenset[int]] = set()
    for n in range(1, len(weighed) + 1):
        for combo in itertools.combinations(weighed, n):
            total = sum(units[i] for i in combo)
            if total >= need and all(total - units[i] < need for i in combo):
                found.add(frozenset(combo))
    return found


def test_covers_are_exactly_the_minimal_sets() -> None:
    rng = random.Random(5)
    for _ in range(400):
        units = [rng.choice([0, 1, 1, 2, 3, 5, 8, 13]) for _ in range(rng.randint(1, 8))]
        need = rng.randint(1, max(1, sum(units)) + 1)
        covers = minimal_covers(units, need, limit=10_000)
        assert covers is not None
        assert len(covers) == len({frozenset(c) for c in covers}), "a set listed twice"
        assert {frozenset(c) for c in covers} == brute_minimal(units, need), (units, need)


def test_a_document_matches_exactly_when_it_holds_a_cover() -> None:
    rng = random.Random(9)
    for _ in range(300):
        units = [rng.randint(0, 9) for _ in range(rng.randint(1, 7))]
        need = rng.randint(1, sum(units) or 1)
        covers = minimal_covers(units, need, limit=10_000)
        assert covers is not None
        for _ in range(20):
            held = {i for i in range(len(units)) if rng.random() < 0.5}
            by_weight = sum(units[i] for i in held) >= need
            assert by_weight == any(set(c) <= held for c in covers), (units, need, held)


def test_too_many_covers_is_none_and_heavy_terms_stand_alone() -> None:
    assert minimal_covers([1] * 20, 10, limit=64) is None
    assert minimal_covers([9, 1, 1], 9) == [[0]]  # 1 + 1 falls short
    assert minimal_covers([9, 1, 1], 2) == [[0], [1, 2]]
    assert minimal_covers([0, 0], 1) == []


def paths(tree: CoverTree) -> list[list[int]]:
    """Every path from the root of ``tree`` to a leaf."""
    found: list[list[int]] = []
    for i, below in tree.items():
        found += [[i, *rest] for rest in paths(below)] if below else [[i]]
    return found


def test_the_cover_tree_s_paths_are_exactly_the_covers() -> None:
    rng = random.Random(11)
    forks_below_the_root = 0
    for _ in range(400):
        units = [rng.choice([0, 1, 1, 2, 3, 5, 8, 13]) for _ in range(rng.randint(1, 12))]
        need = rng.randint(1, max(1, sum(units)) + 1)
        covers = minimal_covers(units, need, limit=10_000)
        assert covers is not None
        tree = cover_tree(covers)
        assert sorted(paths(tree)) == sorted(covers), (units, need)
        forks_below_the_root += any(len(below) > 1 for below in tree.values())
    assert forks_below_the_root > 50  # the merging is exercised, not only flat covers


def test_a_pasted_title_s_covers_share_their_heaviest_terms() -> None:
    # The units of a pasted title's 16 words among the 74.7k bench papers ("MFE-GAN:
    # Efficient GAN-based Framework for Document Image Enhancement and Binarization with
    # Multi-scale Feature Extraction"); a partial match (relevance order) needs 4.
    units = [18, 10, 3, 1, 2, 0, 6, 2, 3, 0, 14, 0, 3, 3, 3, 5]
    covers = minimal_covers(units, 4)
    assert covers is not None and len(covers) == 31
    tree = cover_tree(covers)
    assert len(tree) == 11  # each first term's postings read once, not once per cover
    assert sorted(paths(tree)) == sorted(covers)
    assert cover_tree([]) == {}
    assert cover_tree([[0], [1, 2]]) == {0: {}, 1: {2: {}}}


def test_the_heaviest_set_short_of_the_coverage_against_brute_force() -> None:
    rng = random.Random(13)
    for _ in range(500):
        n = rng.randint(1, 8)
        units = [rng.choice([0, 1, 1, 2, 3, 5, 8, 13]) for _ in range(n)]
        values = [rng.uniform(0.0, 10.0) for _ in range(n)]
        need = rng.randint(1, sum(units) + 2)
        want = max(
            sum(values[i] for i in combo)
            for r in range(n + 1)
            for combo in itertools.combinations(range(n), r)
            if sum(units[i] for i in combo) < need
        )
        assert heaviest_short_of(units, values, need) == pytest.approx(want), (units, need)
