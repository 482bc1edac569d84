"""``paperwire bench latency``'s split of a search into parts (``bench.latency._Clock``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from paperwire.bench import latency
from paperwire.bench.latency import _Clock


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Sets the clock the bench reads (seconds), so the spans are exact."""
    at = [0.0]
    monkeypatch.setattr(latency.time, "perf_counter", lambda: at[0])

    def set_to(seconds: float) -> None:
        at[0] = seconds

    return set_to


def test_parts_that_overlap_or_are_waited_for_are_counted_once_in_the_rest(
    now: Callable[[float], None],
) -> None:
    """A hybrid search (100 ms): its BM25 search runs in another thread from 10 to 70 ms,
    beside its query embedding (10 to 40 ms); its own thread waits for the BM25 search
    until 70 ms, then searches the vectors (70 to 80 ms). Its rest is the 30 ms no timed
    call covered. The search's time less the parts' sum (100 ms) would say 0."""
    now(0.0)
    clock = _Clock()
    clock.reset()
    now(0.04)
    clock.add("embed", 0.01)
    now(0.07)
    clock.add("keyword", 0.01)
    now(0.08)
    clock.add("vector", 0.07)
    assert clock.parts["embed"] == pytest.approx(30)
    assert clock.parts["keyword"] == pytest.approx(60)
    assert sum(clock.parts.values()) == pytest.approx(100)
    assert clock.engine() == pytest.approx(70)
    assert clock.rest(100.0) == pytest.approx(30)


def test_separate_spans_add_up_and_a_new_search_starts_afresh(
    now: Callable[[float], None],
) -> None:
    now(1.0)
    clock = _Clock()
    clock.reset()
    now(1.02)
    clock.add("embed", 1.0)
    now(1.05)
    clock.add("vector", 1.03)
    assert clock.engine() == pytest.approx(40)
    assert clock.rest(50.0) == pytest.approx(10)
    now(2.0)
    clock.reset()
    assert clock.engine() == 0.0 and not any(clock.parts.values())
    # a call of the last search that ends in this one counts from this one's start only
    now(2.01)
    clock.add("keyword", 1.5)
    assert clock.parts["keyword"] == pytest.approx(10)
    assert clock.engine() == pytest.approx(10)
