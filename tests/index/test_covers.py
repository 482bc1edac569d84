"""``minimal_covers``: the coverage rule as an OR of ANDs, against brute force."""

from __future__ import annotations

import itertools
import random

from paperwire.index.base import minimal_covers


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
