"""``bench.probe``: the same fixed work timed before and after a bench run's measurements,
so that a run on a slower host, or hour, is told apart from a slower tree."""

from __future__ import annotations

from typing import Any

from paperwire.bench.probe import (
    PROBE_QUERIES,
    _python_work,
    host_line,
    probe_host,
    probe_in_fresh_process,
)
from paperwire.index.base import Vector
from tests.conftest import AppFactory

_ROUNDS = 3  # bench.probe._EMBEDDING_ROUNDS


class _Watching:
    """An embedder that notes, at each query, how many answers its cache kept."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._cached_query = inner._cached_query
        self.kept_at_each: list[int] = []

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        self.kept_at_each.append(self._cached_query.cache_info().currsize)
        vector: Vector = self._inner.encode_query(text, beside=beside)
        return vector


class _Uncached:
    """An embedder without a query cache the probe can empty."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls = 0

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        self.calls += 1
        vector: Vector = self._inner.encode_query(text, beside=beside)
        return vector


def test_the_python_work_is_the_same_in_every_run() -> None:
    assert _python_work() == _python_work() > 60  # the abstract's distinct words


def test_without_an_embedder_the_probe_times_python_and_a_memory_read() -> None:
    host = probe_host(None, tries=3)
    assert set(host) == {"python_ms", "memory_read_ms"}
    assert host["python_ms"] > 0 and host["memory_read_ms"] > 0


def test_every_fixed_query_is_embedded_afresh(make_app: AppFactory) -> None:
    """The cache is emptied before each timed query, as the bench's searches pay for
    their embedding: a kept answer would time a dictionary look-up."""
    embedder = make_app().embedder()
    assert embedder is not None
    watching = _Watching(embedder)
    host = probe_host(watching, tries=3)
    # one untimed first run, then every fixed query in each round
    assert len(watching.kept_at_each) == 1 + _ROUNDS * len(PROBE_QUERIES)
    assert watching.kept_at_each[1:] == [0] * (_ROUNDS * len(PROBE_QUERIES))
    assert 0 < host["query_embedding_ms"] <= host["query_embedding_p95_ms"]


def test_an_embedder_whose_cache_cannot_be_emptied_is_left_out(make_app: AppFactory) -> None:
    """No number rather than a wrong one: its answers after the first would be kept."""
    embedder = make_app().embedder()
    uncached = _Uncached(embedder)
    host = probe_host(uncached, tries=3)
    assert "query_embedding_ms" not in host
    assert uncached.calls == 0


def test_a_fresh_process_probes_with_the_configured_query_embedder() -> None:
    """As the benches call it: in a process of its own (it limits BLAS to one thread
    there, and its array and model stay out of the caller's memory)."""
    host = probe_in_fresh_process("onnx-int8", 2)
    assert set(host) == {
        "python_ms",
        "memory_read_ms",
        "query_embedding_ms",
        "query_embedding_p95_ms",
    }
    assert all(v > 0 for v in host.values())


def test_the_line_under_a_run_shows_both_probes() -> None:
    before = {
        "python_ms": 0.871,
        "memory_read_ms": 4.672,
        "query_embedding_ms": 2.076,
        "query_embedding_p95_ms": 4.068,
    }
    after = {**before, "python_ms": 1.208, "query_embedding_ms": 1.58}
    line = host_line({"before": before, "after": after}, "the searches")
    assert line.startswith("host probe before / after the searches")
    assert "Python 0.87 / 1.21 ms" in line
    assert "64 MB read 4.67 / 4.67 ms" in line
    assert "query embedding p50 2.08 / 1.58 ms, p95 4.07 / 4.07 ms" in line
    plain = host_line({"before": {"python_ms": 1.0, "memory_read_ms": 5.0}}, "the rounds")
    assert plain.startswith("host probe before the rounds")
    assert "query embedding" not in plain
