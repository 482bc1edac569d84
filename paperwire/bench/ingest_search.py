"""Benchmark the core pipeline on the real HF daily corpus (``paperwire bench ingest-search``).

Measures, side by side in one run on this machine: ingest throughput (parse + store +
keyword index), embedding throughput, server-side search latency p50/p95/p99 per mode
(with and without a date filter), and the time from ``paperwire up`` to a usable page.
Prints a table and writes ``bench/results/ingest_search.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
HF = REPO.parent / "shared" / "data" / "hf-daily-papers"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from paperwire.bench.common import SHORT_QUERIES as ALL_SHORT_QUERIES  # noqa: E402
from paperwire.bench.common import machine, percentile, versions  # noqa: E402
from paperwire.config import Settings  # noqa: E402
from paperwire.core import Paperwire  # noqa: E402
from paperwire.jobs.embed import embed_backlog  # noqa: E402
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest  # noqa: E402
from paperwire.services.ingest import ingest_records  # noqa: E402
from paperwire.sources.hf_daily import read_hf_daily_dir  # noqa: E402

SHORT_QUERIES = ALL_SHORT_QUERIES[:20]


def time_queries(
    pw: Paperwire, queries: list[str], mode: SearchMode, filters: SearchFilters
) -> dict[str, float]:
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        pw.search.search(SearchRequest(q=q, mode=mode, filters=filters, limit=20))
        lat.append((time.perf_counter() - t0) * 1000)
    return {
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "n": len(lat),
    }


def time_to_page(src: Path) -> dict[str, float]:
    """Seconds from starting ``paperwire up`` to a feed page with cards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="pw-bench-up-"))
    env = {**os.environ, "PAPERWIRE_HOME": str(home)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperwire", "up", "--from", str(src), "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first_page = None
    try:
        while time.perf_counter() - t0 < 600:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                if r.status_code == 200 and 'class="card' in r.text:
                    first_page = time.perf_counter() - t0
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    return {"seconds_to_first_page": first_page or float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--embed-limit",
        type=int,
        default=None,
        help="embed at most N papers (default: all, ~7 min on 2 cores)",
    )
    ap.add_argument("--queries", type=int, default=200, help="title queries per mode")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="pw-bench-"))
    pw = Paperwire(Settings(home=home))
    results: dict[str, Any] = {
        "machine": machine(),
        "versions": versions("tantivy", "numpy", "onnxruntime", "SQLAlchemy"),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }

    t0 = time.perf_counter()
    summary = ingest_records(pw, read_hf_daily_dir(HF), "hf-daily")
    ingest_s = time.perf_counter() - t0
    n = summary.added
    results["ingest"] = {
        "records": summary.total + summary.rejected,
        "papers": n,
        "seconds": ingest_s,
        "papers_per_s": n / ingest_s,
    }

    pw.embedder()  # model load is not embedding throughput
    report = embed_backlog(pw, limit=args.embed_limit)
    results["embed"] = {
        "papers": report.embedded,
        "seconds": report.seconds,
        "docs_per_s": report.docs_per_second,
        "remaining": report.remaining,
    }
    results["ingest_with_embeddings_papers_per_s"] = n / (
        ingest_s + report.seconds * n / max(report.embedded, 1)
    )

    rng = random.Random(7)
    docs = [d for b in pw.store.iter_index_docs(None) for d in b]
    titles = [d.title for d in rng.sample(docs, min(args.queries, len(docs)))]
    queries = titles + SHORT_QUERIES
    pw.embedder().encode_query("warm up")  # type: ignore[union-attr]
    recent = SearchFilters(date_from=dt.date(2026, 6, 1))
    lat = {}
    for mode in SearchMode:
        for label, f in (("all", SearchFilters()), ("date>=2026-06-01", recent)):
            lat[f"{mode.value} {label}"] = time_queries(pw, queries, mode, f)
    results["search_ms"] = lat
    results["up"] = time_to_page(HF)
    pw.close()
    shutil.rmtree(home, ignore_errors=True)

    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest_search.json").write_text(json.dumps(results, indent=2))
    print(f"\nmachine: {results['machine']}")
    ing = results["ingest"]
    emb = results["embed"]
    print(
        f"ingest (parse+store+keyword index): {ing['papers']} papers in {ing['seconds']:.1f} s"
        f" = {ing['papers_per_s']:.0f} papers/s"
    )
    print(
        f"embeddings: {emb['papers']} in {emb['seconds']:.1f} s = {emb['docs_per_s']:.1f} docs/s"
        f"; ingest incl. embeddings = {results['ingest_with_embeddings_papers_per_s']:.1f}"
        " papers/s"
    )
    print(f"paperwire up → first page: {results['up']['seconds_to_first_page']:.1f} s")
    print(f"\n{'search (server-side, ms)':<28}{'p50':>8}{'p95':>8}{'p99':>8}{'n':>6}")
    for k, v in lat.items():
        print(f"{k:<28}{v['p50']:>8.1f}{v['p95']:>8.1f}{v['p99']:>8.1f}{v['n']:>6}")


if __name__ == "__main__":
    main()
