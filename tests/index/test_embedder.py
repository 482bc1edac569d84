"""The real bundled sentence-transformers model, offline."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.index.base import IndexDoc
from paperwire.index.embedding.base import Embedder, EmbedderError, document_text, resolve_model
from paperwire.index.embedding.loader import load_embedder
from paperwire.index.embedding.torch import SentenceTransformerEmbedder

pytestmark = pytest.mark.slow

TEXTS = [
    "Gaussian splatting for real-time rendering of large urban scenes.",
    "A survey.",
    "We propose a retrieval-augmented language model that cites its sources and is "
    "evaluated on open-domain question answering benchmarks with long documents.",
    "Robot grasping with diffusion policies",
    "",
    "Protein structure prediction with equivariant graph networks " * 20,
]


def test_bundled_model_loads_offline(embedder: SentenceTransformerEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.dim == 384
    assert embedder.name == "bundled:all-MiniLM-L6-v2"
    assert embedder.max_tokens == 256


def test_document_vectors_are_unit_norm(embedder: SentenceTransformerEmbedder) -> None:
    m = embedder.encode_documents(TEXTS)
    assert m.shape == (len(TEXTS), 384)
    assert m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    empty = embedder.encode_documents([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_sorted_batches_keep_the_callers_order(embedder: SentenceTransformerEmbedder) -> None:
    batched = embedder.encode_documents(TEXTS, batch_size=2)
    for text, row in zip(TEXTS, batched, strict=True):
        single = embedder.encode_documents([text])[0]
        assert float(single @ row) > 0.999, text[:40]


def test_corpus_embeddings(corpus_vectors: np.ndarray, corpus: list[IndexDoc]) -> None:
    assert corpus_vectors.shape == (len(corpus), 384)
    np.testing.assert_allclose(np.linalg.norm(corpus_vectors, axis=1), 1.0, atol=1e-5)


def test_query_cache(embedder: SentenceTransformerEmbedder) -> None:
    before = embedder.query_cache_info()
    v1 = embedder.encode_query("diffusion models for video generation")
    v2 = embedder.encode_query("  diffusion   models for video generation\n")
    after = embedder.query_cache_info()
    assert v1 is v2
    assert after.hits >= before.hits + 1
    assert not v1.flags.writeable
    with pytest.raises(ValueError):
        v1[0] = 1.0
    assert v1.shape == (384,) and v1.dtype == np.float32
    assert abs(float(np.linalg.norm(v1)) - 1.0) < 1e-5
    # The query path and the document path agree for a model without prompts.
    doc = embedder.encode_documents(["diffusion models for video generation"])[0]
    assert float(doc @ v1) > 0.999


def test_similar_texts_are_closer(embedder: SentenceTransformerEmbedder) -> None:
    a = embedder.encode_query("neural networks for image classification")
    b = embedder.encode_query("convolutional models that classify pictures")
    c = embedder.encode_query("medieval tax records of Flemish wool merchants")
    assert float(a @ b) > float(a @ c) + 0.2


def test_model_by_local_path(embedder: SentenceTransformerEmbedder) -> None:
    """Any sentence-transformers name/path takes the ordinary loading path."""
    path = resolve_model("bundled:all-MiniLM-L6-v2")
    other = SentenceTransformerEmbedder(path, max_tokens=128, batch_size=8)
    assert other.dim == 384 and other.name == path
    v = other.encode_documents([TEXTS[0]])[0]
    assert float(v @ embedder.encode_documents([TEXTS[0]])[0]) > 0.999


def test_resolve_model_errors(tmp_path: object) -> None:
    with pytest.raises(EmbedderError, match="unknown bundled model"):
        resolve_model("bundled:nope")
    assert resolve_model("sentence-transformers/all-mpnet-base-v2") == (
        "sentence-transformers/all-mpnet-base-v2"
    )
    with pytest.raises(EmbedderError, match="cannot load"):
        SentenceTransformerEmbedder(str(tmp_path))  # an empty directory is no model


def test_load_embedder_is_cached() -> None:
    settings = Settings(embedding_model="bundled:all-MiniLM-L6-v2")
    first = load_embedder(settings)
    assert load_embedder(settings) is first
    assert first.dim == 384


def test_import_is_cheap() -> None:
    code = (
        "import sys, paperwire.index.embedding.loader, paperwire.index.embedded,"
        " paperwire.index.factory;"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_document_text() -> None:
    assert document_text("A title", "An abstract.") == "A title. An abstract."
    assert document_text("Why?", "Because.") == "Why? Because."
    assert document_text(" Spaced\n title ", "line\nbroken  abstract") == (
        "Spaced title. line broken abstract"
    )
    assert document_text(None, "Only abstract") == "Only abstract"
    assert document_text("Only title", "") == "Only title"
