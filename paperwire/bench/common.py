"""Pieces every benchmark shares: the short query set, the percentile rule, a timing
loop, a fresh process to measure in, the embedders' query-cache emptier, the name its
cached vectors are kept under, and what a result says about the machine and the
libraries it ran with."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

# Short, realistic searches; benchmarks mix them with real titles sampled from the corpus.
SHORT_QUERIES = [
    "reinforcement learning",
    "video generation",
    "diffusion transformer",
    "multimodal reasoning",
    "mixture of experts",
    "speculative decoding",
    "kv cache compression",
    "reward model",
    "3d gaussian splatting",
    "long context",
    "agent benchmark",
    "text to speech",
    "vision language model",
    "test-time scaling",
    "code generation",
    "retrieval augmented generation",
    "quantization",
    "world model",
    "chain of thought",
    "image editing",
    "federated learning privacy",
    "graph neural networks for molecules",
    "autonomous driving perception",
    "medical image segmentation",
    "protein structure prediction",
    "large language model alignment",
    "object detection transformer",
    "neural radiance fields",
    "contrastive self-supervised learning",
    "low-rank adaptation fine-tuning",
    "hallucination detection",
    "time series forecasting",
    "point cloud registration",
    "machine translation low-resource languages",
    "robot manipulation policy",
    "sparse attention efficient inference",
    "knowledge distillation",
    "adversarial robustness",
    "optical flow estimation",
    "semantic segmentation",
]


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) of ``values`` as the measured value nearest to
    where linear interpolation would read (numpy's ``method="nearest"``): every number a
    bench reports is one it measured. Every bench takes its percentiles here."""
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


# The vector instruction sets ONNX Runtime's kernels (MLAS) choose their code by: the
# query model's int8 products take AVX2 code on this project's host (no VNNI), VNNI's
# dot products where a host has them, so timings from such hosts do not compare.
VECTOR_SETS = ("sse4_2", "avx", "fma", "avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu(cpuinfo: str | None = None) -> str:
    """The processor's model and which of ``VECTOR_SETS`` it has, from Linux's
    ``/proc/cpuinfo`` (``cpuinfo``: its text); elsewhere what ``platform`` says."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return platform.processor() or "processor unknown"
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())  # the first core's
    model = fields.get("model name") or platform.processor() or "processor unknown"
    flags = set(fields.get("flags", "").split())
    return f"{model} ({' '.join(f for f in VECTOR_SETS if f in flags) or 'no vector sets listed'})"


def machine() -> str:
    """The machine a result was measured on, as every bench's result names it: its
    cores, processor and vector instruction sets (``cpu``), and system."""
    return f"{platform.machine()}, {os.cpu_count()} cpus, {cpu()}, {platform.platform()}"


def versions(*dists: str) -> dict[str, str]:
    """Python's version and each of ``dists``' installed version (``-``: not installed)."""
    found = {"python": platform.python_version()}
    for dist in dists:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "-"
    return found


def timed_ms(
    calls: Sequence[Callable[[], object]], before: Callable[[], None] | None = None
) -> list[float]:
    """The milliseconds each of ``calls`` took, ``before`` run untimed ahead of each
    (e.g. emptying a query cache)."""
    ms = []
    for call in calls:
        if before is not None:
            before()
        start = time.perf_counter()
        call()
        ms.append((time.perf_counter() - start) * 1000)
    return ms


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a fresh interpreter (spawned): clean RSS, nothing of the caller's
    caches or process-wide settings (BLAS threads), memory returned afterwards."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as ex:
        return ex.submit(fn, *args).result()


def query_cache_clearer(embedder: Any) -> Callable[[], None] | None:
    """What empties ``embedder``'s query cache (the ONNX and torch embedders keep their
    query vectors in an ``lru_cache``, ``_cached_query``), so that a timed search or probe
    embeds its query; None for an embedder that keeps none."""
    clear = getattr(getattr(embedder, "_cached_query", None), "cache_clear", None)
    return clear if callable(clear) else None


def backend_of(embedder: object) -> str:
    """``torch``, ``onnx`` or ``onnx-int8``: what actually computes the vectors (an ONNX
    backend falls back to torch when its export is missing)."""
    return str(getattr(embedder, "backend", "torch"))


def vectors_made_by(embedder: object) -> str:
    """What every bench cache of vectors is keyed by: the backend that ran
    (``backend_of``, not the one configured) and, for an ONNX export, the recipe that
    made it (``onnx-int8-r4``). Why: exports of other recipes embed a text a little
    differently (recipes 3 and 4: cosine 0.9936 on average at 256 tokens), and a rerun
    after `paperwire model export` scored its queries against the older export's
    documents."""
    recipe = getattr(embedder, "recipe", None)
    backend = backend_of(embedder)
    return backend if recipe is None else f"{backend}-r{recipe}"


def title_vectors_key(count: int, embedder: object) -> str:
    """The cache name of the backends bench's ``count`` sampled titles' vectors made by
    ``embedder`` (``vectors_made_by``), which the recommendation bench reads too."""
    return f"titles-{count}-seed7-{vectors_made_by(embedder)}-minilm"
