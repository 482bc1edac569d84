"""Pieces every benchmark shares: the short query set, the percentile rule, a timing
loop, a fresh process to measure in and the embedders' query-cache emptier."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
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
    """Nearest-rank percentile (``p`` in 0–100) of ``values``; no interpolation."""
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


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
