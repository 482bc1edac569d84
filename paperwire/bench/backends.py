"""SQLite + embedded index vs PostgreSQL + Milvus Lite on the 74,728 arXiv papers
(``make bench-backends``).

One run, both stacks, same data, same machine. Each stack runs in its own child process
(so its memory is its own) and is loaded the way paperwire loads papers:

1. ingest every paper of ``shared/data/arxiv-listings`` (parse + store + keyword index);
2. embeddings for a fixed random subset of papers: the *titles* of 5,000 papers, embedded
   once with the bundled all-MiniLM-L6-v2 and cached outside the repository (embedding all
   75k abstracts takes about an hour on 2 cores and measures the model, not the backends),
   saved to the store and indexed like ``paperwire embed`` does;
3. disk size and memory: resident set of the process (the Milvus Lite server runs inside
   it, on threads) plus, for PostgreSQL, the proportional set size of its processes;
4. latency of ``SearchService.search`` (what the web API waits for, minus HTTP) for
   keyword / semantic / hybrid queries, without and with a ~4% date filter, and of the
   raw index calls; query embeddings are cached first, so the model is not timed;
5. recall@10 of each vector index against exact cosine search, for 200 held-out titles.

Milvus Lite 3.2.2 is a pure-Python implementation of Milvus's API (a Python loop over the
rows per query); its latency says nothing about a Milvus cluster's.

    paperwire bench backends [--titles 5000] [--queries 40] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.common import SHORT_QUERIES as ALL_SHORT_QUERIES
from paperwire.bench.common import percentile

REPO = Path(__file__).resolve().parents[2]
LISTINGS = REPO.parent / "shared" / "data" / "arxiv-listings"
RESULTS = REPO / "bench" / "results" / "backends.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "paperwire-bench"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

STACKS = ("sqlite-embedded", "pg-milvus")
HELD_OUT = 200  # title vectors used as recall queries, not indexed
SHORT_QUERIES = ALL_SHORT_QUERIES[:20]


def summary(ms: list[float]) -> dict[str, float]:
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "n": len(ms)}


def read_listings() -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for path in sorted(LISTINGS.glob("*.jsonl.gz")):
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


# ---------------------------------------------------------------------- PostgreSQL


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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


# ---------------------------------------------------------------------- embeddings


def title_vectors(rows: list[dict[str, Any]], n: int) -> tuple[list[str], np.ndarray, float]:
    """Ids and title embeddings of ``n`` + HELD_OUT papers (a seeded sample), cached."""
    rng = random.Random(7)
    picked = rng.sample(rows, n + HELD_OUT)
    ids = [r["id"] for r in picked]
    CACHE.mkdir(parents=True, exist_ok=True)
    key = f"titles-{n + HELD_OUT}-seed7-minilm"
    vec_path, ids_path = CACHE / f"{key}.npy", CACHE / f"{key}.json"
    if vec_path.is_file() and ids_path.is_file() and json.loads(ids_path.read_text()) == ids:
        return ids, np.load(vec_path), float("nan")
    from paperwire.index.embedding.torch import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", threads=os.cpu_count())
    t0 = time.perf_counter()
    vectors = model.encode_documents([r["title"] for r in picked], batch_size=64)
    seconds = time.perf_counter() - t0
    np.save(vec_path, vectors)
    ids_path.write_text(json.dumps(ids))
    return ids, vectors, seconds


# ---------------------------------------------------------------------- one stack


def run_stack(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import select, text

    from paperwire.config import Settings
    from paperwire.core import Paperwire
    from paperwire.index.base import KeywordQuery
    from paperwire.models.search import SearchFilters, SearchMode, SearchRequest
    from paperwire.services.ingest import ingest_records
    from paperwire.sources.arxiv_listings import read_arxiv_listings
    from paperwire.store.schema.papers import Paper

    home = Path(args.home)
    overrides: dict[str, Any] = {"home": home}
    if args.worker == "pg-milvus":
        overrides.update(database_url=args.pg_url, index="milvus")
    pw = Paperwire(Settings(**overrides))
    out: dict[str, Any] = {"stack": args.worker, "database": pw.db.display_url}

    t0 = time.perf_counter()
    ingest = ingest_records(pw, read_arxiv_listings(LISTINGS), "arxiv-listings", batch_size=1000)
    out["ingest"] = {
        "papers": ingest.added,
        "rejected": ingest.rejected,
        "seconds": time.perf_counter() - t0,
    }

    # Precomputed title vectors, saved and indexed the way `paperwire embed` does it.
    ids: list[str] = json.loads(Path(args.ids).read_text())
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

    # Disk.
    if pw.db.dialect == "sqlite":
        db_bytes = sum(
            p.stat().st_size for p in home.glob("paperwire.db*") if p.is_file()
        )  # with the WAL
    else:
        with pw.db.engine.connect() as conn:
            db_bytes = int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    out["disk_bytes"] = {"database": db_bytes, "index": dir_bytes(pw.settings.index_dir)}

    # Latency.
    rows = read_listings()
    rng = random.Random(11)
    texts = [r["title"] for r in rng.sample(rows, args.queries - len(SHORT_QUERIES))]
    texts += SHORT_QUERIES
    embedder = pw.embedder()
    assert embedder is not None
    for q in texts:
        embedder.encode_query(q)  # cached from now on: the model is not what is timed
    last = max(dt.date.fromisoformat(r["listing_date"]) for r in rows)
    recent = SearchFilters(date_from=last - dt.timedelta(days=20), date_to=last)
    share = sum(
        1 for r in rows if recent.date_from <= dt.date.fromisoformat(r["listing_date"])
    ) / len(rows)
    out["date_filter"] = {"from": str(recent.date_from), "to": str(recent.date_to), "share": share}
    filters = {"none": SearchFilters(), "date": recent}
    lat: dict[str, Any] = {}
    if not args.recall_only:  # --recall-only: skip the latency phase
        for q in texts[:3]:  # warm caches (store, index pages)
            pw.search.search(SearchRequest(q=q, mode=SearchMode.hybrid, limit=20))
        for mode in (SearchMode.keyword, SearchMode.semantic, SearchMode.hybrid):
            for label, f in filters.items():
                ms = []
                for q in texts:
                    t = time.perf_counter()
                    pw.search.search(SearchRequest(q=q, mode=mode, filters=f, limit=20))
                    ms.append((time.perf_counter() - t) * 1000)
                lat[f"search {mode.value}, filter {label}"] = summary(ms)
        for label, f in filters.items():
            ms = []
            for q in texts:
                kq = KeywordQuery(terms=q.split())
                t = time.perf_counter()
                pw.index.keyword_search(kq, f, 100)
                ms.append((time.perf_counter() - t) * 1000)
            lat[f"index keyword k=100, filter {label}"] = summary(ms)
            ms = []
            for q in texts:
                v = embedder.encode_query(q)
                t = time.perf_counter()
                pw.index.vector_search(v, f, 100)
                ms.append((time.perf_counter() - t) * 1000)
            lat[f"index vector k=100, filter {label}"] = summary(ms)
        out["latency_ms"] = lat

    # Recall@10 against exact cosine over the indexed vectors.
    published = {r["id"]: dt.date.fromisoformat(r["listing_date"]) for r in rows}
    unit = indexed / np.linalg.norm(indexed, axis=1, keepdims=True)
    in_window = np.array(
        [recent.date_from <= published[a] <= recent.date_to for a in indexed_ids]  # type: ignore[operator]
    )
    recall: dict[str, float] = {}
    short: dict[str, int] = {}  # searches that returned fewer than 10 ids
    for label, f, mask in (("none", SearchFilters(), None), ("date", recent, in_window)):
        hits = []
        short[label] = 0
        for q in queries_v:
            scores = unit @ (q / np.linalg.norm(q))
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            exact = {indexed_ids[i] for i in np.argsort(-scores)[:10]}
            found = pw.index.vector_search(q, f, 10).ids
            short[label] += len(found) < min(10, len(exact))
            got = set(found)
            hits.append(len(exact & got) / 10)
        recall[label] = float(np.mean(hits))
    out["recall_at_10"] = recall
    out["recall_short_results"] = short
    out["filtered_vectors"] = int(in_window.sum())

    out["rss_kb"] = {"now": proc_kb("self", "VmRSS"), "peak": proc_kb("self", "VmHWM")}
    pw.close()
    return out


# ---------------------------------------------------------------------- parent


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for pkg in ("milvus-lite", "pymilvus", "tantivy", "SQLAlchemy", "psycopg", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            found[pkg] = version(pkg)
    return found


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def print_table(res: dict[str, Any]) -> None:
    a, b = (res["stacks"][s] for s in STACKS)
    w = 40
    print(f"\n{'':<{w}}{'SQLite + embedded':>22}{'PostgreSQL + Milvus Lite':>28}")

    def row(label: str, x: str, y: str) -> None:
        print(f"{label:<{w}}{x:>22}{y:>28}")

    row(
        "ingest 74,728 papers (s)", f"{a['ingest']['seconds']:.1f}", f"{b['ingest']['seconds']:.1f}"
    )
    v = a["vectors"]["papers"]
    row(f"store + index {v:,} vectors (s)", f"{a['vectors']['seconds']:.1f}",
        f"{b['vectors']['seconds']:.1f}")  # fmt: skip
    row("disk: database", mb(a["disk_bytes"]["database"]), mb(b["disk_bytes"]["database"]))
    row("disk: index", mb(a["disk_bytes"]["index"]), mb(b["disk_bytes"]["index"]))
    row("RSS app process, now / peak",
        f"{a['rss_kb']['now'] / 1e3:,.0f} / {a['rss_kb']['peak'] / 1e3:,.0f} MB",
        f"{b['rss_kb']['now'] / 1e3:,.0f} / {b['rss_kb']['peak'] / 1e3:,.0f} MB")  # fmt: skip
    row("PostgreSQL processes (PSS)", "-", f"{b['postgres_pss_kb'] / 1e3:,.0f} MB")
    for key in a["latency_ms"]:
        x, y = a["latency_ms"][key], b["latency_ms"][key]
        row(f"{key} p50/p95 ms", f"{x['p50']:.1f} / {x['p95']:.1f}",
            f"{y['p50']:.1f} / {y['p95']:.1f}")  # fmt: skip
    for key in ("none", "date"):
        row(f"vector recall@10, filter {key}", f"{a['recall_at_10'][key]:.3f}",
            f"{b['recall_at_10'][key]:.3f}")  # fmt: skip
    share = a["date_filter"]["share"]
    print(
        f"\ndate filter {a['date_filter']['from']}..{a['date_filter']['to']}: {share:.1%} of papers"
    )
    print("Milvus Lite is a pure-Python Milvus; its numbers do not speak for a Milvus cluster.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--titles", type=int, default=5000, help="papers with (title) vectors")
    ap.add_argument("--queries", type=int, default=40, help="queries per latency row")
    ap.add_argument("--pg-url", help="an existing, empty PostgreSQL database (default: throwaway)")
    ap.add_argument("--only", choices=STACKS, help="run one stack")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--recall-only", action="store_true", help="load and measure recall, no latency phase"
    )
    ap.add_argument("--worker", choices=STACKS, help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--ids", help=argparse.SUPPRESS)
    ap.add_argument("--vectors", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        Path(args.result).write_text(json.dumps(run_stack(args)))
        return

    rows = read_listings()
    print(f"{len(rows):,} papers in {LISTINGS}")
    ids, vectors, embed_s = title_vectors(rows, args.titles)
    print(f"title vectors: {len(ids):,} ({'cached' if embed_s != embed_s else f'{embed_s:.0f} s'})")
    results: dict[str, Any] = {
        "machine": f"{platform.node()}: {os.cpu_count()} cpus, Python {platform.python_version()}",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "papers": len(rows),
        "vectors": {
            "what": f"all-MiniLM-L6-v2 embeddings of the titles of {args.titles:,} papers "
            f"(seeded sample); {HELD_OUT} further titles are the recall queries",
            "indexed": args.titles,
        },
        "note": "Milvus Lite 3.2.2 is a pure-Python implementation of Milvus's API; its "
        "latency and memory do not speak for a Milvus cluster.",
        "stacks": {},
    }
    work = Path(tempfile.mkdtemp(prefix="pw-bench-backends-"))
    np.save(work / "vectors.npy", vectors)
    (work / "ids.json").write_text(json.dumps(ids))
    try:
        with contextlib.ExitStack() as stack:
            pg_url, pg_data = args.pg_url, None
            for name in STACKS:
                if args.only and name != args.only:
                    continue
                if name == "pg-milvus" and pg_url is None:
                    pg_url, pg_data = stack.enter_context(throwaway_postgres())
                    results["versions"]["postgresql"] = subprocess.run(
                        [str(_pg_bin() / "postgres"), "--version"], capture_output=True, text=True
                    ).stdout.strip()
                print(f"\n== {name}", flush=True)
                result_path = work / f"{name}.json"
                cmd = [sys.executable, "-m", "paperwire.bench.backends", "--worker", name,
                       "--home", str(work / name),
                       "--ids", str(work / "ids.json"), "--vectors", str(work / "vectors.npy"),
                       "--result", str(result_path), "--queries", str(args.queries),
                       *(["--recall-only"] if args.recall_only else [])]  # fmt: skip
                if name == "pg-milvus":
                    cmd += ["--pg-url", pg_url]
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
                res["postgres_pss_kb"] = peak_pg if name == "pg-milvus" else 0
                results["stacks"][name] = res
                print(
                    json.dumps({k: res[k] for k in ("ingest", "vectors", "disk_bytes", "rss_kb")})
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    if len(results["stacks"]) == len(STACKS) and not args.recall_only:
        print_table(results)
    for name, res in results["stacks"].items():
        recall = ", ".join(f"{k} {v:.3f}" for k, v in res["recall_at_10"].items())
        print(f"{name}: vector recall@10 vs exact: {recall}")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
