"""Recommendation scoring: how well each candidate paper fits what a reader liked.

One definition, used by the live feed (``services.recommend``) and by ``paperwire bench
recommend`` alike, so the benchmark measures exactly what readers get. Everything here is
numpy over unit vectors (the stored title + abstract embeddings) plus author names; no
store, no index.

A candidate's score adds four signals (``Weights``):

* **semantic**: half its best cosine to one liked paper (a nearest-neighbour vote: a
  reader with two interests is served both, where a centroid would land between them),
  half its cosine to the weighted centroid (what the reader likes on the whole);
* **authors**: the share of liked papers written by one of its authors, plus a bonus when
  the reader follows one of them: people read their favourite authors' next papers;
* **recency**: closeness in time to a reference day (the live feed: today; the benchmark:
  the reader's last like), decaying with ``half_life_days``;
* **community**: ``log1p(upvotes)`` scaled down (zero in the benchmark: listings have none).

Papers the reader marked "not interested" pull their neighbours down (``negative``).
``explain`` turns the winning signals into the reasons shown beside each paper.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@functools.lru_cache(maxsize=1 << 18)
def author_key(name: str) -> str:
    """How two spellings of one author name compare: case and spacing ignored."""
    return " ".join(name.casefold().replace(".", ". ").split())


@dataclass(frozen=True)
class Weights:
    """The mix of signals (see the module docstring); the defaults were chosen on a
    development sample of benchmark users disjoint from the reported one."""

    semantic: float = 1.0
    nearest_share: float = 0.5  # of the semantic signal; the rest is the centroid
    authors: float = 1.0
    followed: float = 0.25
    recency: float = 0.05
    half_life_days: float = 120.0
    community: float = 0.02
    negative: float = 0.5


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Profile:
    """What a reader liked: unit vectors (one row per liked paper, ``weights`` beside),
    the liked papers' authors, the authors they follow, unit vectors of "not
    interested" papers, and the day recency counts from."""

    vectors: Vector
    weights: Floats
    authors: Sequence[Sequence[str]]
    followed: frozenset[str] = frozenset()
    negatives: Vector | None = None
    reference_day: dt.date | None = None

    @property
    def author_shares(self) -> dict[str, float]:
        """Author key → weighted share of liked papers that name them."""
        total = float(self.weights.sum()) or 1.0
        shares: dict[str, float] = {}
        for weight, names in zip(self.weights, self.authors, strict=True):
            for key in {author_key(n) for n in names}:
                shares[key] = shares.get(key, 0.0) + float(weight) / total
        return shares


@dataclass(frozen=True)
class AuthorTable:
    """Candidates' authors as parallel arrays (candidate row, author id), so scoring
    tens of thousands of candidates is array arithmetic, not a Python loop per name."""

    rows: Ints
    ids: Ints
    names: list[str]
    index: dict[str, int]  # author key → id

    @classmethod
    def of(cls, authors: Sequence[Sequence[str]]) -> AuthorTable:
        rows: list[int] = []
        ids: list[int] = []
        names: list[str] = []
        index: dict[str, int] = {}
        for row, people in enumerate(authors):
            for name in people:
                key = author_key(name)
                if key not in index:
                    index[key] = len(names)
                    names.append(name)
                rows.append(row)
                ids.append(index[key])
        return cls(np.array(rows, dtype=np.int64), np.array(ids, dtype=np.int64), names, index)

    def since(self, start: int) -> AuthorTable:
        """The table of candidate rows ``start…``, renumbered from 0."""
        keep = self.rows >= start
        return AuthorTable(self.rows[keep] - start, self.ids[keep], self.names, self.index)

    def weights(self, by_key: dict[str, float]) -> Floats:
        """Author id → weight, from weights by author key (unknown authors: 0)."""
        out = np.zeros(len(self.names), dtype=np.float64)
        for key, value in by_key.items():
            found = self.index.get(key)
            if found is not None:
                out[found] = value
        return out

    def named(self, row: int, weight: Floats) -> list[str]:
        """Authors of candidate ``row`` whose ``weight`` is positive, in byline order."""
        ids = self.ids[self.rows == row]
        return [self.names[i] for i in ids if weight[i] > 0]


@dataclass
class Scored:
    """Candidates' scores and what produced them, row for row with the candidates."""

    scores: Floats
    nearest: npt.NDArray[np.intp]  # the liked paper each candidate is closest to (-1: none)
    nearest_cosine: Floats
    author_share: Floats
    authors: AuthorTable
    share_by_author: Floats
    followed_by_author: Floats


def _unit(matrix: npt.NDArray[np.floating]) -> Vector:
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    out: Vector = (m / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


def centroid(vectors: Vector, weights: Floats) -> Vector:
    """The weighted mean direction of ``vectors`` (a unit vector)."""
    mean = (vectors * weights[:, None].astype(np.float32)).sum(axis=0, keepdims=True)
    out: Vector = _unit(mean)[0]
    return out


def score(
    profile: Profile,
    n: int,
    authors: AuthorTable,
    vectors: Vector | None = None,
    days: Floats | None = None,
    upvotes: Floats | None = None,
    w: Weights = DEFAULT_WEIGHTS,
) -> Scored:
    """Score ``n`` candidates: their ``authors``, ``vectors`` (n × d unit rows; None
    when nothing is embedded: then authors, recency and community count alone),
    ``days`` (proleptic ordinals, NaN when unknown) and ``upvotes``."""
    total = np.zeros(n, dtype=np.float64)
    nearest = np.full(n, -1, dtype=np.intp)
    nearest_cos = np.zeros(n, dtype=np.float64)
    if vectors is not None and len(profile.vectors) and n:
        liked = _unit(profile.vectors)
        sims = vectors @ liked.T  # n × liked
        nearest = np.argmax(sims, axis=1).astype(np.intp)
        nearest_cos = sims[np.arange(n), nearest].astype(np.float64)
        to_centre = (vectors @ centroid(liked, profile.weights)).astype(np.float64)
        total += w.semantic * (w.nearest_share * nearest_cos + (1 - w.nearest_share) * to_centre)
        if profile.negatives is not None and len(profile.negatives):
            against = (vectors @ _unit(profile.negatives).T).max(axis=1).astype(np.float64)
            total -= w.negative * np.clip(against, 0.0, None)
    share_by = authors.weights(profile.author_shares)
    followed_by = authors.weights(dict.fromkeys(profile.followed, 1.0))
    share = np.minimum(
        np.bincount(authors.rows, weights=share_by[authors.ids], minlength=n)[:n], 1.0
    )
    followed = np.bincount(authors.rows, weights=followed_by[authors.ids], minlength=n)[:n]
    total += w.authors * share + w.followed * (followed > 0)
    if days is not None and profile.reference_day is not None:
        gap = np.abs(days - profile.reference_day.toordinal())
        total += w.recency * np.nan_to_num(np.exp(-gap * math.log(2) / w.half_life_days))
    if upvotes is not None:
        total += w.community * np.log1p(np.asarray(upvotes, dtype=np.float64)) / math.log(101)
    return Scored(total, nearest, nearest_cos, share, authors, share_by, followed_by)


def explain(
    scored: Scored, row: int, liked_titles: Sequence[str], liked_why: Sequence[str]
) -> list[tuple[str, str]]:
    """The reasons for candidate ``row``, strongest first, as ``(kind, text)``: kind is
    ``author_followed``, ``author`` or ``similar``. ``liked_why[i]`` says how the reader
    liked paper ``i`` ("upvoted", "saved in Reading list")."""
    reasons: list[tuple[str, str]] = []
    followed = scored.authors.named(row, scored.followed_by_author)
    if followed:
        reasons.append(("author_followed", f"From an author you follow: {', '.join(followed[:2])}"))
    shared = scored.authors.named(row, scored.share_by_author)
    if shared:
        reasons.append(("author", f"By {', '.join(shared[:2])}, who wrote papers you liked"))
    best = int(scored.nearest[row])
    if best >= 0 and liked_titles:
        reasons.append(("similar", f"Like “{liked_titles[best]}”, which you {liked_why[best]}"))
    return reasons


def day_numbers(days: Sequence[dt.date | None]) -> Floats:
    """Dates as proleptic ordinals (NaN for unknown), what ``score`` takes."""
    return np.array([d.toordinal() if d else np.nan for d in days], dtype=np.float64)
