"""SQLite + embedded vs PostgreSQL + Milvus on the 74,728 arXiv papers
(``make bench-backends``).

One run, both stacks, same data, same machine. Milvus is milvus-lite 2.5: the engine a
Milvus cluster runs (segcore, knowhere), here as one local server process that paperwire
reaches by URI, as it would reach a cluster. Each stack runs in its own child process (so
its memory is its own) and is loaded the way paperwire loads papers:

1. ingest every paper of ``shared/data/arxiv-listings`` (parse + store + keyword index);
2. embeddings: the *titles* of all papers but 200, embedded once with the configured
   embedder (the bundled all-MiniLM-L6-v2, int8 ONNX) and cached in
   ``~/.cache/paperwire/bench`` (titles: minutes; all abstracts would take ~30 min on
   2 cores and measure the model, not the backends), saved to the store and indexed like
   ``paperwire embed`` does; ``--titles N`` indexes vectors for N papers only (the rest
   keep Milvus's placeholder vectors);
3. disk and memory: peak and final resident set of the paperwire process; of the Milvus
   server process (reported separately); proportional set size of PostgreSQL's processes;
4. latency of ``SearchService.search`` (what the web API waits for, minus HTTP), 20
   results per page, for keyword / semantic / hybrid queries, without and with a ~4% date
   filter. The query is embedded inside the timed call (the embedder's cache is emptied
   first); then the raw index calls (k=100). Milvus first reads the holders of its
   commonest words (``MilvusIndex.warm_up``, timed apart), as a search process does in
   the background after each change of the collection;
5. recall@10 of each vector index against exact cosine, for the 200 held-out titles; for
   Milvus also with an IVF_FLAT index (``--no-ivf`` skips it), built from the same store.

    paperwire bench backends [--titles N] [--queries 40] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.common import SHORT_QUERIES as ALL_SHORT_QUERIES
from paperwire.bench.common import (
    machine,
    percentile,
    query_cache_clearer,
    timed_ms,
    title_vectors_key,
    versions,
)

REPO = Path(__file__).resolve().parents[2]
LISTINGS = REPO.parent / "shared" / "data" / "arxiv-listings"
RESULTS = REPO / "bench" / "results" / "backends.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "paperwire" / "bench"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

STACKS = ("sqlite-embedded", "pg-milvus")
HELD_OUT = 200  # title vectors used as recall queries, not indexed
SHORT_QUERIES = ALL_SHORT_QUERIES[:20]
PAGE = 20
DEPTH = 100
# The targets for PostgreSQL + Milvus Lite at 74.7k papers on 2 cores.
TARGETS = {"hybrid p95 ms": 100.0, "keyword p95 ms": 30.0, "recall@10": 0.98, "rss MB": 1000.0}


def summary(ms: list[float]) -> dict[str, float]:
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "n": len(ms)}


def read_listings(listings: Path) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for path in sorted(listings.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                rows.setdefault(r["id"], r)
    return list(rows.values())


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def proc_kb(pid: int | str, key: str, file: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- servers


def _pg_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if not candidates:
        sys.exit("PostgreSQL binaries not found (apt-get install postgresql)")
    return candidates[0].parent


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[tuple[str, Path]]:
    """A PostgreSQL cluster in a temp dir (default settings but fsync off, as in the tests);
    yields (SQLAlchemy URL of database ``bench``, data directory)."""
    bindir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="pw-bench-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = dict(check=True, capture_output=True)
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
         "-E", "UTF8", "--locale=C.UTF-8"], **run,
    )  # fmt: skip
    opts = f"-c listen_addresses='' -c unix_socket_directories={sock} -p {port} -c fsync=off"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
         str(root / "log"), "start"], **run,
    )  # fmt: skip
    try:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@/postgres?host={sock}&port={port}", autocommit=True
        ) as conn:
            conn.execute('CREATE DATABASE "bench"')
        yield f"postgresql+psycopg://postgres@/bench?host={sock}&port={port}", data
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def postgres_pss_kb(data_dir: Path | None) -> int:
    """Proportional set size of the postmaster and its children (shared buffers counted
    once, split between the processes mapping them)."""
    if data_dir is None:
        return 0
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return sum(proc_kb(p, "Pss", "smaps_rollup") for p in pids)


@contextlib.contextmanager
def milvus_lite_server() -> Iterator[tuple[str, Any, Path]]:
    """A Milvus Lite server (milvus-lite 2.5) on a free port; yields (URI, server, data dir)."""
    from paperwire.index.milvus import LiteServer

    root = Path(tempfile.mkdtemp(prefix="pw-bench-milvus-"))
    server = LiteServer(root / "milvus.db", free_port())
    try:
        yield server.start(), server, root
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------- embeddings


def title_vectors(rows: list[dict[str, Any]], n: int) -> tuple[list[str], np.ndarray, float]:
    """Ids and title embeddings of ``n`` + HELD_OUT papers (a seeded sample), cached."""
    from paperwire.config import Settings
    from paperwire.index.embedding.loader import load_embedder

    rng = random.Random(7)
    picked = rng.sample(rows, n + HELD_OUT)
    ids = [r["id"] for r in picked]
    CACHE.mkdir(parents=True, exist_ok=True)
    # loaded before the cache is looked at: its maker names the cache
    model = load_embedder(Settings())
    key = title_vectors_key(n + HELD_OUT, model)
    vec_path, ids_path = CACHE / f"{key}.npy", CACHE / f"{key}.json"
    if vec_path.is_file() and ids_path.is_file() and json.loads(ids_path.read_text()) == ids:
        return ids, np.load(vec_path), float("nan")
    t0 = time.perf_counter()
    vectors = model.encode_documents([r["title"] for r in picked], batch_size=64)
    seconds = time.perf_counter() - t0
    np.save(vec_path, vectors)
    ids_path.write_text(json.dumps(ids))
    return ids, vectors, seconds


# ---------------------------------------------------------------------- one stack


def _uncached(embedder: Any) -> Callable[[], None]:
    """Empties the embedder's query cache, so a timed search embeds its query."""
    clear = query_cache_clearer(embedder)
    if clear is None:
        sys.exit(f"{type(embedder).__name__} has no query cache to empty")
    return clear


def _timed(calls: list[Callable[[], object]], before: Callable[[], None] | None = None) -> dict:
    return summary(timed_ms(calls, before))


def _latency(pw: Any, texts: list[str], filters: dict[str, Any]) -> dict[str, Any]:
    from paperwire.index.base import KeywordQuery
    from paperwire.models.search import SearchMode, SearchRequest

    embedder = pw.embedder()
    assert embedder is not None
    empty_cache = _uncached(embedder)
    for q in texts[:3]:  # warm caches (store, index pages, ONNX session)
        pw.search.search(SearchRequest(q=q, mode=SearchMode.hybrid, limit=PAGE))
    lat: dict[str, Any] = {}
    for mode in (SearchMode.keyword, SearchMode.semantic, SearchMode.hybrid):
        for label, f in filters.items():
            calls = [
                (lambda q=q, f=f, m=mode: pw.search.search(
                    SearchRequest(q=q, mode=m, filters=f, limit=PAGE)))
                for q in texts
            ]  # fmt: skip
            lat[f"search {mode.value}, filter {label}"] = _timed(calls, empty_cache)
    query_vectors = [embedder.encode_query(q) for q in texts]
    lat["embed query"] = _timed([lambda q=q: embedder.encode_query(q) for q in texts], empty_cache)
    for label, f in filters.items():
        lat[f"index keyword k={DEPTH}, filter {label}"] = _timed(
            [
                lambda q=q, f=f: pw.index.keyword_search(KeywordQuery(terms=q.split()), f, DEPTH)
                for q in texts
            ]
        )
        lat[f"index vector k={DEPTH}, filter {label}"] = _timed(
            [lambda v=v, f=f: pw.index.vector_search(v, f, DEPTH) for v in query_vectors]
        )
    kw = [pw.index.keyword_search(KeywordQuery(terms=q.split()), filters["none"], DEPTH).ids
          for q in texts]  # fmt: skip
    lat[f"index vectors_of {DEPTH} ids"] = _timed([lambda i=i: pw.index.vectors_of(i) for i in kw])
    return lat


def _recall(index: Any, job: dict[str, Any], indexed: np.ndarray, queries: np.ndarray) -> dict:
    """Recall@10 of ``index``'s vector search against exact cosine over ``indexed``."""
    from paperwire.models.search import SearchFilters

    indexed_ids = job["ids"][HELD_OUT:]
    recent = SearchFilters(**job["date_filter"])
    unit = indexed / np.linalg.norm(indexed, axis=1, keepdims=True)
    in_window = np.array(job["in_window"][HELD_OUT:])
    recall: dict[str, float] = {}
    short: dict[str, int] = {}  # searches that returned fewer than 10 ids
    for label, f, mask in (("none", SearchFilters(), None), ("date", recent, in_window)):
        hits = []
        short[label] = 0
        for q in queries:
            scores = unit @ (q / np.linalg.norm(q))
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            exact = {indexed_ids[i] for i in np.argsort(-scores)[:10]}
            found = index.vector_search(q, f, 10).ids
            short[label] += len(found) < min(10, len(exact))
            hits.append(len(exact & set(found)) / 10)
        recall[label] = float(np.mean(hits))
    return {"recall_at_10": recall, "recall_short_results": short}


def _ivf(pw: Any, job: dict[str, Any], indexed: np.ndarray, queries: np.ndarray) -> dict:
    """The same collection with an IVF_FLAT index (defaults), rebuilt from the store."""
    from paperwire.index.milvus import VECTOR_INDEX_DEFAULTS, MilvusIndex
    from paperwire.jobs.migrate import rebuild_into
    from paperwire.models.search import SearchFilters

    s = pw.settings
    ivf = MilvusIndex(s.milvus_uri, collection="papers_ivf", index_type="IVF_FLAT")
    try:
        t0 = time.perf_counter()
        rebuild_into(pw, ivf)
        out: dict[str, Any] = {"seconds": time.perf_counter() - t0}
        out["params"] = {"build": VECTOR_INDEX_DEFAULTS["IVF_FLAT"][0],
                         "search": VECTOR_INDEX_DEFAULTS["IVF_FLAT"][1]}  # fmt: skip
        embedder = pw.embedder()
        vectors = [embedder.encode_query(q) for q in job["texts"]]
        recent = SearchFilters(**job["date_filter"])
        for label, f in (("none", SearchFilters()), ("date", recent)):
            out[f"index vector k={DEPTH}, filter {label}"] = _timed(
                [lambda v=v, f=f: ivf.vector_search(v, f, DEPTH) for v in vectors]
            )
        out.update(_recall(ivf, job, indexed, queries))
        ivf.clear()
    finally:
        ivf.close()
    return out


def run_stack(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import select, text

    from paperwire.config import Settings
    from paperwire.core import Paperwire
    from paperwire.models.search import SearchFilters
    from paperwire.services.ingest import ingest_records
    from paperwire.sources.arxiv_listings import read_arxiv_listings
    from paperwire.store.schema.papers import Paper

    job = json.loads(Path(args.job).read_text())
    home = Path(args.home)
    overrides: dict[str, Any] = {"home": home}
    if args.worker == "pg-milvus":
        overrides.update(
            database_url=args.pg_url, index="milvus", milvus_uri=args.milvus_uri,
            milvus_collection="papers",
        )  # fmt: skip
    pw = Paperwire(Settings(**overrides))
    out: dict[str, Any] = {"stack": args.worker, "database": pw.db.display_url}

    t0 = time.perf_counter()
    listings = read_arxiv_listings(Path(args.listings))
    ingest = ingest_records(pw, listings, "arxiv-listings", batch_size=1000)
    out["ingest"] = {
        "papers": ingest.added,
        "rejected": ingest.rejected,
        "seconds": time.perf_counter() - t0,
    }

    # Precomputed title vectors, saved and indexed the way `paperwire embed` does it.
    ids: list[str] = job["ids"]
    vectors = np.load(args.vectors)
    indexed_ids, indexed = ids[HELD_OUT:], vectors[HELD_OUT:]
    queries_v = vectors[:HELD_OUT]
    row_of = {a: i for i, a in enumerate(indexed_ids)}
    model = pw.model_name
    t0 = time.perf_counter()
    for start in range(0, len(indexed_ids), 500):
        chunk = indexed_ids[start : start + 500]
        with pw.db.session() as s:
            keys = s.execute(
                select(Paper.id, Paper.arxiv_id, Paper.text_hash).where(Paper.arxiv_id.in_(chunk))
            ).all()
        pw.store.save_embeddings(model, [(pk, h, indexed[row_of[a]]) for pk, a, h in keys])
        for docs in pw.store.iter_index_docs(model, chunk):
            pw.index.upsert(docs)
        pw.index.commit()
    out["vectors"] = {
        "papers": len(indexed_ids),
        "seconds": time.perf_counter() - t0,
        "indexed": pw.index.vector_count(),
        "keyword_documents": pw.index.keyword_count(),
    }
    if args.worker == "pg-milvus":
        out["vector_index"] = pw.index.vector_index  # type: ignore[attr-defined]

    if pw.db.dialect == "sqlite":
        db_bytes = sum(p.stat().st_size for p in home.glob("paperwire.db*") if p.is_file())
    else:
        with pw.db.engine.connect() as conn:
            db_bytes = int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    out["disk_bytes"] = {"database": db_bytes, "index": dir_bytes(pw.settings.index_dir)}

    recent = SearchFilters(**job["date_filter"])
    filters = {"none": SearchFilters(), "date": recent}
    warm_up = getattr(pw.index, "warm_up", None)
    if warm_up is not None and not args.recall_only:
        t0 = time.perf_counter()
        out["warm_up"] = {"terms": warm_up(), "seconds": time.perf_counter() - t0}
    if not args.recall_only:
        out["latency_ms"] = _latency(pw, job["texts"], filters)
    out.update(_recall(pw.index, job, indexed, queries_v))
    out["rss_kb"] = {"now": proc_kb("self", "VmRSS"), "peak": proc_kb("self", "VmHWM")}
    if args.milvus_pid:  # before the IVF_FLAT collection is built beside it
        pid = args.milvus_pid
        out["milvus"] = {
            "rss_kb": {"now": proc_kb(pid, "VmRSS"), "peak": proc_kb(pid, "VmHWM")},
            "disk_bytes": dir_bytes(Path(args.milvus_dir)),
        }
    if args.worker == "pg-milvus" and args.ivf:
        out["ivf_flat"] = _ivf(pw, job, indexed, queries_v)
    pw.close()
    return out


# ---------------------------------------------------------------------- parent


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def print_table(res: dict[str, Any]) -> None:
    a, b = (res["stacks"][s] for s in STACKS)
    w = 44
    print(f"\n{'':<{w}}{'SQLite + embedded':>22}{'PostgreSQL + Milvus Lite':>28}")

    def row(label: str, x: str, y: str) -> None:
        print(f"{label:<{w}}{x:>22}{y:>28}")

    def pair(d: dict[str, float]) -> str:
        return f"{d['p50']:.1f} / {d['p95']:.1f}"

    papers = res["papers"]
    row(f"ingest {papers:,} papers (s)", f"{a['ingest']['seconds']:.1f}",
        f"{b['ingest']['seconds']:.1f}")  # fmt: skip
    v = a["vectors"]["papers"]
    row(f"store + index {v:,} vectors (s)", f"{a['vectors']['seconds']:.1f}",
        f"{b['vectors']['seconds']:.1f}")  # fmt: skip
    row("disk: database", mb(a["disk_bytes"]["database"]), mb(b["disk_bytes"]["database"]))
    row("disk: index", mb(a["disk_bytes"]["index"]), mb(b["milvus"]["disk_bytes"]))
    row("RSS paperwire process, now / peak",
        f"{a['rss_kb']['now'] / 1e3:,.0f} / {a['rss_kb']['peak'] / 1e3:,.0f} MB",
        f"{b['rss_kb']['now'] / 1e3:,.0f} / {b['rss_kb']['peak'] / 1e3:,.0f} MB")  # fmt: skip
    m = b["milvus"]["rss_kb"]
    row("RSS Milvus process, now / peak", "-",
        f"{m['now'] / 1e3:,.0f} / {m['peak'] / 1e3:,.0f} MB")  # fmt: skip
    row("PostgreSQL processes (PSS, peak)", "-", f"{b['postgres_pss_kb'] / 1e3:,.0f} MB")
    for key in a.get("latency_ms", {}):
        row(f"{key} p50/p95 ms", pair(a["latency_ms"][key]), pair(b["latency_ms"][key]))
    for key in ("none", "date"):
        row(f"vector recall@10, filter {key}", f"{a['recall_at_10'][key]:.3f}",
            f"{b['recall_at_10'][key]:.3f}")  # fmt: skip
    print(f"\nMilvus vector index: {b.get('vector_index')}")
    if "warm_up" in b:
        print(f"Milvus warm-up: {b['warm_up']['terms']} terms in {b['warm_up']['seconds']:.1f} s")
    if "ivf_flat" in b:
        ivf = b["ivf_flat"]
        print(f"Milvus with IVF_FLAT {ivf['params']} (rebuilt in {ivf['seconds']:.0f} s):")
        for key in ("none", "date"):
            lat = ivf[f"index vector k={DEPTH}, filter {key}"]
            print(f"  filter {key}: index vector k={DEPTH} p50/p95 {pair(lat)} ms, "
                  f"recall@10 {ivf['recall_at_10'][key]:.3f}")  # fmt: skip
    share = res["date_filter"]["share"]
    print(f"\ndate filter {res['date_filter']['from']}..{res['date_filter']['to']}: "
          f"{share:.1%} of papers")  # fmt: skip
    lat = b.get("latency_ms", {})
    if lat:
        hybrid = max(lat[f"search hybrid, filter {k}"]["p95"] for k in ("none", "date"))
        keyword = max(lat[f"search keyword, filter {k}"]["p95"] for k in ("none", "date"))
        recall = min(b["recall_at_10"].values())
        print(
            f"targets (PostgreSQL + Milvus): hybrid p95 {hybrid:.1f} ms (<= 100), keyword p95 "
            f"{keyword:.1f} ms (<= 30), recall@10 {recall:.3f} (>= 0.98), paperwire peak RSS "
            f"{b['rss_kb']['peak'] / 1e3:,.0f} MB (<= 1,000)"
        )
    print(f"load average before / after: {res['load_before']} / {res['load_after']}")


def _job(rows: list[dict[str, Any]], ids: list[str], n_queries: int) -> dict[str, Any]:
    """What both stacks need from the listings, computed once here: query texts, the date
    filter, and which indexed papers it keeps (the children then never hold the corpus)."""
    rng = random.Random(11)
    texts = [r["title"] for r in rng.sample(rows, n_queries - len(SHORT_QUERIES))]
    texts += SHORT_QUERIES
    published = {r["id"]: dt.date.fromisoformat(r["listing_date"]) for r in rows}
    last = max(published.values())
    lo, hi = last - dt.timedelta(days=20), last
    share = sum(1 for d in published.values() if lo <= d) / len(published)
    return {
        "ids": ids,
        "texts": texts,
        "date_filter": {"date_from": str(lo), "date_to": str(hi)},
        "share": share,
        "in_window": [lo <= published[a] <= hi for a in ids],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--titles", type=int, help="papers with (title) vectors (default: all)")
    ap.add_argument("--queries", type=int, default=40, help="queries per latency row")
    ap.add_argument("--pg-url", help="an existing, empty PostgreSQL database (default: throwaway)")
    ap.add_argument("--only", choices=STACKS, help="run one stack")
    ap.add_argument("--no-ivf", dest="ivf", action="store_false", help="skip the IVF_FLAT run")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--listings", type=Path, default=LISTINGS, help="arXiv listing files")
    ap.add_argument(
        "--recall-only", action="store_true", help="load and measure recall, no latency phase"
    )
    ap.add_argument("--worker", choices=STACKS, help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--vectors", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--milvus-uri", help=argparse.SUPPRESS)
    ap.add_argument("--milvus-pid", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--milvus-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        Path(args.result).write_text(json.dumps(run_stack(args)))
        return

    rows = read_listings(args.listings)
    print(f"{len(rows):,} papers in {args.listings}")
    n = args.titles if args.titles is not None else len(rows) - HELD_OUT
    ids, vectors, embed_s = title_vectors(rows, n)
    print(f"title vectors: {len(ids):,} ({'cached' if embed_s != embed_s else f'{embed_s:.0f} s'})")
    job = _job(rows, ids, args.queries)
    results: dict[str, Any] = {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": versions(
            "milvus-lite", "pymilvus", "tantivy", "SQLAlchemy", "psycopg", "numpy", "onnxruntime"
        ),
        "papers": len(rows),
        "vectors": {
            "what": f"all-MiniLM-L6-v2 embeddings of the titles of {n:,} papers "
            f"(seeded sample); {HELD_OUT} further titles are the recall queries",
            "indexed": n,
        },
        "date_filter": {
            "from": job["date_filter"]["date_from"],
            "to": job["date_filter"]["date_to"],
            "share": job["share"],
        },
        "note": "Milvus is milvus-lite 2.5 (the engine of a Milvus cluster, as one local "
        "server process reached by URI); see docs/benchmarks.md for what its numbers "
        "do and do not say about a cluster.",
        "stacks": {},
    }
    del rows
    work = Path(tempfile.mkdtemp(prefix="pw-bench-backends-"))
    np.save(work / "vectors.npy", vectors)
    (work / "job.json").write_text(json.dumps(job))
    try:
        with contextlib.ExitStack() as stack:
            for name in STACKS:
                if args.only and name != args.only:
                    continue
                extra: list[str] = []
                pg_data = None
                if name == "pg-milvus":
                    pg_url = args.pg_url
                    if pg_url is None:
                        pg_url, pg_data = stack.enter_context(throwaway_postgres())
                        results["versions"]["postgresql"] = subprocess.run(
                            [str(_pg_bin() / "postgres"), "--version"],
                            capture_output=True, text=True,
                        ).stdout.strip()  # fmt: skip
                    uri, milvus, milvus_dir = stack.enter_context(milvus_lite_server())
                    extra = ["--pg-url", pg_url, "--milvus-uri", uri, "--milvus-pid",
                             str(milvus.process.pid), "--milvus-dir", str(milvus_dir)]  # fmt: skip
                print(f"\n== {name}", flush=True)
                result_path = work / f"{name}.json"
                cmd = [sys.executable, "-m", "paperwire.bench.backends", "--worker", name,
                       "--home", str(work / name),
                       "--job", str(work / "job.json"), "--vectors", str(work / "vectors.npy"),
                       "--result", str(result_path), "--listings", str(args.listings),
                       *(["--recall-only"] if args.recall_only else []),
                       *([] if args.ivf else ["--no-ivf"]), *extra]  # fmt: skip
                t0 = time.perf_counter()
                proc = subprocess.Popen(cmd, cwd=REPO)
                peak_pg = 0
                while proc.poll() is None:
                    peak_pg = max(peak_pg, postgres_pss_kb(pg_data))
                    time.sleep(1)
                if proc.returncode:
                    sys.exit(f"{name} failed ({proc.returncode})")
                res = json.loads(result_path.read_text())
                res["wall_seconds"] = time.perf_counter() - t0
                res["postgres_pss_kb"] = peak_pg
                results["stacks"][name] = res
                print(
                    json.dumps({k: res[k] for k in ("ingest", "vectors", "disk_bytes", "rss_kb")})
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    if len(results["stacks"]) == len(STACKS):
        print_table(results)
    for name, res in results["stacks"].items():
        recall = ", ".join(f"{k} {v:.3f}" for k, v in res["recall_at_10"].items())
        print(f"{name}: vector recall@10 vs exact: {recall}")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
