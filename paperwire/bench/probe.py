"""How fast the host is while a bench measures: the same fixed work in every run.

Why: the machines are shared and their speed differs from one to the next and from hour
to hour. The same tree gave hybrid p95 at 74.7k papers with no filter of 10.2–11.8 ms on
one host and 14.8–18.6 ms on another (issue 16's notes); without a measure of the host kept with the
result, a number that moved could have moved with the code or with the machine. The probe
times three kinds of work a search is made of, each the same in every run:

* ``python_ms``: interpreted Python (lowercasing, splitting, counting words of a fixed
  abstract): what a page's cards and snippets cost;
* ``memory_read_ms``: one pass over a 64 MB array, larger than the caches: what a vector
  pass over a copy of the vectors costs;
* ``query_embedding_ms``: the query embedding of fixed phrases (``PROBE_QUERIES``), the
  query cache emptied before each, as the bench's searches pay for it.

Each is the median (and for the embedding the 95th percentile too) of several tries. The
probe runs in a process of its own just before the measurements and again just after
(``bench.latency.run_latency_bench``, ``bench.load``): the two show whether the host
changed speed during the run (on this project's hosts the Python work's median read 1.50,
0.87, 1.21 and 0.93 ms in four probes within minutes), and the probe's array and model
neither count in the measuring process's memory nor leave its caches warm or cold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

__all__ = ["PROBE_QUERIES", "host_line", "probe_host", "probe_in_fresh_process"]

# Short phrases and pasted titles, as a search box gets them (fixed: the same in every run).
PROBE_QUERIES = (
    "reinforcement learning",
    "diffusion transformer",
    "kv cache compression",
    "retrieval augmented generation",
    "graph neural networks for molecules",
    "low-rank adaptation fine-tuning",
    "Attention Is All You Need",
    "Scaling Laws for Neural Language Models",
    "Denoising Diffusion Probabilistic Models for High-Resolution Image Synthesis",
    "A Survey of Large Language Model Agents: Planning, Memory, Tool Use and Evaluation",
)

_ABSTRACT = (
    "Large language models have shown strong abilities in reasoning, planning and tool "
    "use, yet their behaviour under long contexts remains poorly understood. We study how "
    "retrieval, caching and compression of the key-value state change the accuracy and "
    "the cost of inference on twelve benchmarks, and propose a simple method that keeps "
    "the tokens a model attends to most. Experiments on models from one to seventy "
    "billion parameters show that it matches full attention within one point while using "
    "a quarter of the memory. Code and data are released."
)
_PYTHON_PASSES = 60  # ~1 ms a try on this project's hosts
_READ_BYTES = 64 * 1024 * 1024
_TRIES = 41
_EMBEDDING_ROUNDS = 3


def _python_work() -> int:
    """A fixed amount of interpreted work: the distinct words of the abstract, counted
    ``_PYTHON_PASSES`` times over."""
    counts: dict[str, int] = {}
    for _ in range(_PYTHON_PASSES):
        for word in _ABSTRACT.lower().split():
            word = word.strip(".,:;")
            counts[word] = counts.get(word, 0) + 1
    return len(counts)


def _timed_ms(call: Callable[[], object], tries: int) -> list[float]:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _median(values: Sequence[float]) -> float:
    return round(float(np.percentile(values, 50)), 3)


def probe_host(embedder: Any | None = None, tries: int = _TRIES) -> dict[str, float]:
    """The probe's numbers (ms; see the module docstring). ``embedder``: an ``Embedder``
    whose query cache (``_cached_query``, as the ONNX and torch embedders keep it) is
    emptied before each query; None, or one without that cache, leaves the embedding
    out."""
    _python_work()  # the first pass pays for the bytecode's caches
    result = {"python_ms": _median(_timed_ms(_python_work, tries))}
    data = np.ones(_READ_BYTES // 4, dtype=np.float32)
    result["memory_read_ms"] = _median(_timed_ms(lambda: float(data.sum()), tries))
    clear = getattr(getattr(embedder, "_cached_query", None), "cache_clear", None)
    if embedder is not None and clear is not None:  # kept answers would time no embedding
        embedder.encode_query(PROBE_QUERIES[0])  # loads what a first run loads
        times = []
        for _ in range(_EMBEDDING_ROUNDS):
            for query in PROBE_QUERIES:
                clear()
                start = time.perf_counter()
                embedder.encode_query(query)
                times.append((time.perf_counter() - start) * 1000)
        result["query_embedding_ms"] = _median(times)
        result["query_embedding_p95_ms"] = round(float(np.percentile(times, 95)), 3)
    return result


def probe_with_embedder(backend: str | None, threads: int | None) -> dict[str, float]:
    """``probe_host`` with the query embedder as the settings load it (``backend`` and
    ``threads`` where given), BLAS on one thread as in a serving or measuring process.
    Call it in a fresh process (``probe_in_fresh_process``): the BLAS limit stays."""
    from paperwire.config import Settings
    from paperwire.index.embedding.loader import load_embedder
    from paperwire.index.threads import single_thread_blas

    single_thread_blas()
    chosen: dict[str, Any] = {"embedding_threads": threads}
    if backend is not None:
        chosen["embedding_backend"] = backend
    return probe_host(load_embedder(Settings(**chosen)))


def probe_in_fresh_process(
    backend: str | None = None, threads: int | None = None
) -> dict[str, float]:
    """``probe_with_embedder`` in a fresh interpreter: its array and model leave the
    caller's memory and caches as they were."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(probe_with_embedder, backend, threads).result()


def host_line(host: dict[str, dict[str, float]], around: str) -> str:
    """A run's host probes, ``before`` / ``after`` ``around`` (its measurements), as one
    line."""
    probes = [host[k] for k in ("before", "after") if k in host]

    def both(key: str) -> str:
        return " / ".join(f"{p[key]:.2f}" if key in p else "-" for p in probes)

    parts = [f"Python {both('python_ms')} ms", f"64 MB read {both('memory_read_ms')} ms"]
    if any("query_embedding_ms" in p for p in probes):
        parts.append(f"query embedding p50 {both('query_embedding_ms')} ms")
        parts.append(f"p95 {both('query_embedding_p95_ms')} ms")
    when = " / ".join(k for k in ("before", "after") if k in host)
    return f"host probe {when} {around} (the same fixed work every run): " + ", ".join(parts)
