"""``SentenceTransformerEmbedder``: the embedding model on torch (sentence-transformers).

The reference backend (``PAPERWIRE_EMBEDDING_BACKEND=torch``) and the fallback when no
ONNX export is available. Any model ``resolve_model`` finds can be loaded; torch and
sentence-transformers are imported only when a model is loaded, so importing this
module is cheap.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import numpy as np

from paperwire.index.base import Vector
from paperwire.index.embedding.base import (
    EmbedderError,
    l2_normalise,
    normalise_query,
    resolve_model,
)

__all__ = ["SentenceTransformerEmbedder"]


class SentenceTransformerEmbedder:
    """An ``Embedder`` backed by a sentence-transformers model.

    ``max_tokens`` truncates inputs (MiniLM was trained at 256 word pieces);
    ``threads`` sets torch's CPU thread count (process-wide) when given.
    """

    def __init__(
        self,
        model: str,
        *,
        max_tokens: int = 256,
        batch_size: int = 32,
        threads: int | None = None,
        device: str | None = None,
        query_cache_size: int = 1024,
    ) -> None:
        location = resolve_model(model)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - both are dependencies
            raise EmbedderError(f"sentence-transformers is not installed: {exc}") from exc
        if threads:
            torch.set_num_threads(threads)
        try:
            st_model = SentenceTransformer(location, device=device)
        except Exception as exc:  # OSError, HF hub errors, bad config...
            raise EmbedderError(f"cannot load embedding model {model!r}: {exc}") from exc

        limit = getattr(st_model.tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 0 < limit < max_tokens:
            max_tokens = limit
        st_model.max_seq_length = max_tokens
        get_dim = getattr(st_model, "get_embedding_dimension", None)
        dim = get_dim() if get_dim is not None else st_model.get_sentence_embedding_dimension()
        if not dim:
            raise EmbedderError(f"embedding model {model!r} does not report its dimension")

        self.name = model
        self.dim = int(dim)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._model = st_model
        self._torch = torch
        # torch modules are not documented as thread-safe for concurrent forward passes.
        self._lock = threading.Lock()
        self._cached_query = functools.lru_cache(maxsize=query_cache_size)(self._encode_query)

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.name!r}, dim={self.dim})"

    def _encode(self, texts: list[str], batch_size: int, *, query: bool) -> Vector:
        model = self._model
        # encode_query/encode_document apply the model's own prompts (e5, bge...) where
        # it defines them, as the ONNX embedder does (pyproject: sentence-transformers 6 on).
        fn = model.encode_query if query else model.encode_document
        with self._lock, self._torch.inference_mode():
            out = fn(
                texts,
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return l2_normalise(np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim))

    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None) -> Vector:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        bs = batch_size or self.batch_size
        # Longest first, so each batch holds similar lengths (less padding), and a batch
        # that would run out of memory fails at once; then restore the caller's order.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        encoded = self._encode([texts[i] for i in order], bs, query=False)
        result = np.empty_like(encoded)
        result[np.asarray(order, dtype=np.intp)] = encoded
        return result

    def _encode_query(self, normalised: str) -> Vector:
        vector: Vector = self._encode([normalised], 1, query=True)[0].copy()
        vector.flags.writeable = False
        return vector

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        """Cached by whitespace-normalised text; the returned array is read-only.
        ``beside`` changes nothing here: torch's thread count is the process's."""
        vector: Vector = self._cached_query(normalise_query(text))
        return vector

    def query_cache_info(self) -> functools._CacheInfo:
        return self._cached_query.cache_info()
