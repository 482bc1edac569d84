"""``bench.probe``: the same fixed work timed before and after a bench run's measurements,
so that a run on a slower host, or hour, is told apart from a slower tree."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from paperwire.bench.probe import (
    PROBE_QUERIES,
    _python_work,
    host_line,
    probe_host,
    probe_in_fresh_process,
)
from paperwire.index.base import Vector
from paperwire.index.embedding.onnx_export import RECIPE
from tests.conftest import AppFactory

_ROUNDS = 3  # bench.probe._EMBEDDING_ROUNDS


class _Watching:
    """An embedder that notes, at each query, how many answers its cache kept."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._cached_query = inner._cached_query
        self.backend = inner.backend
        self.recipe = inner.recipe
        self.kept_at_each: list[int] = []

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        self.kept_at_each.append(self._cached_query.cache_info().currsize)
        vector: Vector = self._inner.encode_query(text, beside=beside)
        return vector


class _Uncached:
    """An embedder without a query cache the probe could empty."""

    def __init__(self) -> None:
        self.calls = 0

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        self.calls += 1
        return np.zeros(4, dtype=np.float32)


def test_the_python_work_is_fixed() -> None:
    """The abstract's 71 distinct words, counted 60 times over: changing the text or the
    passes changes the work, and no probe after it compares with one before."""
    assert _python_work() == 71


def test_without_an_embedder_the_probe_times_python_and_a_memory_read() -> None:
    host = probe_host(None, tries=3)
    assert set(host) == {"python_ms", "memory_read_ms"}
    assert host["python_ms"] > 0 and host["memory_read_ms"] > 0


def test_an_embedder_whose_cache_cannot_be_emptied_is_left_out() -> None:
    """No number rather than a wrong one: its answers after the first would be kept."""
    uncached = _Uncached()
    host = probe_host(uncached, tries=3)
    assert "query_embedding_ms" not in host and "embedder" not in host
    assert uncached.calls == 0


@pytest.mark.slow
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
    # the export's recipe beside the backend: the same weights run other operators by it
    assert embedder.recipe == RECIPE  # type: ignore[attr-defined]
    assert host["embedder"] == f"{embedder.backend} recipe {RECIPE}"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_fresh_process_probes_with_the_probes_own_query_model() -> None:
    """As the benches call it: in a process of its own (it limits BLAS to one thread
    there), with the bundled model's ONNX int8 export (which ``make install`` makes)."""
    host = probe_in_fresh_process()
    assert host["embedder"] == f"onnx-int8 recipe {RECIPE}"
    timed = {k: v for k, v in host.items() if k != "embedder"}
    assert set(timed) == {
        "python_ms",
        "memory_read_ms",
        "query_embedding_ms",
        "query_embedding_p95_ms",
    }
    assert all(v > 0 for v in timed.values())


def test_a_probe_that_fails_is_left_out_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A diagnostic never costs a run its results: settings the probe's process cannot
    read make it fail there, and the caller gets no numbers and a warning."""
    monkeypatch.setenv("PAPERWIRE_SEMANTIC_FLOOR", "not a number")
    with caplog.at_level(logging.WARNING, logger="paperwire.bench.probe"):
        assert probe_in_fresh_process() == {}
    assert "the host probe failed" in caplog.text


def test_the_line_under_a_run_shows_both_probes() -> None:
    before = {
        "python_ms": 0.871,
        "memory_read_ms": 4.672,
        "query_embedding_ms": 2.076,
        "query_embedding_p95_ms": 4.068,
        "embedder": "onnx-int8",
    }
    after = {**before, "python_ms": 1.208, "query_embedding_ms": 1.58}
    line = host_line({"before": before, "after": after}, "the searches")
    assert line.startswith("host probe before / after the searches")
    assert "Python 0.87 / 1.21 ms" in line
    assert "64 MB read 4.67 / 4.67 ms" in line
    assert "query embedding (onnx-int8) p50 2.08 / 1.58 ms, p95 4.07 / 4.07 ms" in line
    failed = host_line({"before": {"python_ms": 1.0, "memory_read_ms": 5.0}, "after": {}}, "x")
    assert "Python 1.00 / - ms" in failed
    assert "query embedding" not in failed
