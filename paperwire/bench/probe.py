"""How fast the host is while a bench measures: the same fixed work in every run.

Why: the machines are shared and their speed differs from one to the next and from hour
to hour. The same tree gave hybrid p95 at 74.7k papers with no filter of 10.2–11.8 ms on
one host and 14.8–18.6 ms on another (issue 16's notes); without a measure of the host kept
with the result, a number that moved could have moved with the code or with the machine.
The probe times three kinds of work a search is made of, each the same in every run:

* ``python_ms``: interpreted Python (lowercasing, splitting, counting words of a fixed
  abstract): what a page's cards and snippets cost;
* ``memory_read_ms``: one pass over a 64 MB array, larger than the last-level cache of
  this project's hosts (32 MB): what a vector pass over a copy of the vectors costs;
* ``query_embedding_ms``: the query embedding of fixed phrases (``PROBE_QUERIES``) by
  the bundled model's ONNX int8 export on two threads, whatever the bench measures with,
  the query cache emptied before each, as the bench's searches pay for it. ``embedder``
  says what ran: where the export is missing the loader falls back to torch, much slower
  work, and an export of another recipe (``onnx_export.RECIPE``) runs other operators.

Each is the median (a measured value, ``bench.common.percentile``; for the embedding the
95th percentile too) of several tries. The probe runs in a process of its own just
before the measurements and again just after (``bench.latency.run_latency_bench``,
``bench.load``): the two show whether the host changed speed during the run (on this
project's hosts the Python work's median read 1.50, 0.87, 1.21 and 0.93 ms in four
probes within minutes), and the probe's array and model neither count in the measuring
process's memory nor leave its caches warm or cold. A probe that fails is logged and
left out: a run's measurements are never lost to it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np

from paperwire.bench.common import in_fresh_process, percentile, query_cache_clearer, timed_ms

__all__ = [
    "PROBE_QUERIES",
    "host_line",
    "probe_host",
    "probe_in_fresh_process",
    "probe_with_embedder",
]

log = logging.getLogger(__name__)

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
# The query model the probe runs, whatever a bench measures with: the same work every run.
PROBE_BACKEND = "onnx-int8"
PROBE_THREADS = 2

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


def _ms(times: list[float], p: float) -> float:
    return round(percentile(times, p), 3)


def probe_host(embedder: Any | None = None, tries: int = _TRIES) -> dict[str, Any]:
    """The probe's numbers (ms; see the module docstring). ``embedder``: an ``Embedder``
    whose query cache can be emptied (``bench.common.query_cache_clearer``) before each
    query; None, or one without such a cache, leaves the embedding out (its kept answers
    would time no embedding)."""
    _python_work()  # the first pass pays for the bytecode's caches
    data = np.ones(_READ_BYTES // 4, dtype=np.float32)
    result: dict[str, Any] = {
        "python_ms": _ms(timed_ms([_python_work] * tries), 50),
        "memory_read_ms": _ms(timed_ms([data.sum] * tries), 50),
    }
    clear = query_cache_clearer(embedder)
    if embedder is not None and clear is not None:
        embedder.encode_query(PROBE_QUERIES[0])  # loads what a first run loads
        queries = [partial(embedder.encode_query, q) for q in PROBE_QUERIES]
        times = timed_ms(queries * _EMBEDDING_ROUNDS, before=clear)
        result["query_embedding_ms"] = _ms(times, 50)
        result["query_embedding_p95_ms"] = _ms(times, 95)
        ran = str(getattr(embedder, "backend", type(embedder).__name__))
        recipe = getattr(embedder, "recipe", None)
        # the export's recipe changes the work (docs/benchmarks.md, "A LayerNormalization
        # that is not fused")
        result["embedder"] = f"{ran} recipe {recipe}" if recipe is not None else ran
    return result


def probe_with_embedder() -> dict[str, Any]:
    """``probe_host`` with the probe's own query model (the bundled model, ``PROBE_BACKEND``
    on ``PROBE_THREADS`` threads), BLAS on one thread as in a serving or measuring process.
    Call it in a fresh process (``probe_in_fresh_process``): the BLAS limit stays."""
    from paperwire.config import BUNDLED_MODEL, Settings
    from paperwire.index.embedding.loader import load_embedder
    from paperwire.index.threads import single_thread_blas

    single_thread_blas()
    settings = Settings(
        embedding_model=BUNDLED_MODEL,
        embedding_backend=PROBE_BACKEND,
        embedding_threads=PROBE_THREADS,
    )
    return probe_host(load_embedder(settings))


def probe_in_fresh_process() -> dict[str, Any]:
    """``probe_with_embedder`` in a fresh interpreter (its array and model leave the
    caller's memory and caches as they were); ``{}`` where it failed (logged)."""
    try:
        found: dict[str, Any] = in_fresh_process(probe_with_embedder)
    except Exception as exc:  # a diagnostic: never the reason a run's results are lost
        log.warning(
            "the host probe failed (%s: %s); the run goes on without it", type(exc).__name__, exc
        )
        return {}
    return found


def host_line(host: dict[str, dict[str, Any]], around: str) -> str:
    """A run's host probes, ``before`` / ``after`` ``around`` (its measurements), as one
    line; ``-`` for a number a probe lacks (it failed, or ran no embedding)."""
    probes = [host[k] for k in ("before", "after") if k in host]

    def both(key: str) -> str:
        return " / ".join(f"{p[key]:.2f}" if key in p else "-" for p in probes)

    parts = [f"Python {both('python_ms')} ms", f"64 MB read {both('memory_read_ms')} ms"]
    ran = sorted({str(p["embedder"]) for p in probes if "embedder" in p})
    if ran:
        parts.append(f"query embedding ({', '.join(ran)}) p50 {both('query_embedding_ms')} ms")
        parts.append(f"p95 {both('query_embedding_p95_ms')} ms")
    when = " / ".join(k for k in ("before", "after") if k in host)
    return f"host probe {when} {around} (the same fixed work every run): " + ", ".join(parts)
