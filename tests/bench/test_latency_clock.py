"""``paperwire bench latency``'s split of a search into parts (``bench.latency._Clock``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from paperwire.bench.latency import _Clock

# (part, started, ended) in seconds of the clock the bench reads
Calls = Sequence[tuple[str, float, float]]


@pytest.fixture
def search() -> Callable[..., _Clock]:
    """A clock reset at ``start`` that saw ``calls`` end in order, on a set clock (no
    sleeps: the spans are exact)."""
    at = [0.0]

    def timed(start: float, calls: Calls, clock: _Clock | None = None) -> _Clock:
        clock = clock or _Clock(now=lambda: at[0])
        at[0] = start
        clock.reset()
        for part, started, ended in calls:
            at[0] = ended
            clock.add(part, started)
        return clock

    return timed


def test_parts_that_overlap_or_are_waited_for_are_counted_once_in_the_rest(
    search: Callable[..., _Clock],
) -> None:
    """A hybrid search (100 ms): its BM25 search runs in another thread from 10 to 70 ms,
    beside its query embedding (10 to 40 ms); its own thread waits for the BM25 search
    until 70 ms, then searches the vectors (70 to 80 ms). Its rest is the 30 ms no timed
    call covered. The search's time less the parts' sum (100 ms) would say 0."""
    clock = search(0.0, [("embed", 0.01, 0.04), ("keyword", 0.01, 0.07), ("vector", 0.07, 0.08)])
    assert clock.parts["embed"] == pytest.approx(30)
    assert clock.parts["keyword"] == pytest.approx(60)
    assert sum(clock.parts.values()) == pytest.approx(100)
    assert clock.engine() == pytest.approx(70)
    assert clock.rest(100.0) == pytest.approx(30)


def test_separate_spans_add_up(search: Callable[..., _Clock]) -> None:
    clock = search(1.0, [("embed", 1.0, 1.02), ("vector", 1.03, 1.05)])
    assert clock.engine() == pytest.approx(40)
    assert clock.rest(50.0) == pytest.approx(10)


def test_a_call_of_an_earlier_search_counts_from_the_next_ones_start_only(
    search: Callable[..., _Clock],
) -> None:
    clock = search(1.0, [("embed", 1.0, 1.02)])
    search(2.0, [("keyword", 1.5, 2.01)], clock)  # reset at 2.0, then a call since 1.5 ends
    assert clock.parts["embed"] == 0.0
    assert clock.parts["keyword"] == pytest.approx(10)
    assert clock.engine() == pytest.approx(10)
