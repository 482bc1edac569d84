"""Open the index backend named by ``Settings.index``."""

from __future__ import annotations

from collections.abc import Callable

from paperwire.config import Settings
from paperwire.index.base import SearchIndex

__all__ = ["INDEX_BACKENDS", "open_index"]


def _embedded(settings: Settings) -> SearchIndex:
    from paperwire.index.embedded import EmbeddedIndex

    return EmbeddedIndex(settings.index_dir, threads=settings.embedding_threads)


def _milvus(settings: Settings) -> SearchIndex:
    from paperwire.index.milvus import MilvusIndex

    def model_dim() -> int:  # only when a new collection gets its first, vector-less rows
        from pathlib import Path

        from paperwire.index.embedding.base import EmbedderError, resolve_model
        from paperwire.index.embedding.loader import load_embedder
        from paperwire.index.embedding.onnx_export import declared_dim

        try:  # read from the model's files where they say it: no model loaded
            declared = declared_dim(Path(resolve_model(settings.embedding_model)))
        except EmbedderError:  # not a local model: the loader says why
            declared = None
        return declared or load_embedder(settings).dim

    return MilvusIndex(
        settings.milvus_target,
        collection=settings.milvus_collection,
        analyzer=settings.milvus_analyzer,
        token=settings.milvus_token,
        dim_provider=model_dim,
        index_type=settings.milvus_index_type,
        index_params=settings.milvus_index_params,
        search_params=settings.milvus_search_params,
    )


INDEX_BACKENDS: dict[str, Callable[[Settings], SearchIndex]] = {
    "embedded": _embedded,
    "milvus": _milvus,
}


def open_index(settings: Settings) -> SearchIndex:
    """The configured ``SearchIndex`` (its directory is created when missing)."""
    backend = INDEX_BACKENDS.get(settings.index)
    if backend is None:
        known = ", ".join(sorted(INDEX_BACKENDS))
        raise ValueError(
            f"unknown index backend {settings.index!r} (PAPERWIRE_INDEX); known: {known}"
        )
    return backend(settings)
