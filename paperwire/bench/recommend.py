"""Recommendation benchmark: authors as stand-in readers on the 74,728 arXiv listings.

``paperwire bench recommend`` follows issue 15's protocol. Papers are ordered by listing
day (then id). An author with at least 6 papers "saved" their first 5; their later papers
are the targets; the candidates are every paper listed after the day of the 5th (the 5
saved ones are never candidates; a later paper listed on that same day is neither a
candidate nor a target). Authors whose every later paper shares the 5th's day drop out.
A seeded sample of the remaining authors (``--users``, default 200, ``--seed`` 7) is
scored; a second sample (``--dev-seed``, disjoint) is what the default weights were chosen
on, so the reported numbers are not tuned on themselves.

Rankers, each over the same candidates:

* **svm** — arxiv-sanity-lite's design, reimplemented: TF-IDF over title + abstract +
  author names (word 1–2-grams, English stop words, ``sublinear_tf``, ``max_df=0.1``,
  ``min_df=5``, 20,000 features, fitted on the whole corpus), and per reader a
  ``LinearSVC(C=0.01, class_weight="balanced")`` trained with the 5 saved papers as
  positives and every other paper as a negative; candidates ranked by decision value;
* **centroid** — cosine to the mean of the 5 saved papers' embeddings;
* **default** — ``search.recommend.score`` with ``DEFAULT_WEIGHTS`` (what ``/for-you``
  serves), recency counted from the 5th saved paper's day;
* **default-no-authors** — the same without the author signal (an ablation: how much of
  the gain is "people read their co-authors' next papers").

Metrics per reader, then averaged: nDCG@10 (binary gains), Recall@50, and catalogue
coverage (distinct papers in any reader's top 10 / all papers). The headline is a paired
bootstrap (10,000 resamples of readers) of default − svm nDCG@10 with its 95% interval.

Embeddings: title + abstract vectors of the bundled int8 ONNX MiniLM, read from the
``74k`` corpus install (``bench.corpus``; built and embedded once, ~30 min of two cores,
then reused from ``~/.cache/paperwire/bench/corpora/74k``).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from paperwire.bench.common import title_vectors_key, vectors_made_by
from paperwire.bench.embed import shared_data_dir
from paperwire.bench.relevance import default_cache_dir
from paperwire.search.recommend import (
    DEFAULT_WEIGHTS,
    AuthorTable,
    Profile,
    Vector,
    Weights,
    author_key,
    centroid,
    day_numbers,
    score,
)

__all__ = ["Corpus", "Reader", "RecommendResult", "load_listings", "readers_of", "run_recommend"]

SAVED = 5
RANKERS = ("centroid", "default", "default-no-authors", "svm")
Say = Callable[[str], None]


@dataclass
class Corpus:
    """The listings in listing order: ids, texts, authors, days (and vectors when read)."""

    ids: list[str]
    titles: list[str]
    abstracts: list[str]
    authors: list[list[str]]
    days: list[dt.date]
    vectors: Vector | None = None

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Reader:
    """A stand-in reader: an author, their 5 saved rows, first candidate row, targets."""

    author: str
    saved: tuple[int, ...]
    first_candidate: int
    targets: frozenset[int]


def load_listings(folder: Path | None = None) -> Corpus:
    """Every listing of the shared arXiv corpus once (first appearance kept), ordered by
    listing day then id."""
    folder = folder or shared_data_dir() / "arxiv-listings"
    seen: dict[str, tuple[dt.date, str, str, list[str]]] = {}
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                pid = str(row["id"])
                if pid in seen:
                    continue
                day = dt.date.fromisoformat(str(row["listing_date"])[:10])
                authors = [str(a) for a in row.get("authors") or []]
                seen[pid] = (day, " ".join(str(row["title"]).split()), str(row["summary"]), authors)
    order = sorted(seen, key=lambda p: (seen[p][0], p))
    return Corpus(
        ids=order,
        titles=[seen[p][1] for p in order],
        abstracts=[seen[p][2] for p in order],
        authors=[seen[p][3] for p in order],
        days=[seen[p][0] for p in order],
    )


def readers_of(corpus: Corpus) -> list[Reader]:
    """Every author with ≥ 6 papers and at least one target (see the module docstring)."""
    rows: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for i, authors in enumerate(corpus.authors):
        for name in dict.fromkeys(author_key(a) for a in authors):
            rows.setdefault(name, []).append(i)
    for authors in corpus.authors:
        for a in authors:
            names.setdefault(author_key(a), a)
    # Rows are in listing order already, so the first candidate row is the first paper
    # listed on a later day than the 5th saved one.
    first_after: dict[dt.date, int] = {}
    for i in range(len(corpus) - 1, -1, -1):
        first_after[corpus.days[i]] = i
    day_list = sorted(first_after)
    next_day_row = {
        day: (first_after[day_list[k + 1]] if k + 1 < len(day_list) else len(corpus))
        for k, day in enumerate(day_list)
    }
    out = []
    for key, papers in sorted(rows.items()):
        if len(papers) < SAVED + 1:
            continue
        saved = tuple(papers[:SAVED])
        start = next_day_row[corpus.days[saved[-1]]]
        targets = frozenset(p for p in papers[SAVED:] if p >= start)
        if targets:
            out.append(Reader(names[key], saved, start, targets))
    return out


# -- rankers ----------------------------------------------------------------------------------

Ranking = npt.NDArray[np.intp]  # candidate rows, best first (absolute corpus rows)


def _top(scores: npt.NDArray[np.floating], start: int, k: int) -> Ranking:
    """The ``k`` best rows of ``scores`` (scores of rows ``start…``), best first."""
    k = min(k, len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    return (part[np.argsort(-scores[part], kind="stable")] + start).astype(np.intp)


class SvmRanker:
    """arxiv-sanity-lite's per-tag SVM over TF-IDF (reimplemented from its design). The
    TF-IDF matrix (~7 min to fit at 74.7k on a busy two-core machine) is cached beside
    the embeddings, keyed by the corpus's ids."""

    def __init__(self, corpus: Corpus, cache: Path | None = None) -> None:
        import hashlib

        import scipy.sparse

        digest = hashlib.sha1("\n".join(corpus.ids).encode(), usedforsecurity=False)
        path = (cache or default_cache_dir()) / f"recommend-tfidf-{digest.hexdigest()[:12]}.npz"
        if path.is_file():
            self.x = scipy.sparse.load_npz(path).tocsr()
            return
        self.x = self._fit(corpus)
        path.parent.mkdir(parents=True, exist_ok=True)
        scipy.sparse.save_npz(path, self.x)

    @staticmethod
    def _fit(corpus: Corpus) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",  # noqa: S106 - a regex
            ngram_range=(1, 2),
            max_features=20_000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        docs = [
            " ".join([t, a, " ".join(names)])
            for t, a, names in zip(corpus.titles, corpus.abstracts, corpus.authors, strict=True)
        ]
        return vectorizer.fit_transform(docs).astype(np.float32).tocsr()

    def rank(self, reader: Reader, k: int) -> Ranking:
        from sklearn.svm import LinearSVC

        y = np.zeros(self.x.shape[0], dtype=np.int8)
        y[list(reader.saved)] = 1
        clf = LinearSVC(class_weight="balanced", max_iter=10_000, tol=1e-6, C=0.01)
        clf.fit(self.x, y)
        s = clf.decision_function(self.x[reader.first_candidate :])
        return _top(np.asarray(s), reader.first_candidate, k)


class EmbeddingRanker:
    """``centroid``, or ``search.recommend.score`` with given weights."""

    def __init__(self, corpus: Corpus, weights: Weights | None) -> None:
        assert corpus.vectors is not None
        self.corpus = corpus
        norms = np.linalg.norm(corpus.vectors, axis=1, keepdims=True)
        self.vectors = (corpus.vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        self.weights = weights
        self.authors = AuthorTable.of(corpus.authors)
        self.days = day_numbers(corpus.days)

    def rank(self, reader: Reader, k: int) -> Ranking:
        saved = list(reader.saved)
        liked = self.vectors[saved]
        ones = np.ones(len(saved), dtype=np.float64)
        cand = self.vectors[reader.first_candidate :]
        if self.weights is None:
            return _top(cand @ centroid(liked, ones), reader.first_candidate, k)
        profile = Profile(
            vectors=liked,
            weights=ones,
            authors=[self.corpus.authors[i] for i in saved],
            reference_day=self.corpus.days[saved[-1]],
        )
        start = reader.first_candidate
        scored = score(
            profile,
            len(cand),
            self.authors.since(start),
            cand,
            self.days[start:],
            w=self.weights,
        )
        return _top(scored.scores, reader.first_candidate, k)


# -- metrics ----------------------------------------------------------------------------------


def ndcg_at(ranking: Sequence[int], targets: frozenset[int], k: int = 10) -> float:
    dcg = sum(1.0 / np.log2(r + 2) for r, row in enumerate(ranking[:k]) if row in targets)
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(k, len(targets))))
    return float(dcg / ideal) if ideal else 0.0


def recall_at(ranking: Sequence[int], targets: frozenset[int], k: int = 50) -> float:
    return len(set(ranking[:k]) & targets) / len(targets)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], rounds: int = 10_000, seed: int = 7
) -> tuple[float, float, float]:
    """Mean of ``a − b`` over readers and its 95% percentile interval."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diff), size=(rounds, len(diff)))
    means = diff[picks].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(lo), float(hi)


@dataclass
class RankerRow:
    ranker: str
    readers: int
    ndcg_at_10: float
    recall_at_50: float
    coverage: float
    seconds: float


@dataclass
class RecommendResult:
    papers: int
    eligible_readers: int
    readers: int
    seed: int
    text: str
    rows: list[RankerRow] = field(default_factory=list)
    default_minus_svm: dict[str, float] = field(default_factory=dict)
    per_reader: dict[str, list[float]] = field(default_factory=dict)
    notes: str = ""

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("per_reader")
        return out


def sample_readers(readers: Sequence[Reader], n: int, seed: int, avoid: int | None) -> list[Reader]:
    """``n`` readers drawn with ``seed``; none of those ``avoid`` (the dev seed) draws."""
    order = list(readers)
    banned: set[str] = set()
    if avoid is not None:
        dev = list(readers)
        random.Random(avoid).shuffle(dev)
        banned = {r.author for r in dev[:n]}
    random.Random(seed).shuffle(order)
    return [r for r in order if r.author not in banned][:n]


def load_vectors(corpus: Corpus, text: str, cache_dir: Path | None, say: Say) -> Vector:
    """One unit vector per listing, row for row with ``corpus``: ``text="abstract"``
    (title + abstract, from the ``74k`` corpus install) or ``"title"`` (titles only: the
    title vectors ``bench backends`` caches, else embedded here once and cached)."""
    if text == "abstract":
        from paperwire.bench.corpus import corpus_install

        with corpus_install("74k", cache_dir=cache_dir, embed=True, say=say) as pw:
            found = pw.index.vectors_of(corpus.ids)
        missing = [pid for pid in corpus.ids if pid not in found]
        if missing:
            raise RuntimeError(f"{len(missing)} listings have no vector (e.g. {missing[0]})")
        return np.stack([found[pid] for pid in corpus.ids]).astype(np.float32)
    return _title_vectors(corpus, cache_dir or default_cache_dir(), say)


def _title_vectors(corpus: Corpus, cache: Path, say: Say) -> Vector:
    from paperwire.config import Settings
    from paperwire.index.embedding.loader import load_embedder

    # loaded before the caches are looked at: its maker names them
    model = load_embedder(Settings())
    made_by = vectors_made_by(model)
    for key in (title_vectors_key(len(corpus), model), f"recommend-titles-{made_by}"):
        ids_path, vec_path = cache / f"{key}.json", cache / f"{key}.npy"
        if ids_path.is_file() and vec_path.is_file():
            ids = json.loads(ids_path.read_text())
            if sorted(ids) == sorted(corpus.ids):
                row = {pid: i for i, pid in enumerate(ids)}
                vectors = np.load(vec_path)
                say(f"title vectors from {vec_path}")
                out: Vector = vectors[[row[pid] for pid in corpus.ids]].astype(np.float32)
                return out
    say(f"embedding {len(corpus)} titles (cached in {cache})")
    vectors = model.encode_documents(corpus.titles, batch_size=64)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(cache / f"recommend-titles-{made_by}.npy", vectors)
    (cache / f"recommend-titles-{made_by}.json").write_text(json.dumps(corpus.ids))
    return np.asarray(vectors, dtype=np.float32)


def run_recommend(
    *,
    users: int = 200,
    seed: int = 7,
    dev_seed: int | None = 8,
    rankers: Sequence[str] = RANKERS,
    text: str = "abstract",
    cache_dir: Path | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    say: Say = lambda _m: None,
    corpus: Corpus | None = None,
) -> RecommendResult:
    """Score ``users`` sampled readers with each ranker (see the module docstring)."""
    corpus = corpus or load_listings()
    if corpus.vectors is None and any(r != "svm" for r in rankers):
        corpus.vectors = load_vectors(corpus, text, cache_dir, say)
    eligible = readers_of(corpus)
    chosen = sample_readers(eligible, users, seed, dev_seed)
    say(f"{len(corpus)} papers, {len(eligible)} eligible readers, scoring {len(chosen)}")
    result = RecommendResult(len(corpus), len(eligible), len(chosen), seed, text)
    no_authors = Weights(**{**asdict(weights), "authors": 0.0})
    for name in rankers:
        t0 = time.perf_counter()
        ranker: SvmRanker | EmbeddingRanker
        if name == "svm":
            ranker = SvmRanker(corpus, cache_dir)
        elif name == "centroid":
            ranker = EmbeddingRanker(corpus, None)
        else:
            ranker = EmbeddingRanker(corpus, weights if name == "default" else no_authors)
        ndcg: list[float] = []
        recall: list[float] = []
        shown: set[int] = set()
        for done, reader in enumerate(chosen, 1):
            ranking = ranker.rank(reader, 50)
            if done % 20 == 0:
                say(f"{name}: {done}/{len(chosen)} readers, {time.perf_counter() - t0:.0f} s")
            ndcg.append(ndcg_at(list(ranking), reader.targets))
            recall.append(recall_at(list(ranking), reader.targets))
            shown.update(int(r) for r in ranking[:10])
        seconds = time.perf_counter() - t0
        result.per_reader[name] = ndcg
        result.rows.append(
            RankerRow(
                name,
                len(chosen),
                float(np.mean(ndcg)),
                float(np.mean(recall)),
                len(shown) / len(corpus),
                seconds,
            )
        )
        say(f"{name}: nDCG@10 {np.mean(ndcg):.4f} in {seconds:.0f} s")
    if "svm" in result.per_reader and "default" in result.per_reader:
        mean, lo, hi = paired_bootstrap(result.per_reader["default"], result.per_reader["svm"])
        result.default_minus_svm = {"mean": mean, "ci95_low": lo, "ci95_high": hi}
    return result
