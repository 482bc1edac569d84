"""``paperwire bench latency``'s split of a search into parts (``bench.latency._Clock``)."""

from __future__ import annotations

import threading
import time

import pytest

from paperwire.bench.latency import _Clock


def test_parts_that_overlap_or_are_waited_for_are_not_counted_twice_as_engine_time() -> None:
    """A hybrid search's BM25 runs in another thread beside its query embedding, and its
    own thread then waits for it: both are parts, and the search's rest (its time less
    ``engine``) leaves out the time either ran, once. Summing the parts (as the bench
    did) counts the overlap twice and leaves the wait in the rest."""
    clock = _Clock()
    clock.reset()
    t0 = time.perf_counter()

    def bm25_beside() -> None:
        started = time.perf_counter()
        time.sleep(0.06)
        clock.add("keyword", started)

    other = threading.Thread(target=bm25_beside)
    other.start()
    started = time.perf_counter()
    time.sleep(0.03)
    clock.add("embed", started)
    other.join()  # the wait: BM25 runs on
    time.sleep(0.02)  # the rest: no timed call
    total = (time.perf_counter() - t0) * 1000
    assert clock.parts["keyword"] >= 60 and clock.parts["embed"] >= 30
    engine = clock.engine()
    assert 60 <= engine < clock.parts["keyword"] + clock.parts["embed"]
    assert total - engine == pytest.approx(20, abs=15)
    clock.reset()  # a new search: nothing carried over
    assert clock.engine() == 0.0 and not any(clock.parts.values())


def test_separate_spans_add_up() -> None:
    clock = _Clock()
    clock.reset()
    for part in ("embed", "vector"):
        started = time.perf_counter()
        time.sleep(0.02)
        clock.add(part, started)
    assert clock.engine() == pytest.approx(clock.parts["embed"] + clock.parts["vector"])
