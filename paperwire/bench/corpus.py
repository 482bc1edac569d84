"""Persistent bench installs of the shared corpora, with real abstract embeddings.

The known-item benchmark, the semantic-floor calibration and the sorted-search latency
need the real corpora (``hf``: the 10.6k Hugging Face daily papers; ``74k``: the 74,728
arXiv listings) searched exactly as a reader's install would search them: store, keyword
index and title + abstract vectors. Embedding 74.7k abstracts takes 20–40 min on two
cores, so the install is built once and kept under ``<cache_dir>/corpora/<name>``
(default ``~/.cache/paperwire/bench/corpora``): ingest, then ``embed_backlog``. The
embedding progress lives in the install's database, so an interrupted build resumes where
it stopped; the document vectors are also kept in the bench's embedding cache
(``relevance.EmbeddingCache``), so a rebuilt install does not embed again.

The install's marker names what made its vectors (``_made_by``: the model, the backend
that ran and its export's recipe, ``common.vectors_made_by``, and the tokens it reads). An
install whose vectors were made otherwise (after `paperwire model export` with a new
recipe) is built again: its documents' vectors and the queries' would otherwise come from
two exports.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paperwire.bench.common import vectors_made_by
from paperwire.bench.embed import shared_data_dir
from paperwire.bench.relevance import BenchPaperwire, default_cache_dir
from paperwire.config import Settings

__all__ = ["CORPORA", "corpus_install", "corpus_records", "install_usable"]

CORPORA = {"hf": "hf-daily-papers", "74k": "arxiv-listings"}
_VERSION = 2  # 2: the marker names what made the vectors
_SAVE_EVERY = 2048  # documents embedded between two writes of the embedding cache

Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def corpus_records(name: str) -> Iterator[Any]:
    """The ``PaperRecord``s (and importer rejections) of a shared corpus, ingest order."""
    from paperwire.sources.arxiv_listings import read_arxiv_listings
    from paperwire.sources.hf_daily import read_hf_daily_dir

    folder = shared_data_dir() / CORPORA[name]
    if name == "hf":
        yield from read_hf_daily_dir(folder)
    else:
        yield from read_arxiv_listings(folder)


def _fingerprint(name: str) -> list[list[Any]]:
    folder = shared_data_dir() / CORPORA[name]
    return sorted([p.name, p.stat().st_size] for p in folder.iterdir() if p.is_file())


@contextmanager
def corpus_install(
    name: str,
    *,
    cache_dir: Path | None = None,
    embed: bool = True,
    say: Say = _quiet,
    settings: dict[str, Any] | None = None,
) -> Iterator[BenchPaperwire]:
    """An open install of corpus ``name`` (``hf`` or ``74k``), built or resumed first.

    ``embed=False`` skips embedding (keyword-only work); a later ``embed=True`` call
    finishes it. ``settings`` overrides ``Settings`` fields (not the home).
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    cache = cache_dir or default_cache_dir()
    home = cache / "corpora" / name
    marker = home / "bench-corpus.json"
    params = {"version": _VERSION, "data": _fingerprint(name)}
    cfg = Settings(**{**(settings or {}), "home": home, "database_url": None, "semantic": True})
    made_by = _made_by(cfg) if embed else None
    ready = install_usable(marker, params, made_by)
    if not ready and home.exists():
        shutil.rmtree(home)
    pw = BenchPaperwire(cfg, cache, CORPORA[name])
    try:
        if not ready:
            from paperwire.services.ingest import ingest_records

            t0 = time.perf_counter()
            say(f"[{name}] ingesting into {home}")
            summary = ingest_records(pw, corpus_records(name), name)
            marker.write_text(json.dumps({"params": params, "papers": summary.total}))
            say(f"[{name}] {summary.total} papers in {time.perf_counter() - t0:.0f} s")
        if made_by is not None:
            # named before the first vector is stored: an interrupted embedding resumes
            # only with the same embedder
            data = json.loads(marker.read_text())
            marker.write_text(json.dumps({**data, "vectors": made_by}))
            _embed(pw, name, say)
        yield pw
    finally:
        pw.close()


def install_usable(marker: Path, params: dict[str, Any], made_by: str | None) -> bool:
    """Whether the install whose marker is ``marker`` opens as it is: built from the same
    data by the same version (``params``) and, where vectors are wanted (``made_by``:
    ``_made_by`` of the embedder that will embed the queries), with none made by
    another embedder (an install not embedded yet is usable: it is embedded now)."""
    if not marker.is_file():
        return False
    data = json.loads(marker.read_text())
    if data.get("params") != json.loads(json.dumps(params)):
        return False
    return made_by is None or data.get("vectors", made_by) == made_by


def _made_by(settings: Settings) -> str:
    """What the install's vectors are made by: the model, ``vectors_made_by`` of the
    embedder ``settings`` load (loaded once per process: the install's own
    ``embedder()`` gets the same one) and how many tokens of a text it reads, as the
    bench's embedding cache is keyed (``EmbeddingCache.for_collection``)."""
    from paperwire.index.embedding.loader import load_embedder

    made = vectors_made_by(load_embedder(settings))
    return f"{settings.embedding_model} {made} {settings.embedding_max_tokens}"


def _embed(pw: BenchPaperwire, name: str, say: Say) -> None:
    from paperwire.jobs.embed import embed_backlog

    todo = pw.store.backlog_count(pw.model_name)
    if not todo:
        return
    say(f"[{name}] embedding {todo} papers (title + abstract; resumable)")
    t0 = time.perf_counter()
    done = [0, 0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] - done[1] >= _SAVE_EVERY:
            done[1] = done[0]
            pw.save_cache()
            rate = done[0] / (time.perf_counter() - t0)
            say(f"[{name}]   {done[0]}/{todo} embedded, {rate:.0f}/s")

    embed_backlog(pw, on_progress=progress)
    pw.save_cache()
    say(f"[{name}] embedded {done[0]} papers in {time.perf_counter() - t0:.0f} s")
