"""Search latency at three corpus sizes, through the real store, index and search service.

``paperwire bench latency --sizes hf,74k,1m`` builds one install per size (SQLite +
the embedded index: tantivy + exact numpy vectors) and times ``SearchService.search`` —
query parsing, the query embedding (ONNX int8 by default; the query cache is cleared
before every search so each one pays for it, as is what the keyword index worked out
from the query), keyword and vector search, fusion, the cards and the snippets — in
keyword, semantic and hybrid mode, without a filter, with a date range holding ~4% of
the corpus, and with a category (``has_code`` for the HF corpus, which has no
categories). Queries: real titles sampled from the corpus and short topical phrases;
every (mode, filter) pair runs every query, interleaved. RSS is read
from ``/proc/self/status`` of the measuring process (a fresh process per size). Just
before it and just after, another fresh process probes the host's speed with the same
fixed work in every run (``bench.probe``: interpreted Python, a 64 MB read, fixed query
embeddings), so that runs on different hosts, or hours, can be told apart from changes
in the code.

Sizes:

* ``hf`` — the Hugging Face daily papers (``shared/data/hf-daily-papers``, ~10.6k);
* ``74k`` — the 74,728 arXiv listings (``shared/data/arxiv-listings``); the build also
  reports ingest throughput (parse + store + keyword index, ``ingest_records``);
* ``1m`` — the 74,728 listings (``ingest_records``) followed by copies of their stored
  rows with synthetic arXiv ids (``0001.00001`` …, ``_copy_papers``, in SQL: ingesting
  925k records one by one takes ~20 min) up to 1,000,000 papers, which are then
  keyword-indexed and given vectors through the index's own ``upsert``/``commit``.
  At this size the vector index uses its binary-code candidate pass.

From 20k papers (``74k``, ``1m``) the vector index narrows what it scores in fp32 (the
int8 pre-scan, exact; from 200k the binary-code candidates); the same run also times
semantic and hybrid search with both switched off (``full fp32 scan``) — the baseline,
same queries, interleaved — and reports the recall of the candidates against it.

Vectors: embedding 74.7k abstracts takes ~40 min on 2 cores, so the bench embeds the
*titles* of ``--embed N`` papers (a seeded sample; ``all`` = every paper) with the
configured backend and gives every other paper the vector of an embedded title (paper
``i`` → title ``i mod N``) plus gaussian noise (σ = 0.025 per dimension, cosine ≈ 0.9 to
its base), renormalised; the 1M copies are perturbed copies of the listing's vectors.
Exact search costs the same whatever the values, but the vectors are real-looking.
Vectors go straight into the index (the store's embeddings table stays empty: search
never reads it). Title embeddings are cached in the work directory, keyed by text.

The same process then times a reader's "For you" picks (``services.recommend.picks_from``:
the candidates, their facts and scores, and the cards of the picks) for 12 readers who
liked 5 papers and 12 who liked 60 (more than the 30 whose neighbours are searched), each
a seeded sample of the install's papers, each timed three times (rows ``for you``).

Every search is also split into its parts (query embedding, keyword search, the keyword
match set (a search of keyword matches alone ranks and counts them in one pass, timed as
keyword search), vector search including the semantic match set and the exact cosines
asked of the index, and the rest: parsing, fusion, cards from the store, snippets),
timed by thin wrappers around the index and the embedder of the same ``SearchService``.
A hybrid search's BM25 may run in another thread beside its query embedding: its parts
may then add up to more than the time they cover, and its rest is the time no timed
call ran (``_Clock``).

Each search's CPU time is read too (``time.process_time``: the whole process, every
thread, ONNX Runtime's spinning threads included), as column ``cpu p50``. Why: on a
host of ``c`` cores no arrangement of a search's work across threads makes it take less
than ``cpu / c`` ms, and ``1000 · c / cpu`` bounds the searches a second it can serve;
cpu / wall says how many cores a search keeps busy.

Builds are kept in the work directory (default ``~/.cache/paperwire/bench/latency``)
and reused while their parameters match (``--rebuild`` forces a new one). The vectors'
maker (``common.vectors_made_by``: the backend that ran and its export's recipe) is one
of them, and names the cache of embedded titles: a run after `paperwire model export`
builds anew rather than search its queries' vectors among an older export's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.common import (
    SHORT_QUERIES,
    in_fresh_process,
    machine,
    percentile,
    query_cache_clearer,
    vectors_made_by,
    versions,
)
from paperwire.bench.embed import shared_data_dir
from paperwire.bench.probe import probe_in_fresh_process
from paperwire.config import Settings
from paperwire.index.base import Vector
from paperwire.store.db import Database
from paperwire.store.recommend import Liked

__all__ = [
    "SIZES",
    "BuildInfo",
    "LatencyBenchResult",
    "SizeResult",
    "Timing",
    "default_work_dir",
    "run_latency_bench",
    "wall_and_cpu",
]

SIZES = ("hf", "74k", "1m")
ONE_MILLION = 1_000_000
SIGMA = 0.025
DATE_FRACTION = 0.04
MODES = ("keyword", "semantic", "hybrid")
# 2: the keyword index compacted after the bulk load, as an ingest of that many papers
# leaves an install (``indexer.compact_after_bulk_load``)
_BUILD_VERSION = 2

Say = Callable[[str], None]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_work_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paperwire" / "bench" / "latency"


# --------------------------------------------------------------------------- results


@dataclass
class BuildInfo:
    size: str
    papers: int
    ingest_seconds: float
    ingest_papers_per_s: float
    vector_seconds: float
    embedded_titles: int  # titles actually embedded (the rest are perturbed copies)
    vectors: int
    vector_note: str
    date_from: str
    date_to: str
    date_fraction: float
    category_filter: dict[str, Any]
    category_fraction: float
    disk_mb: dict[str, float]
    built_at: str
    build_note: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    reused: bool = False


@dataclass
class Timing:
    mode: str
    filter: str
    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    # p50 / p95 ms of the parts of the same searches: query embedding, keyword search,
    # keyword match set, vector search, range and cosines, and the rest (parsing, fusion,
    # cards from the store, snippets: the time no timed call ran, ``_Clock``).
    parts: dict[str, dict[str, float]] = field(default_factory=dict)
    # p50 / p95 ms of the process's CPU time during the same searches, every thread's
    # (ONNX Runtime's and the counting threads', spinning included): cpu / wall is how
    # many cores a search keeps busy (see the module docstring).
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class SizeResult:
    size: str
    build: BuildInfo
    backend: str
    queries: int
    rss_mb: dict[str, float]
    timings: list[Timing]
    heap: str = "served"  # the collector as ``paperwire serve`` sets it, or "default"
    # the database and index files held in memory (``settings.resident_mb``), or "off"
    resident: str = "off"
    # filter label → {"recall@10": …, "recall@100": …} of the vector index's candidates
    # against the full fp32 scan (only where the index is large enough to narrow)
    coarse_recall: dict[str, dict[str, float]] = field(default_factory=dict)
    # the host's speed just "before" and just "after" the searches were timed
    # (``bench.probe``): the same fixed work in every run, to tell a host's change from
    # the code's
    host: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what scored the int8 copies (``prescan.product``: "c" or "onnx"): a host without
    # AVX-512 VNNI runs the slower one, which shows in the semantic and hybrid rows
    int8_product: str = ""

    def timing(self, mode: str, filt: str) -> Timing:
        return next(t for t in self.timings if t.mode == mode and t.filter == filt)


@dataclass
class LatencyBenchResult:
    machine: str
    versions: dict[str, str]
    results: list[SizeResult] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- corpora


def _params(size: str, embed: int | None, backend: str, made_by: str) -> dict[str, Any]:
    """What a kept build must have been made with to be reused (``_kept_build``)."""
    return {
        "version": _BUILD_VERSION,
        "size": size,
        "embed": embed,
        "sigma": SIGMA,
        "backend": backend,
        "vectors": made_by,
        "data": _data_fingerprint(size),
    }


def _kept_build(marker: Path, home: Path, params: dict[str, Any], say: Say) -> BuildInfo | None:
    """The build described by ``marker`` where it was made with ``params`` and its index
    still holds the vectors it wrote, else None. (A process opened on a kept home, such
    as ``paperwire serve``, makes its index follow the store, which holds none of the
    build's vectors: they are written to the index alone.)"""
    if not (marker.is_file() and home.is_dir()):
        return None
    data = json.loads(marker.read_text())
    if data.get("params") != json.loads(json.dumps(params)):
        return None
    from paperwire.index.embedded import VECTORS_DIR
    from paperwire.index.vectors import NumpyVectorIndex

    build = BuildInfo(**{**data, "reused": True})
    held = NumpyVectorIndex.committed_count(Settings(home=home).index_dir / VECTORS_DIR)
    if held != build.vectors:
        say(
            f"[{build.size}] the kept build's index holds {held} vectors where it wrote "
            f"{build.vectors} (a process opened on {home} changed it): building it again"
        )
        return None
    return build


def embedder_made_by(backend: str, threads: int | None) -> str:
    """``vectors_made_by`` of the embedder that ``backend`` loads here (an ONNX backend
    whose export is missing falls back to torch)."""
    from paperwire.index.embedding.loader import load_embedder

    settings = Settings(embedding_backend=backend, embedding_threads=threads)
    return vectors_made_by(load_embedder(settings))


def _data_fingerprint(size: str) -> list[tuple[str, int]]:
    folder = _source_dir(size)
    return sorted((p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file())


def _source_dir(size: str) -> Path:
    return shared_data_dir() / ("hf-daily-papers" if size == "hf" else "arxiv-listings")


def _records(size: str) -> Iterator[Any]:
    """PaperRecords (and importer rejections) of a corpus, in ingest order (for ``1m``:
    the listings; the copies are made afterwards by :func:`_copy_papers`)."""
    from paperwire.sources.arxiv_listings import read_arxiv_listings
    from paperwire.sources.hf_daily import read_hf_daily_dir

    if size == "hf":
        yield from read_hf_daily_dir(_source_dir(size))
    else:
        yield from read_arxiv_listings(_source_dir(size))


def _copy_papers(db_file: Path, copies: int) -> int:
    """Append ``copies`` copies of the stored papers (cycling through them in id order)
    with synthetic arXiv ids, with their ``paper_sources`` rows, in SQL.

    The rows are the ones ``PaperStore.upsert`` wrote for the originals, with only the
    primary keys and the arXiv id changed; this takes seconds where ``ingest_records``
    of 925k records takes ~20 min on an idle 2-core machine.
    """
    import sqlite3

    from paperwire.bench.collections import synthetic_arxiv_id

    con = sqlite3.connect(db_file)
    try:
        con.execute("PRAGMA synchronous=OFF")
        cols = [r[1] for r in con.execute("PRAGMA table_info(papers)")]
        src_cols = [r[1] for r in con.execute("PRAGMA table_info(paper_sources)")]
        papers = con.execute(f"SELECT {', '.join(cols)} FROM papers ORDER BY id").fetchall()  # noqa: S608
        sources: dict[int, list[tuple[Any, ...]]] = {}
        for row in con.execute(f"SELECT {', '.join(src_cols)} FROM paper_sources"):  # noqa: S608
            sources.setdefault(row[src_cols.index("paper_id")], []).append(row)
        i_id, i_aid = cols.index("id"), cols.index("arxiv_id")
        j_id, j_pid = src_cols.index("id"), src_cols.index("paper_id")
        next_id = int(papers[-1][i_id]) + 1
        top = con.execute("SELECT coalesce(max(id), 0) FROM paper_sources").fetchone()
        next_src = int(top[0]) + 1
        insert_paper = (
            f"INSERT INTO papers ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608
        )
        insert_src = (
            f"INSERT INTO paper_sources ({', '.join(src_cols)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(src_cols))})"
        )
        batch: list[list[Any]] = []
        src_batch: list[list[Any]] = []
        for n in range(copies):
            original = papers[n % len(papers)]
            row = list(original)
            row[i_id], row[i_aid] = next_id + n, synthetic_arxiv_id(n)
            batch.append(row)
            for src in sources.get(int(original[i_id]), []):
                srow = list(src)
                srow[j_id], srow[j_pid] = next_src, next_id + n
                next_src += 1
                src_batch.append(srow)
            if len(batch) >= 50_000 or n == copies - 1:
                with con:
                    con.executemany(insert_paper, batch)
                    con.executemany(insert_src, src_batch)
                batch, src_batch = [], []
    finally:
        con.close()
    return copies


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:20]


class TitleVectors:
    """Title embeddings cached on disk (npz: ``keys`` = text hashes, ``vectors``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, Vector] = {}
        if path.is_file():
            with np.load(path) as z:
                self.vectors = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))

    def save(self) -> None:
        if not self.vectors:
            return
        keys = np.asarray(list(self.vectors), dtype=np.str_)
        vecs = np.stack([self.vectors[k] for k in keys.tolist()]).astype(np.float32)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vecs)
        os.replace(tmp, self.path)

    def embed(
        self, titles: Sequence[str], backend: str, threads: int | None, made_by: str, say: Say
    ) -> int:
        """Embed the titles not cached yet; returns how many were embedded now. Refuses
        where the embedder that loads is not ``made_by`` (the cache's maker): an export
        made since the run began."""
        from paperwire.index.embedding.loader import load_embedder

        todo = sorted({t for t in titles if _text_key(t) not in self.vectors})
        if not todo:
            return 0
        settings = Settings(embedding_backend=backend, embedding_threads=threads)
        embedder = load_embedder(settings)
        if vectors_made_by(embedder) != made_by:
            raise RuntimeError(
                f"{self.path} holds vectors of {made_by}, but {vectors_made_by(embedder)} "
                "loaded (a new export since the bench began?): run it again"
            )
        say(f"embedding {len(todo)} titles with {embedder!r} (cached in {self.path})")
        t0 = time.perf_counter()
        step = 2048
        for start in range(0, len(todo), step):
            part = todo[start : start + step]
            vecs = embedder.encode_documents(part, batch_size=64)
            self.vectors.update(zip((_text_key(t) for t in part), vecs, strict=True))
            self.save()
            done = start + len(part)
            say(f"  {done}/{len(todo)} titles, {done / (time.perf_counter() - t0):.0f}/s")
        return len(todo)


def _vector_plan(
    titles: Sequence[str], embed: int | None, rng: random.Random
) -> tuple[list[int], list[str]]:
    """Which papers get their own title embedded: indexes into ``titles``."""
    n = len(titles)
    chosen = list(range(n)) if embed is None or embed >= n else sorted(rng.sample(range(n), embed))
    return chosen, [titles[i] for i in chosen]


def _date_window(dates: Sequence[int]) -> tuple[int, int, float]:
    """The most recent days holding at least ``DATE_FRACTION`` of the dated papers."""
    known = sorted(d for d in dates if d > 0)
    if not known:
        return 0, 0, 0.0
    lo = known[max(0, math.floor((1 - DATE_FRACTION) * len(known)) - 1)]
    hi = known[-1]
    inside = sum(1 for d in known if lo <= d <= hi)
    return lo, hi, inside / len(dates)


def _du_mb(path: Path) -> float:
    total = 0
    for p in path.rglob("*"):
        if p.is_file():
            total += p.stat().st_size
    return round(total / 1e6, 1)


def build_install(
    size: str,
    home: Path,
    embed: int | None,
    backend: str,
    threads: int | None,
    cache: Path,
    made_by: str,
) -> BuildInfo:
    """Ingest the corpus into a fresh install at ``home`` and write its vectors."""
    from paperwire.core import Paperwire
    from paperwire.index.embedded import KEYWORD_DIR, VECTORS_DIR, EmbeddedIndex
    from paperwire.models.papers import PaperRecord
    from paperwire.services.indexer import compact_after_bulk_load
    from paperwire.services.ingest import ingest_records

    say = _say
    if home.exists():
        shutil.rmtree(home)
    # compacted whatever the environment says (a version-2 build is compacted)
    settings = Settings(home=home, semantic=True, compact_bulk_loads=True)
    pw = Paperwire(settings)
    dates: list[int] = []
    cats: Counter[str] = Counter()
    has_code = 0

    def observed(items: Iterable[Any]) -> Iterator[Any]:
        nonlocal has_code
        for item in items:
            if isinstance(item, PaperRecord):
                dates.append(item.published_at.date().toordinal() if item.published_at else 0)
                cats.update({c.lower() for c in item.categories})
                has_code += bool(item.github_repo)
            yield item

    say(f"[{size}] ingesting (parse + store + keyword index) into {home}")
    t0 = time.perf_counter()
    last = [t0]

    def progress(k: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 30:
            last[0] = now
            say(f"[{size}]   {len(dates)} papers, {len(dates) / (now - t0):.0f}/s")

    # compacted once, after the copies too (below): the ingest rate stays the ingest's
    summary = ingest_records(
        pw, observed(_records(size)), size, on_progress=progress, compact=False
    )
    ingest_s = time.perf_counter() - t0
    base_n = summary.added + summary.updated + summary.unchanged
    say(f"[{size}] ingested {base_n} papers in {ingest_s:.1f} s ({base_n / ingest_s:.0f}/s)")

    copies = 0
    copy_s = 0.0
    if size == "1m":
        pw.close()
        t_copy = time.perf_counter()
        copies = _copy_papers(home / "paperwire.db", ONE_MILLION - base_n)
        copy_s = time.perf_counter() - t_copy
        say(f"[{size}] copied {copies} papers with synthetic ids in {copy_s:.1f} s (SQL)")
        pw = Paperwire(settings, migrate=False)
        # The copies carry the originals' dates and categories.
        dates = [dates[n % base_n] for n in range(base_n + copies)]
        cats = Counter({c: v * (base_n + copies) / base_n for c, v in cats.items()})
    papers = base_n + copies

    # -- vectors: embed (or reuse) titles, perturbed copies for the rest --------------
    t1 = time.perf_counter()
    index = pw.index
    base_titles: list[str] = []
    for batch in pw.store.iter_index_docs(None):
        base_titles.extend(" ".join(d.title.split()) for d in batch)
        if len(base_titles) >= base_n:
            break
    base_titles = base_titles[:base_n]  # the originals come first in id order
    chosen, chosen_titles = _vector_plan(base_titles, embed, random.Random(11))
    cached = TitleVectors(cache)
    embedded_now = cached.embed(chosen_titles, backend, threads, made_by, say)
    base = np.stack([cached.vectors[_text_key(t)] for t in chosen_titles]).astype(np.float32)
    own = {i: j for j, i in enumerate(chosen)}
    noise = np.random.default_rng(5)

    def vectors_for(rows: Sequence[int]) -> Vector:
        out = np.empty((len(rows), base.shape[1]), dtype=np.float32)
        perturb = []
        for k, r in enumerate(rows):
            original = r % base_n
            j = own.get(original)
            if r < base_n and j is not None:
                out[k] = base[j]
            else:
                out[k] = base[j if j is not None else original % len(chosen)]
                perturb.append(k)
        if perturb:
            idx = np.asarray(perturb)
            out[idx] += noise.normal(0.0, SIGMA, (len(idx), base.shape[1])).astype(np.float32)
            out[idx] /= np.linalg.norm(out[idx], axis=1, keepdims=True)
        return out

    say(f"[{size}] writing {papers} vectors (and the copies' keyword documents)")
    row = 0
    since_commit = 0
    embedded_index = index if isinstance(index, EmbeddedIndex) else None
    for batch in pw.store.iter_index_docs(None):
        vecs = vectors_for(range(row, row + len(batch)))
        for d, v in zip(batch, vecs, strict=True):
            d.vector = v
        if embedded_index is not None and row + len(batch) <= base_n:
            embedded_index.vectors.upsert(batch)  # originals: keyword half already done
        else:
            index.upsert(batch)
        row += len(batch)
        since_commit += len(batch)
        if since_commit >= 250_000:
            index.commit()
            since_commit = 0
            say(f"[{size}]   {row} documents, {time.perf_counter() - t1:.0f} s")
    index.commit()
    vector_s = time.perf_counter() - t1
    # as an ingest of this many papers leaves the index (the copies came in here instead)
    compacted = compact_after_bulk_load(pw, papers)
    vectors = index.vector_count()
    keyword_docs = index.keyword_count()
    pw.close()

    lo, hi, frac = _date_window(dates)
    if cats:
        name = "cs.cl" if "cs.cl" in cats else cats.most_common(1)[0][0]
        category: dict[str, Any] = {"category": name}
        cat_frac = cats[name] / max(1, len(dates))
    else:
        category = {"has_code": True}
        cat_frac = has_code / max(1, len(dates))
    n_embedded = len(chosen)
    if n_embedded >= base_n:
        note = f"all {base_n} titles embedded"
    else:
        note = f"{n_embedded} of {base_n} titles embedded, the rest perturbed copies (σ={SIGMA})"
    if copies:
        note += f"; the {copies} synthetic copies: perturbed copies of the listing vectors"
    if embedded_now:
        note += f" ({embedded_now} titles embedded by this build)"
    build_note = f"ingest_records of {base_n} papers"
    if copies:
        build_note += (
            f", then {copies} copies with synthetic ids in SQL ({copy_s:.0f} s) and "
            f"indexed (keyword + vectors) in {vector_s:.0f} s; {keyword_docs} keyword docs"
        )
    if compacted is not None:
        build_note += (
            f"; keyword index compacted: {compacted.segments_before} segments -> "
            f"{compacted.segments_after} in {compacted.seconds:.0f} s"
        )
    return BuildInfo(
        size=size,
        papers=papers,
        ingest_seconds=round(ingest_s, 1),
        ingest_papers_per_s=round(base_n / ingest_s, 1),
        vector_seconds=round(vector_s, 1),
        embedded_titles=n_embedded,
        vectors=vectors,
        vector_note=note,
        date_from=dt.date.fromordinal(lo).isoformat() if lo else "",
        date_to=dt.date.fromordinal(hi).isoformat() if hi else "",
        date_fraction=round(frac, 4),
        category_filter=category,
        category_fraction=round(cat_frac, 4),
        disk_mb={
            "database": round(_du_mb(home) - _du_mb(home / "index"), 1),
            "keyword": _du_mb(home / "index" / KEYWORD_DIR),
            "vectors": _du_mb(home / "index" / VECTORS_DIR),
        },
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        build_note=build_note,
    )


# --------------------------------------------------------------------------- measuring


def _rss() -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    except OSError:  # not Linux
        pass
    return out


def wall_and_cpu(call: Callable[[], object]) -> tuple[float, float]:
    """The ms of wall-clock time and of the process's CPU time (every thread's: the work a
    search hands to other threads counts) that ``call`` took."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    call()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def _queries(home: Path, n: int, seed: int = 3) -> list[str]:
    """``n`` queries: ~3/4 real titles sampled from the install, ~1/4 short phrases."""
    from sqlalchemy import text

    from paperwire.store import Database

    rng = random.Random(seed)
    n_short = min(len(SHORT_QUERIES), n // 4)
    db = Database(Settings(home=home).db_url)
    try:
        with db.session() as s:
            lo, hi = s.execute(text("SELECT min(id), max(id) FROM papers")).one()
            picks = rng.sample(range(int(lo), int(hi) + 1), min(n - n_short, int(hi) - int(lo) + 1))
            rows = s.execute(
                text(f"SELECT title FROM papers WHERE id IN ({','.join(map(str, picks))})")  # noqa: S608 - ints
            ).all()
    finally:
        db.close()
    titles = [" ".join(str(r[0]).split()) for r in rows if r[0]]
    mixed = titles + SHORT_QUERIES[:n_short]
    rng.shuffle(mixed)
    return mixed


# "For you" timings: readers who liked a few papers, and more than ``SEEDS`` (every
# neighbour search a feed makes); each reader's picks are timed ``_FOR_YOU_REPEATS`` times.
FOR_YOU_LIKES = (5, 60)
_FOR_YOU_READERS = 12
_FOR_YOU_REPEATS = 3


def _liked_samples(db: Database, likes: int, readers: int, seed: int) -> list[list[Liked]]:
    """``readers`` lists of ``likes`` visible papers of the install (fewer when it holds
    fewer), sampled at random (seeded)."""
    from sqlalchemy import select

    from paperwire.store.schema.papers import Paper

    rng = random.Random(seed)
    with db.session() as s:
        visible = sorted(s.scalars(select(Paper.id).where(Paper.hidden.is_(False))))
        out: list[list[Liked]] = []
        for _ in range(readers):
            picks = rng.sample(visible, min(likes, len(visible)))
            rows = s.execute(
                select(Paper.arxiv_id, Paper.title, Paper.authors).where(Paper.id.in_(picks))
            ).all()
            now = dt.datetime.now(dt.UTC)
            out.append([Liked(r[0], r[1], list(r[2] or []), "upvoted", now) for r in rows])
    return out


def _for_you_timings(pw: Any) -> list[Timing]:
    """A reader's "For you" picks (``services.recommend.picks_from``: what ``/for-you``
    runs once it has read the reader's liked papers), timed per reader."""
    from paperwire.services.recommend import picks_from

    timings = []
    for likes in FOR_YOU_LIKES:
        ms: list[float] = []
        cpu: list[float] = []
        for seeds in _liked_samples(pw.db, likes, _FOR_YOU_READERS, seed=likes):
            liked = {s.arxiv_id for s in seeds}
            picks_from(pw, seeds, liked, (), frozenset(), 20)  # warm
            for _ in range(_FOR_YOU_REPEATS):
                pick = partial(picks_from, pw, seeds, liked, (), frozenset(), 20)
                wall, used = wall_and_cpu(pick)
                ms.append(wall)
                cpu.append(used)
        timings.append(_timing("for you", f"{likes} liked", ms, {}, cpu))
    return timings


class _Clock:
    """The time spent in the index and the embedder during one search: each part's sum
    (``parts``), and the spans they cover together (``engine``).

    A hybrid search runs its BM25 search in another thread beside its query embedding,
    and its own thread may wait for it: its parts may then add up to more than the time
    they cover, and its time less their sum would understate the rest. Its rest
    (``rest``) is its time less the union of the spans: the time no timed call of the
    search ran on any thread. That is parsing, fusion, cards and snippets, any wait for a
    match count the index still runs in its own threads, and the few index calls left
    untimed (``vector_count``, ``refresh``: a counter read, a file's stamp)."""

    def __init__(self, now: Callable[[], float] = time.perf_counter) -> None:
        self.parts: dict[str, float] = {}
        self._now = now  # seconds; the timed calls' starts are read from the same clock
        self._spans: list[tuple[float, float]] = []
        self._since = -math.inf
        self._lock = threading.Lock()  # parts are added from the search's other threads too

    def reset(self) -> None:
        """A new search starts now: a call still running from an earlier one counts only
        from here."""
        with self._lock:
            self.parts = {"embed": 0.0, "keyword": 0.0, "matches": 0.0, "vector": 0.0}
            self._spans = []
            self._since = self._now()

    def add(self, part: str, since: float) -> None:
        now = self._now()
        with self._lock:
            since = max(since, self._since)
            self.parts[part] += max(0.0, now - since) * 1000
            self._spans.append((since, now))

    def engine(self) -> float:
        """Milliseconds during which at least one timed call ran, on any thread."""
        with self._lock:
            spans = sorted(self._spans)
        covered, reach = 0.0, -math.inf
        for start, stop in spans:
            if stop > reach:
                covered += stop - max(start, reach)
                reach = stop
        return covered * 1000

    def rest(self, ms: float) -> float:
        """What of a search that took ``ms`` no timed call covered."""
        return ms - self.engine()


def _timed(method: str, part: str) -> Callable[..., Any]:
    """A method that calls the wrapped index's ``method``, adding its time to ``part``."""

    def call(self: _TimedIndex, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return getattr(self._inner, method)(*args, **kwargs)
        finally:
            self._clock.add(part, t0)

    return call


class _TimedIndex:
    """Delegates to the real index, timing keyword and vector searches, match sets, the
    cosines asked of it and the words' frequencies read to plan a search."""

    def __init__(self, inner: Any, clock: _Clock) -> None:
        self._inner = inner
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    keyword_search = _timed("keyword_search", "keyword")
    # the hits and those of them known to match from their scores: "keyword" too
    keyword_search_with_members = _timed("keyword_search_with_members", "keyword")
    # ranks and counts in one pass: "keyword", with no "matches" part of its own
    keyword_best_matches = _timed("keyword_best_matches", "keyword")
    keyword_match_ids = _timed("keyword_match_ids", "matches")
    keyword_match_count = _timed("keyword_match_count", "matches")
    keyword_match_members = _timed("keyword_match_members", "matches")
    vector_search = _timed("vector_search", "vector")
    vector_range = _timed("vector_range", "vector")
    vector_range_head = _timed("vector_range_head", "vector")
    # exact cosines of given papers: BM25's candidates outside the semantic head (weighted
    # fusion scores them by it; past the bound they also say which are semantic matches),
    # and the whole semantic side of a query with quoted phrases or names
    cosines_of = _timed("cosines_of", "vector")
    # the query's words' frequencies, read to choose whether its BM25 search runs beside
    # the query embedding (``service._brief_bm25``)
    keyword_postings = _timed("keyword_postings", "keyword")


class _TimedEmbedder:
    """Delegates to the real embedder, timing ``encode_query``."""

    def __init__(self, inner: Any, clock: _Clock) -> None:
        self._inner = inner
        self._clock = clock
        self.name = inner.name
        self.dim = inner.dim

    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None) -> Vector:
        result: Vector = self._inner.encode_documents(texts, batch_size)
        return result

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        t0 = time.perf_counter()
        try:
            result: Vector = self._inner.encode_query(text, beside=beside)
            return result
        finally:
            self._clock.add("embed", t0)


def measure_install(
    size: str,
    home: Path,
    build: BuildInfo,
    backend: str,
    threads: int | None,
    n_queries: int,
    heap: str = "served",
    resident_mb: int = 0,
) -> SizeResult:
    """Time every query in every (mode, filter) pair, in a fresh process. ``heap``
    "served": after the warm-up queries the collector is settled as a serving process
    settles it once its app is built (``web.heap.settle_heap``), so the timed searches
    pay the collections a server pays; "default": Python's collector as it comes.
    ``resident_mb``: the files are held in memory as ``serve`` holds them with that
    setting (``Paperwire.kept_resident``) while the searches are timed; 0: the OS cache
    decides, as by default."""
    from paperwire.core import Paperwire
    from paperwire.index import prescan
    from paperwire.index import vectors as vectors_module
    from paperwire.index.threads import single_thread_blas
    from paperwire.models.search import SearchFilters, SearchMode, SearchRequest
    from paperwire.web.heap import settle_heap

    single_thread_blas()  # as a serving process runs BLAS (``tuned_for_serving``)
    rss: dict[str, float] = {"start": _rss().get("VmRSS", 0.0)}
    queries = _queries(home, n_queries)
    settings = Settings(
        home=home, embedding_backend=backend, embedding_threads=threads, resident_mb=resident_mb
    )
    pw = Paperwire(settings)  # a reused build catches up with this code's schema
    held_files = contextlib.ExitStack()  # closed once the searches are timed
    resident = held_files.enter_context(pw.kept_resident())
    pw.index.vector_count()
    pw.index.keyword_count()
    pw.index.warm()
    rss["index_open"] = _rss().get("VmRSS", 0.0)
    embedder = pw.embedder()
    assert embedder is not None
    rss["model_loaded"] = _rss().get("VmRSS", 0.0)
    clear = query_cache_clearer(embedder)
    # what the keyword index worked out from a query (its coverage rule, match query)
    keyword_index = getattr(pw.index, "keyword", None)
    forget = getattr(keyword_index, "forget_queries", None)

    filters: dict[str, SearchFilters] = {"none": SearchFilters()}
    if build.date_from:
        filters["date ~4%"] = SearchFilters(
            date_from=dt.date.fromisoformat(build.date_from),
            date_to=dt.date.fromisoformat(build.date_to),
        )
    cat_label = ", ".join(f"{k}={v}" for k, v in build.category_filter.items())
    filters[cat_label] = SearchFilters(**build.category_filter)
    combos = [(m, f) for m in MODES for f in filters]
    # Baseline in the same run where the index is large enough to narrow what it scores
    # (int8 pre-scan, binary codes): the full fp32 scan, same queries, interleaved.
    exact = " (full fp32 scan)"
    if pw.index.vector_count() >= vectors_module.PRESCAN_MIN_ROWS:
        combos += [(m, f + exact) for m in ("semantic", "hybrid") for f in filters]
    lat: dict[tuple[str, str], list[float]] = {c: [] for c in combos}
    cpu: dict[tuple[str, str], list[float]] = {c: [] for c in combos}
    parts: dict[tuple[str, str], dict[str, list[float]]] = {c: {} for c in combos}
    clock = _Clock()
    service = pw.search
    service.index = _TimedIndex(pw.index, clock)
    timed = _TimedEmbedder(embedder, clock)
    service.embedder = lambda: timed
    warm = queries[:10]
    for i, q in enumerate(warm + queries):
        if i == len(warm) and heap == "served":
            settle_heap()
        for j in range(len(combos)):
            combo = combos[(i + j) % len(combos)]
            mode, flabel = combo
            if clear is not None:
                clear()
            if forget is not None:
                forget()
            baseline = flabel.endswith(exact)
            req = SearchRequest(
                q=q,
                mode=SearchMode(mode),
                filters=filters[flabel.removesuffix(exact)],
                limit=settings.page_size,
            )
            with _full_fp32_scan() if baseline else contextlib.nullcontext():
                clock.reset()
                ms, cpu_ms = wall_and_cpu(partial(service.search, req))
            if i >= len(warm):
                lat[combo].append(ms)
                cpu[combo].append(cpu_ms)
                split = dict(clock.parts)
                split["rest"] = clock.rest(ms)
                for part, v in split.items():
                    parts[combo].setdefault(part, []).append(v)
    rss.update({k: v for k, v in _rss().items()})
    recall: dict[str, dict[str, float]] = {}
    if any(f.endswith(exact) for _, f in combos):
        recall = coarse_recall(pw, embedder, queries, filters)
    for_you = _for_you_timings(pw)
    held = resident.state.describe() if resident is not None else "off"
    held_files.close()
    pw.close()
    timings = [
        *(_timing(m, f, v, parts[(m, f)], cpu[(m, f)]) for (m, f), v in lat.items()),
        *for_you,
    ]
    return SizeResult(
        size=size,
        build=build,
        backend=getattr(embedder, "backend", "torch"),
        queries=len(queries),
        rss_mb=rss,
        timings=timings,
        heap=heap,
        resident=held,
        coarse_recall=recall,
        int8_product=prescan.product(),
    )


def _timing(
    mode: str,
    filt: str,
    ms: Sequence[float],
    parts: dict[str, list[float]],
    cpu: Sequence[float] = (),
) -> Timing:
    def p50_p95(values: Sequence[float]) -> dict[str, float]:
        return {"p50": round(percentile(values, 50), 2), "p95": round(percentile(values, 95), 2)}

    return Timing(
        mode=mode,
        filter=filt,
        n=len(ms),
        p50=round(percentile(ms, 50), 2),
        p95=round(percentile(ms, 95), 2),
        p99=round(percentile(ms, 99), 2),
        mean=round(float(np.mean(ms)), 2),
        parts={part: p50_p95(pv) for part, pv in parts.items()},
        cpu=p50_p95(cpu) if cpu else {},
    )


@contextlib.contextmanager
def _full_fp32_scan() -> Iterator[None]:
    """Searches inside score every selected row in fp32: neither the binary-code
    candidate pass nor the int8 pre-scan (which the first would otherwise fall to, and
    build a copy of a large index for, beside the timed searches)."""
    from paperwire.index import vectors as vectors_module

    saved = vectors_module.COARSE_MIN_ROWS, vectors_module.PRESCAN_MIN_ROWS
    vectors_module.COARSE_MIN_ROWS = vectors_module.PRESCAN_MIN_ROWS = 1 << 62
    try:
        yield
    finally:
        vectors_module.COARSE_MIN_ROWS, vectors_module.PRESCAN_MIN_ROWS = saved


RANGE_RECALL_QUERIES = 30
"""Queries whose whole semantic match set (``vector_range``) ``coarse_recall`` also
checks: a full fp32 range at 1M papers costs ~0.1–0.3 s a query."""


def coarse_recall(
    pw: Any, embedder: Any, queries: Sequence[str], filters: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """Recall@10 and @100 of the vector index's candidates (the int8 pre-scan's: 1.0,
    or the binary-code pass's) against the full exact fp32 scan, per filter, over
    ``queries`` (the scores of the rows it keeps are exact, so missed rows are the only
    difference); and ``range recall``: the share of the full scan's semantic matches
    (``vector_range`` at the search's floor, up to its bound: what hybrid search fuses
    and counts) that the index finds, over the first ``RANGE_RECALL_QUERIES``."""

    floor, bound = pw.search.semantic_floor, pw.search.semantic_bound + 1
    out: dict[str, dict[str, float]] = {}
    for label, filt in filters.items():
        hits = {10: 0, 100: 0}
        in_range = found_in_range = 0
        for i, q in enumerate(queries):
            vec = embedder.encode_query(q)
            fast = pw.index.vector_search(vec, filt, 100).ids
            with _full_fp32_scan():
                full = pw.index.vector_search(vec, filt, 100).ids
            for k in hits:
                hits[k] += len(set(fast[:k]) & set(full[:k]))
            if i < RANGE_RECALL_QUERIES:
                fast_range = pw.index.vector_range(vec, filt, floor, bound).ids
                with _full_fp32_scan():
                    full_range = pw.index.vector_range(vec, filt, floor, bound).ids
                in_range += len(full_range)
                found_in_range += len(set(fast_range) & set(full_range))
        n = max(1, len(queries))
        out[label] = {f"recall@{k}": round(v / (k * n), 4) for k, v in hits.items()}
        out[label]["range recall"] = round(found_in_range / in_range, 4) if in_range else 1.0
    return out


# --------------------------------------------------------------------------- driver


def run_latency_bench(
    sizes: Sequence[str] = SIZES,
    *,
    work_dir: Path | None = None,
    embed: int | None = 5000,
    backend: str = "onnx-int8",
    threads: int | None = 2,
    n_queries: int = 200,
    rebuild: bool = False,
    heap: str = "served",
    resident_mb: int = 0,
    progress: Say | None = None,
) -> LatencyBenchResult:
    say = progress or _say
    work = work_dir or default_work_dir()
    work.mkdir(parents=True, exist_ok=True)
    from paperwire.index.embedding.onnx import model_slug

    made_by = in_fresh_process(embedder_made_by, backend, threads)
    cache = work / f"titles-{model_slug(Settings().embedding_model)}-{made_by}.npz"
    result = LatencyBenchResult(
        machine=machine(),
        versions=versions("numpy", "tantivy", "onnxruntime", "sqlalchemy"),
    )
    for size in sizes:
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; sizes: {', '.join(SIZES)}")
        home = work / size
        marker = work / f"{size}.build.json"
        params = _params(size, embed, backend, made_by)
        build = None if rebuild else _kept_build(marker, home, params, say)
        if build is not None:
            say(f"[{size}] reusing the build of {build.built_at} in {home}")
        else:
            marker.unlink(missing_ok=True)
            build = in_fresh_process(
                build_install, size, home, embed, backend, threads, cache, made_by
            )
            build.params = params
            marker.write_text(json.dumps(dataclasses.asdict(build), indent=2))
        say(
            f"[{size}] probing the host, timing {n_queries} queries × "
            f"{len(MODES)} modes × 3 filters, probing the host again"
        )
        before = probe_in_fresh_process()
        measured: SizeResult = in_fresh_process(
            measure_install, size, home, build, backend, threads, n_queries, heap, resident_mb
        )
        after = probe_in_fresh_process()
        measured.host = {"before": before, "after": after}
        result.results.append(measured)
    return result
