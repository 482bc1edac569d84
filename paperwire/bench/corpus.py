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
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paperwire.bench.embed import shared_data_dir
from paperwire.bench.relevance import BenchPaperwire, default_cache_dir
from paperwire.config import Settings

__all__ = ["CORPORA", "corpus_install", "corpus_records"]

CORPORA = {"hf": "hf-daily-papers", "74k": "arxiv-listings"}
_VERSION = 1
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
    ready = marker.is_file() and json.loads(marker.read_text()).get("params") == params
    if not ready and home.exists():
        shutil.rmtree(home)
    cfg = Settings(**{**(settings or {}), "home": home, "database_url": None, "semantic": True})
    pw = BenchPaperwire(cfg, cache, CORPORA[name])
    try:
        if not ready:
            from paperwire.services.ingest import ingest_records

            t0 = time.perf_counter()
            say(f"[{name}] ingesting into {home}")
            summary = ingest_records(pw, corpus_records(name), name)
            marker.write_text(json.dumps({"params": params, "papers": summary.total}))
            say(f"[{name}] {summary.total} papers in {time.perf_counter() - t0:.0f} s")
        if embed:
            _embed(pw, name, say)
        yield pw
    finally:
        pw.close()


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
