"""Pieces every benchmark shares: the short query set and the percentile rule."""

from __future__ import annotations

from collections.abc import Sequence

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
