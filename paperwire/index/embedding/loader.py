"""``load_embedder``: the configured embedding backend, loaded once per process."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from paperwire.index.embedding.base import Embedder
from paperwire.index.embedding.torch import SentenceTransformerEmbedder

if TYPE_CHECKING:
    from paperwire.config import Settings

__all__ = ["load_embedder"]

_EMBEDDERS: dict[tuple[str, int, int, int | None, str, str | None], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def load_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process (per model and settings).

    ``embedding_backend`` ``onnx-int8``/``onnx`` use the exported ONNX model
    (``paperwire.index.embedding.onnx``); when that file is missing or stale a warning is
    logged and the torch (sentence-transformers) backend is used instead.
    """
    key = (
        settings.embedding_model,
        settings.embedding_max_tokens,
        settings.embedding_batch_size,
        settings.embedding_threads,
        settings.embedding_backend,
        str(settings.models_dir) if settings.models_dir else None,
    )
    with _EMBEDDERS_LOCK:
        embedder = _EMBEDDERS.get(key)
        if embedder is None and settings.embedding_backend != "torch":
            from paperwire.index.embedding.onnx import open_onnx_embedder

            embedder = open_onnx_embedder(settings)
        if embedder is None:
            embedder = SentenceTransformerEmbedder(
                settings.embedding_model,
                max_tokens=settings.embedding_max_tokens,
                batch_size=settings.embedding_batch_size,
                threads=settings.embedding_threads,
            )
        _EMBEDDERS[key] = embedder
        return embedder
