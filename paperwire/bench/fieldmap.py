"""``paperwire bench map``: how long the map of the field takes at 74,728 papers, and its
picture (``docs/map.png`` in the README).

Lays out the arXiv listings with ``search.fieldmap.layout`` (what ``paperwire map
build`` runs) from cached vectors (``bench.recommend.load_vectors``: titles by default,
``--text abstract`` for the 74k corpus install's title + abstract vectors), times each
run (wall clock and CPU: on a shared machine the CPU time is the stable number),
and writes the PNG.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paperwire.bench.recommend import load_listings, load_vectors
from paperwire.search.fieldmap import METHOD, layout, render_png

Say = Callable[[str], None]


@dataclass
class MapBenchResult:
    papers: int
    method: str
    text: str
    clusters: int
    seconds: list[float]
    cpu_seconds: list[float]
    labels: list[str]


def run_map(
    *,
    text: str = "title",
    rounds: int = 1,
    png: Path | None = None,
    cache_dir: Path | None = None,
    say: Say = lambda _m: None,
) -> MapBenchResult:
    corpus = load_listings()
    vectors = load_vectors(corpus, text, cache_dir, say)
    seconds: list[float] = []
    cpu: list[float] = []
    lay = None
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        lay = layout(vectors, corpus.titles)
        seconds.append(round(time.perf_counter() - t0, 2))
        cpu.append(round(time.process_time() - c0, 2))
        say(f"layout of {len(corpus)} papers in {seconds[-1]:.1f} s ({cpu[-1]:.1f} s of CPU)")
    assert lay is not None
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(render_png(lay))
        say(f"wrote {png}")
    order = sorted(range(len(lay.sizes)), key=lambda j: -lay.sizes[j])
    labels = [f"{lay.labels[j]} ({lay.sizes[j]})" for j in order]
    return MapBenchResult(len(corpus), METHOD, text, len(lay.sizes), seconds, cpu, labels)
