"""Corpus export throughput and peak memory, and the round trip back through a table import.

On the bench install of a shared corpus (``74k``: the 74,728 arXiv listings, built once by
``bench.corpus``), each format runs as its own ``paperwire export corpus`` process, so its
peak RSS (``wait4``'s ``ru_maxrss``) is the export's alone; then the Parquet export is
imported with ``paperwire ingest table`` into a fresh home and every paper's exported row
is compared with the original's (the list of featured days aside: a table row carries the
newest one). Prints a table; ``--out`` writes JSON (for ``bench/results/``).

    python -m paperwire.bench.export --corpus 74k --out bench/results/export.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paperwire.bench.corpus import CORPORA, corpus_install
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.formats.dataset import DatasetFormat
from paperwire.store.corpus import CorpusReader


@dataclass
class Run:
    what: str
    papers: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    output_mb: float

    @property
    def papers_per_second(self) -> float:
        return self.papers / self.seconds if self.seconds else 0.0


def _timed(argv: list[str]) -> tuple[str, float, float, float]:
    """Run the CLI; (its output, wall seconds, CPU seconds, peak RSS MB)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "paperwire.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode not in (0, 2):
        raise RuntimeError(f"paperwire {' '.join(argv)} failed:\n{output}")
    cpu = usage.ru_utime + usage.ru_stime
    return output, seconds, cpu, usage.ru_maxrss / 1024


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _rows(home: Path) -> dict[str, dict[str, Any]]:
    pw = Paperwire(Settings(home=home, database_url=None, semantic=False))
    try:
        out = {}
        for batch in CorpusReader(pw.db).batches():
            for row in batch:
                row.pop("featured_days")
                out[row["arxiv_id"]] = row
        return out
    finally:
        pw.close()


def run_export_bench(corpus: str, work: Path) -> dict[str, Any]:
    with corpus_install(corpus, embed=False) as pw:
        home = pw.settings.home
        papers = pw.store.count()
    runs: list[Run] = []
    for fmt in DatasetFormat:
        out = work / f"out-{fmt.value}"
        argv = ["export", "corpus", "-o", str(out), "--format", fmt.value, "--home", str(home)]
        _output, seconds, cpu, rss = _timed(argv)
        runs.append(Run(f"export {fmt.value}", papers, seconds, cpu, rss, _size_mb(out / "data")))
    fresh = work / "fresh"
    shard = next((work / "out-parquet" / "data").glob("*.parquet"))
    output, seconds, cpu, rss = _timed(
        ["ingest", "table", str(shard), "--no-embed", "--home", str(fresh)]
    )
    rejected = re.search(r"│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)\s*│", output)
    runs.append(Run("ingest table (parquet)", papers, seconds, cpu, rss, 0.0))
    before, after = _rows(home), _rows(fresh)
    differ = sorted(a for a in before if before[a] != after.get(a))
    return {
        "corpus": corpus,
        "papers": papers,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "runs": [{**asdict(r), "papers_per_second": r.papers_per_second} for r in runs],
        "round_trip": {
            "exported": len(before),
            "imported": len(after),
            "rejected": int(rejected.group(4)) if rejected else None,
            "differ": len(differ),
            "first_differing": differ[:5],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="paperwire bench export", description=__doc__)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="74k")
    parser.add_argument("--out", type=Path, help="Also write the result as JSON here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paperwire-export-bench-") as tmp:
        result = run_export_bench(args.corpus, Path(tmp))
    print(f"corpus export: {args.corpus}, {result['papers']} papers, load {result['load_average']}")
    header = ("papers/s", 9), ("wall s", 8), ("CPU s", 7), ("peak RSS MB", 12), ("files MB", 9)
    print(f"{'run':<24} " + " ".join(f"{name:>{width}}" for name, width in header))
    for r in result["runs"]:
        print(
            f"{r['what']:<24} {r['papers_per_second']:>9,.0f} {r['seconds']:>8.1f} "
            f"{r['cpu_seconds']:>7.1f} {r['peak_rss_mb']:>12.0f} {r['output_mb']:>9.1f}"
        )
    trip = result["round_trip"]
    print(
        f"round trip: {trip['exported']} exported, {trip['imported']} imported, "
        f"{trip['rejected']} rejected, {trip['differ']} differ"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
