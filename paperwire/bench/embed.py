"""Embedding benchmark: the torch, ONNX fp32 and ONNX int8 backends side by side.

``paperwire bench embed --n 1000`` embeds ``n`` real arXiv abstracts (``title + ". " +
abstract``, a seeded sample of ``shared/data/arxiv-listings``) with every backend in one
process, interleaved: the texts are cut into chunks of 128 (what ``embed_backlog``
passes to the model) and each chunk is encoded by every backend in a rotating order, so
a noisy neighbour on the machine slows all of them alike. Reported per backend:
documents per second, the ratio to torch, and quality against the torch vectors —

* cosine: mean / minimum over the documents of ``cos(v_backend, v_torch)``;
* overlap@10: the first 100 titles as queries (``encode_query``), top 10 among the
  documents, both embedded by the backend, against torch's top 10 (1.0 = same sets);
* mixed@10: the same, but the backend's queries against the *torch* document vectors —
  what a search sees after switching backends without re-embedding.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.common import machine, versions
from paperwire.config import Settings
from paperwire.index.base import Vector
from paperwire.index.embedding.base import Embedder, document_text
from paperwire.index.embedding.torch import SentenceTransformerEmbedder

__all__ = ["BACKENDS", "BackendResult", "EmbedBenchResult", "load_abstracts", "run_embed_bench"]

BACKENDS = ("torch", "onnx", "onnx-int8")
Progress = Callable[[str], None]


@dataclass
class BackendResult:
    backend: str
    docs: int
    seconds: float
    docs_per_s: float
    ratio_vs_torch: float
    cosine_mean: float
    cosine_min: float
    overlap_at_10: float
    mixed_at_10: float


@dataclass
class EmbedBenchResult:
    n: int
    batch_size: int
    threads: int
    chunk: int
    max_tokens: int
    mean_tokens: float
    machine: str
    versions: dict[str, str]
    results: list[BackendResult] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def shared_data_dir() -> Path:
    """``$PAPERWIRE_SHARED_DATA``, else ``../shared/data`` beside the working directory
    or beside the source tree."""
    env = os.environ.get("PAPERWIRE_SHARED_DATA")
    if env:
        return Path(env)
    candidates = [
        Path.cwd().parent / "shared" / "data",
        Path(__file__).resolve().parents[2].parent / "shared" / "data",
    ]
    return next((c for c in candidates if c.is_dir()), candidates[-1])


def listings_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or shared_data_dir()) / "arxiv-listings"


def load_abstracts(n: int, data_dir: Path | None = None, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` (title, document text) pairs, a seeded sample of every listing file."""
    folder = listings_dir(data_dir)
    files = sorted(folder.glob("*.jsonl.gz"))
    if not files:
        raise FileNotFoundError(f"no arXiv listings (*.jsonl.gz) in {folder}")
    rows: list[tuple[str, str]] = []
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                title, abstract = r.get("title") or "", r.get("summary") or ""
                if title and abstract:
                    rows.append((" ".join(title.split()), document_text(title, abstract)))
    if n > len(rows):
        raise ValueError(f"asked for {n} abstracts, {folder} has {len(rows)}")
    return random.Random(seed).sample(rows, n)


def load_backend(
    backend: str, *, threads: int, batch_size: int, max_tokens: int, models_dir: Path | None
) -> Embedder:
    """One backend, loaded directly (no fallback: a bench of torch against torch lies).
    ``models_dir`` None: the configured one (``PAPERWIRE_MODELS_DIR``, else the default;
    passed as None, it would override the variable)."""
    settings = Settings(
        embedding_backend=backend,
        embedding_threads=threads,
        embedding_batch_size=batch_size,
        embedding_max_tokens=max_tokens,
    )
    if models_dir is not None:
        settings = settings.model_copy(update={"models_dir": models_dir})
    if backend == "torch":
        return SentenceTransformerEmbedder(
            settings.embedding_model, max_tokens=max_tokens, batch_size=batch_size, threads=threads
        )
    from paperwire.index.embedding.onnx import export_dir, open_onnx_embedder

    embedder = open_onnx_embedder(settings)
    if embedder is None:
        raise RuntimeError(
            f"backend {backend}: no usable ONNX export in {export_dir(settings)}; "
            f"run `paperwire model export` first"
        )
    return embedder


def _top10(queries: Vector, docs: Vector) -> list[set[int]]:
    scores = queries @ docs.T
    top = np.argpartition(-scores, 9, axis=1)[:, :10]
    return [set(row.tolist()) for row in top]


def _overlap(a: Sequence[set[int]], b: Sequence[set[int]]) -> float:
    return float(np.mean([len(x & y) / 10 for x, y in zip(a, b, strict=True)]))


def run_embed_bench(
    n: int = 1000,
    *,
    batch_size: int = 32,
    threads: int = 2,
    chunk: int = 128,
    max_tokens: int = 256,
    backends: Sequence[str] = BACKENDS,
    models_dir: Path | None = None,
    data_dir: Path | None = None,
    progress: Progress | None = None,
) -> EmbedBenchResult:
    say = progress or (lambda _m: None)
    if "torch" not in backends:
        backends = ["torch", *backends]  # the reference for ratios and quality
    pairs = load_abstracts(n, data_dir)
    titles = [t for t, _ in pairs[:100]]
    texts = [d for _, d in pairs]
    chunks = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]

    embedders: dict[str, Embedder] = {}
    for b in backends:
        say(f"loading {b}")
        embedders[b] = load_backend(
            b, threads=threads, batch_size=batch_size, max_tokens=max_tokens, models_dir=models_dir
        )
    for b, e in embedders.items():  # warm-up: first runs allocate and plan
        say(f"warming up {b}")
        e.encode_documents(texts[:batch_size])
        e.encode_query("warm up")

    seconds = dict.fromkeys(embedders, 0.0)
    parts: dict[str, list[Vector]] = {b: [] for b in embedders}
    names = list(embedders)
    for i, c in enumerate(chunks):
        for j in range(len(names)):
            b = names[(i + j) % len(names)]  # rotate who goes first
            t0 = time.perf_counter()
            parts[b].append(embedders[b].encode_documents(c, batch_size=batch_size))
            seconds[b] += time.perf_counter() - t0
        done = min(len(texts), (i + 1) * chunk)
        rates = ", ".join(f"{b} {done / seconds[b]:.1f}" for b in names)
        say(f"{done}/{len(texts)} docs: {rates} docs/s")

    vectors = {b: np.concatenate(parts[b]) for b in names}
    queries = {b: np.stack([embedders[b].encode_query(t) for t in titles]) for b in names}
    ref_docs, ref_top = vectors["torch"], _top10(queries["torch"], vectors["torch"])

    from paperwire.index.embedding.onnx import OnnxEmbedder

    onnx = next((e for e in embedders.values() if isinstance(e, OnnxEmbedder)), None)
    lengths = onnx.token_counts(texts) if onnx is not None else []
    result = EmbedBenchResult(
        n=len(texts),
        batch_size=batch_size,
        threads=threads,
        chunk=chunk,
        max_tokens=max_tokens,
        mean_tokens=float(np.mean(lengths)) if lengths else float("nan"),
        machine=machine(),
        versions=versions(
            "torch", "sentence-transformers", "transformers", "onnxruntime", "tokenizers"
        ),
    )
    torch_rate = len(texts) / seconds["torch"]
    for b in names:
        cos = (vectors[b] * ref_docs).sum(axis=1)
        rate = len(texts) / seconds[b]
        result.results.append(
            BackendResult(
                backend=b,
                docs=len(texts),
                seconds=round(seconds[b], 2),
                docs_per_s=round(rate, 2),
                ratio_vs_torch=round(rate / torch_rate, 3),
                cosine_mean=round(float(cos.mean()), 5),
                cosine_min=round(float(cos.min()), 5),
                overlap_at_10=round(_overlap(_top10(queries[b], vectors[b]), ref_top), 4),
                mixed_at_10=round(_overlap(_top10(queries[b], ref_docs), ref_top), 4),
            )
        )
    return result
