"""Fixtures for index tests: a small real corpus, the real bundled model, real backends.

``index_factory`` is the seam for backends: every contract test runs once per entry of
``BACKENDS``; a backend's factory opens (or reopens) an index on a directory.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from paperwire.index.base import IndexDoc, SearchIndex
from paperwire.index.embedding.base import document_text
from paperwire.index.embedding.torch import SentenceTransformerEmbedder
from paperwire.models.search import SearchFilters
from tests.conftest import drop_milvus_collections, new_milvus_collection

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LISTING = DATA / "arxiv-listings" / "2025-03.jsonl.gz"
CORPUS_SIZE = 300
ORGS = ["nvidia", "google", "meta-ai"]

IndexFactory = Callable[[Path], SearchIndex]


def _open_embedded(path: Path) -> SearchIndex:
    from paperwire.index.embedded import EmbeddedIndex

    return EmbeddedIndex(path)


def _milvus_opener(uri: str, collections: dict[Path, str]) -> IndexFactory:
    """Opens the collection of ``path`` (one per directory, as a home has one) on the
    Milvus server at ``uri``: the session's Milvus Lite server."""

    def open_milvus(path: Path) -> SearchIndex:
        from paperwire.index.milvus import MilvusIndex

        name = collections.setdefault(path, new_milvus_collection())
        return MilvusIndex(uri, collection=name, dim=384)

    return open_milvus


BACKENDS = ("embedded", "milvus")


def stems(index: SearchIndex) -> bool:
    """Whether ``index`` stems English words (Milvus can run the ``standard`` analyzer)."""
    return getattr(index, "analyzer", "english") != "standard"


def is_milvus(index: SearchIndex) -> bool:
    """Milvus's analyzers tokenise a few words differently from ours (``project_page``)."""
    return index.name == "milvus"


def reads_snapshots(index: SearchIndex) -> bool:
    """Whether a reader keeps its snapshot until ``refresh()`` (the embedded files do);
    a server-side index (Milvus) shows another client's commit at once."""
    return index.name != "milvus"


_SELECTED = {"sqlite-embedded": ["embedded"], "pg-milvus": ["milvus"]}.get(
    os.environ.get("PAPERWIRE_TEST_BACKEND", ""), sorted(BACKENDS)
)


@pytest.fixture(params=_SELECTED)
def index_factory(request: pytest.FixtureRequest) -> Iterator[IndexFactory]:
    """``index_factory(directory)`` opens a backend there; all are closed afterwards."""
    opened: list[SearchIndex] = []
    collections: dict[Path, str] = {}
    factory: IndexFactory = _open_embedded
    if request.param == "milvus":
        factory = _milvus_opener(request.getfixturevalue("milvus_server"), collections)

    def make(path: Path) -> SearchIndex:
        index = factory(path)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()
    if collections:
        drop_milvus_collections(request.getfixturevalue("milvus_server"), collections.values())


@pytest.fixture(scope="session")
def corpus() -> list[IndexDoc]:
    """~300 real March-2025 papers spread over the month's listing days.

    The listing has no organisation or code links, so those are assigned
    deterministically; every 25th paper has no date.
    """
    if not LISTING.is_file():
        pytest.fail(f"shared data missing: {LISTING}")
    with gzip.open(LISTING, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    step = max(1, len(rows) // CORPUS_SIZE)
    docs = []
    for i, r in enumerate(rows[::step][:CORPUS_SIZE]):
        docs.append(
            IndexDoc(
                arxiv_id=r["id"],
                title=r["title"],
                abstract=r["summary"],
                authors=r["authors"],
                categories=r["categories"],
                organization=ORGS[i % len(ORGS)] if i % 4 == 0 else None,
                published=None if i % 25 == 7 else dt.date.fromisoformat(r["listing_date"]),
                has_code=i % 3 == 0,
            )
        )
    return docs


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The bundled model, loaded with the hub switched off (it must work offline)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        threads = min(4, os.cpu_count() or 1)
        return SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", threads=threads)


@pytest.fixture(scope="session")
def corpus_vectors(corpus: list[IndexDoc], embedder: SentenceTransformerEmbedder) -> np.ndarray:
    return embedder.encode_documents([document_text(d.title, d.abstract) for d in corpus])


@pytest.fixture(scope="session")
def embedded_corpus(corpus: list[IndexDoc], corpus_vectors: np.ndarray) -> list[IndexDoc]:
    """The corpus with real embeddings attached (fresh copies per use via ``replace``)."""
    return [replace(d, vector=v) for d, v in zip(corpus, corpus_vectors, strict=True)]


@pytest.fixture
def loaded_index(
    index_factory: IndexFactory, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> SearchIndex:
    """A fresh index holding the whole corpus, committed."""
    index = index_factory(tmp_path / "index")
    index.upsert([replace(d) for d in embedded_corpus])
    index.commit()
    return index


def forked_exit_code(child: Callable[[], None], timeout: float = 60) -> int | None:
    """Run ``child`` in a forked process and return its exit code (``child`` ends with
    ``os._exit``: a forked child must not run its parent's exit handlers); None when
    it hung (killed after ``timeout`` seconds)."""
    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout=timeout)
    if process.exitcode is None:
        process.kill()
        process.join()
        return None
    return process.exitcode


def passes_filters(doc: IndexDoc, f: SearchFilters) -> bool:
    """The filter contract every index honours, read off the document itself."""
    if f.date_from is not None or f.date_to is not None:
        if doc.published is None:
            return False
        if f.date_from is not None and doc.published < f.date_from:
            return False
        if f.date_to is not None and doc.published > f.date_to:
            return False
    if f.category is not None and f.category.lower() not in {c.lower() for c in doc.categories}:
        return False
    if f.organization is not None and (doc.organization or "").lower() != f.organization.lower():
        return False
    return f.has_code is None or doc.has_code == f.has_code
