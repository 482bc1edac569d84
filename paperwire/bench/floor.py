"""Calibrating the semantic floor: cosines of real matches vs. off-topic queries.

``paperwire bench floor`` measures, for a range of floors, what a floor keeps and what it
lets through, with the configured embedding model:

* **kept** — on the judged collections (SciFact test, CACM), the share of relevant
  (query, document) pairs whose cosine reaches the floor: a floor above a relevant
  document's cosine drops it unless its words match;
* **noise** — on each corpus, the mean number of documents an off-topic query reaches,
  per 10,000 documents, and the share of such queries that reach any. Off-topic queries
  are the other collection's queries (CACM's computing questions against SciFact's
  biomedical claims and back), ``OFF_TOPIC`` sentences (animals, cooking, sport,
  history, …: nothing a CS or biomedical paper is about) and ``nonsense`` strings
  (seeded random letters and word salad). On the paper corpora (``hf``, ``74k``:
  ``bench.corpus``) only the sentences and nonsense are off-topic; **kept** there is the
  share of papers that reach the floor for a 2–4-word span of their own title (the
  known-item queries of ``bench known-item``).

The floor is a trade-off only in the gap between the two distributions; the default
(``search.matches.DEFAULT_SEMANTIC_FLOOR``) is chosen from this table, in
docs/benchmarks.md ("Semantic floor").
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.collections import load_collection
from paperwire.bench.relevance import open_install

__all__ = ["FLOORS", "OFF_TOPIC", "FloorResult", "nonsense", "run_floor_bench"]

FLOORS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)

OFF_TOPIC = [
    "zebra migration patterns in the serengeti",
    "how to bake sourdough bread at home",
    "best hiking trails in the swiss alps",
    "history of the roman empire and its emperors",
    "knitting patterns for a wool sweater",
    "world cup football match results",
    "growing tomatoes in a greenhouse",
    "the life cycle of monarch butterflies",
    "recipes for vegetarian lasagna",
    "medieval castles of scotland",
    "how to train a puppy to sit",
    "jazz saxophone improvisation techniques",
    "wedding dress fashion trends",
    "car engine oil change interval",
    "ancient egyptian pyramids construction",
    "tennis serve technique for beginners",
    "wine tasting notes for pinot noir",
    "the migration of humpback whales",
    "renaissance painting in florence",
    "fishing for trout in mountain rivers",
    "coffee brewing with a french press",
    "birdwatching guide to european owls",
    "opera singers of the nineteenth century",
    "decorating a living room on a budget",
    "olympic marathon world records",
    "volcano eruptions in iceland tourism",
    "chess opening theory sicilian defense",
    "baroque music harpsichord composers",
    "caring for orchids indoors",
    "skiing holidays in the french alps",
]


def nonsense(n: int, seed: int = 17) -> list[str]:
    """``n`` seeded nonsense queries: half random letter strings, half word salad."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "zu", "te", "ra", "po", "ne", "shi", "vu", "qua", "bex"]
    out: list[str] = []
    for i in range(n):
        if i % 2:
            words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))]
            words += [
                "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
                for _ in range(rng.randint(1, 3))
            ]
        else:
            words = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))]
            words += ["".join(rng.choice(syllables) for _ in range(3)) for _ in range(2)]
        out.append(" ".join(words))
    return out


@dataclass
class FloorRow:
    floor: float
    kept: float | None  # share of relevant pairs (or own-title spans) at or above the floor
    noise_per_10k: dict[str, float] = field(default_factory=dict)  # per off-topic set
    noise_queries: dict[str, float] = field(default_factory=dict)  # share reaching any doc


@dataclass
class CorpusFloors:
    corpus: str
    documents: int
    rows: list[FloorRow]
    notes: str = ""


@dataclass
class FloorResult:
    model: str
    corpora: list[CorpusFloors]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def _matrix(pw: Any) -> tuple[list[str], list[str], np.ndarray]:
    """Ids, titles and unit vectors of every embedded paper of an install (store reads)."""
    ids: list[str] = []
    titles: list[str] = []
    rows: list[np.ndarray] = []
    for batch in pw.store.iter_index_docs(pw.model_name):
        for doc in batch:
            if doc.vector is not None:
                ids.append(doc.arxiv_id)
                titles.append(doc.title)
                rows.append(np.asarray(doc.vector, dtype=np.float32))
    matrix = np.stack(rows)
    return ids, titles, matrix / np.maximum(1e-12, np.linalg.norm(matrix, axis=1, keepdims=True))


def _noise(matrix: np.ndarray, queries: np.ndarray, floor: float) -> tuple[float, float]:
    """Mean documents per 10k at or above ``floor`` per query, and the share of queries
    reaching any."""
    sims = queries @ matrix.T
    hits = (sims >= floor).sum(axis=1)
    return float(hits.mean() * 10_000 / matrix.shape[0]), float((hits > 0).mean())


def _encode(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    vecs = np.stack([np.asarray(embedder.encode_query(t), dtype=np.float32) for t in texts])
    unit: np.ndarray = vecs / np.maximum(1e-12, np.linalg.norm(vecs, axis=1, keepdims=True))
    return unit


def _title_spans(titles: Sequence[str], n: int, seed: int = 5) -> list[tuple[int, str]]:
    """``n`` (paper index, 2–4-word span of its title) pairs, seeded."""
    from paperwire.bench.known_item import title_span

    rng = random.Random(seed)
    picks = rng.sample(range(len(titles)), min(n, len(titles)))
    out = []
    for i in picks:
        span = title_span(titles[i], rng)
        if span:
            out.append((i, span))
    return out


def _rows(
    floors: Sequence[float],
    relevant: np.ndarray | None,
    matrix: np.ndarray,
    off_topic: dict[str, np.ndarray],
) -> list[FloorRow]:
    rows = []
    for f in floors:
        row = FloorRow(f, None if relevant is None else float((relevant >= f).mean()))
        for name, queries in off_topic.items():
            per_10k, share = _noise(matrix, queries, f)
            row.noise_per_10k[name] = round(per_10k, 3)
            row.noise_queries[name] = round(share, 3)
        rows.append(row)
    return rows


def _judged(
    name: str, other: str, cache_dir: Path | None, floors: Sequence[float], say: Say
) -> CorpusFloors:
    coll = load_collection(name)
    other_queries = list(load_collection(other).queries.values())
    say(f"[{name}] loading {len(coll.docs)} documents")
    with open_install(coll, cache_dir=cache_dir) as (pw, ids):
        embedder = pw.embedder()
        assert embedder is not None
        doc_ids, _, matrix = _matrix(pw)
        row_of = {d: r for r, d in enumerate(doc_ids)}
        qids = list(coll.queries)
        queries = _encode(embedder, [coll.queries[q] for q in qids])
        pairs = []
        for qi, q in enumerate(qids):
            for doc, grade in coll.qrels.get(q, {}).items():
                r = row_of.get(ids.arxiv_id(doc))
                if grade > 0 and r is not None:
                    pairs.append(float(queries[qi] @ matrix[r]))
        off = {
            f"{other} queries": _encode(embedder, other_queries),
            "sentences": _encode(embedder, OFF_TOPIC),
            "nonsense": _encode(embedder, nonsense(len(OFF_TOPIC))),
        }
        rows = _rows(floors, np.asarray(pairs), matrix, off)
    note = f"{len(pairs)} relevant pairs; median cosine {float(np.median(pairs)):.3f}"
    return CorpusFloors(name, len(doc_ids), rows, note)


def _paper_corpus(
    name: str, cache_dir: Path | None, floors: Sequence[float], spans: int, say: Say
) -> CorpusFloors:
    from paperwire.bench.corpus import corpus_install

    with corpus_install(name, cache_dir=cache_dir, say=say) as pw:
        embedder = pw.embedder()
        assert embedder is not None
        _, titles, matrix = _matrix(pw)
        picked = _title_spans(titles, spans)
        queries = _encode(embedder, [s for _, s in picked])
        own = np.asarray([float(queries[k] @ matrix[i]) for k, (i, _) in enumerate(picked)])
        off = {
            "sentences": _encode(embedder, OFF_TOPIC),
            "nonsense": _encode(embedder, nonsense(len(OFF_TOPIC))),
        }
        rows = _rows(floors, own, matrix, off)
    note = f"kept: {len(picked)} own-title spans; median cosine {float(np.median(own)):.3f}"
    return CorpusFloors(name, matrix.shape[0], rows, note)


def run_floor_bench(
    corpora: Sequence[str] = ("scifact", "cacm", "hf"),
    *,
    cache_dir: Path | None = None,
    floors: Sequence[float] = FLOORS,
    spans: int = 500,
    say: Say = _quiet,
) -> FloorResult:
    """The floor table for each of ``corpora`` (``scifact``, ``cacm``, ``hf``, ``74k``)."""
    from paperwire.config import Settings

    out = FloorResult(model=Settings().embedding_model, corpora=[])
    for name in corpora:
        if name in ("scifact", "cacm"):
            other = "cacm" if name == "scifact" else "scifact"
            out.corpora.append(_judged(name, other, cache_dir, floors, say))
        else:
            out.corpora.append(_paper_corpus(name, cache_dir, floors, spans, say))
    return out
