"""Open the index backend named by ``Settings.index``."""

from __future__ import annotations

from collections.abc import Callable

from paperwire.config import Settings
from paperwire.index.base import SearchIndex

__all__ = ["INDEX_BACKENDS", "open_index"]


def _embedded(settings: Settings) -> SearchIndex:
    from paperwire.index.embedded import EmbeddedIndex

    return EmbeddedIndex(settings.index_dir, threads=settings.embedding_threads)


def _declared_dim(model: str) -> int | None:
    """A local sentence-transformers model's output size from its files (no torch), when
    it is just Transformer + Pooling (+ Normalize); None otherwise."""
    import json
    from pathlib import Path

    from paperwire.index.embedding.base import EmbedderError, resolve_model

    try:
        path = Path(resolve_model(model))
        modules = json.loads((path / "modules.json").read_text())
        kinds = {m["type"].rsplit(".", 1)[-1] for m in modules}
        if not kinds <= {"Transformer", "Pooling", "Normalize"}:
            return None
        pooling = next(m["path"] for m in modules if m["type"].endswith(".Pooling"))
        config = json.loads((path / pooling / "config.json").read_text())
        return int(config["word_embedding_dimension"])
    except (EmbedderError, OSError, ValueError, KeyError, StopIteration, TypeError):
        return None


def _milvus(settings: Settings) -> SearchIndex:
    from paperwire.index.milvus import MilvusIndex

    def model_dim() -> int:  # only when a new collection gets its first, vector-less rows
        from paperwire.index.embedding.loader import load_embedder

        return _declared_dim(settings.embedding_model) or load_embedder(settings).dim

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
