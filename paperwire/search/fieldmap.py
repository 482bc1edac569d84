"""The map of the field: a 2-D layout of papers from their embeddings, with labelled
clusters, and a picture of it. Pure numpy (no store, no model), so ``paperwire map
build`` and ``paperwire bench map`` lay out exactly the same way.

The layout is *cluster-anchored*, built for two small cores rather than UMAP's numba:

1. project the unit vectors onto their top 32 principal components (SVD of a sample);
2. k-means there (``clusters``, default ~√(n/40) capped at 48; Lloyd's iterations on a
   sample, then every point assigned to its nearest centre);
3. place the cluster centres in 2-D by classical MDS of their cosine distances, so
   neighbouring topics sit side by side, then spread them apart until discs of area
   proportional to their size barely touch;
4. place each paper inside its cluster's disc by the cluster's own top two principal
   directions (what varies most within the topic), squashed radially to the disc.

Cost is O(n · (32 + k) · d): ~seconds at 74.7k papers, where t-SNE or UMAP would take
minutes. Labels are each cluster's most distinctive title words (log-odds against all
titles, stop words and short tokens left out).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from paperwire.text.snippets import STOP_WORDS
from paperwire.text.tokens import word_pattern

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
METHOD = "pca32-kmeans-mds-v1"
_GENERIC = {
    "based", "via", "using", "towards", "toward", "model", "models", "learning", "new",
    "approach", "method", "methods", "study", "analysis", "large", "language", "data",
}  # fmt: skip


@dataclass
class Layout:
    """``xy`` in [0, 1]² (row per paper), each paper's cluster, the clusters' centres,
    sizes and labels."""

    xy: Floats
    cluster: Ints
    centres: Floats
    sizes: list[int]
    labels: list[str]


def _pca(x: Floats, dims: int, rng: np.random.Generator, sample: int = 8000) -> Floats:
    mean = x.mean(axis=0)
    rows = x[rng.choice(len(x), size=min(sample, len(x)), replace=False)] - mean
    _, _, vt = np.linalg.svd(rows, full_matrices=False)
    return np.asarray((x - mean) @ vt[: min(dims, vt.shape[0])].T, dtype=np.float64)


def _kmeans(x: Floats, k: int, rng: np.random.Generator, iters: int = 25) -> Ints:
    sample = x[rng.choice(len(x), size=min(len(x), max(k * 200, 4000)), replace=False)]
    centres = sample[rng.choice(len(sample), size=k, replace=False)].copy()
    for _ in range(iters):
        near = _nearest(sample, centres)
        for j in range(k):
            members = sample[near == j]
            centres[j] = members.mean(axis=0) if len(members) else sample[rng.integers(len(sample))]
    return _nearest(x, centres)


def _nearest(x: Floats, centres: Floats, chunk: int = 16384) -> Ints:
    out = np.empty(len(x), dtype=np.int64)
    c2 = (centres**2).sum(axis=1)
    for i in range(0, len(x), chunk):
        part = x[i : i + chunk]
        out[i : i + chunk] = np.argmin(c2[None, :] - 2 * part @ centres.T, axis=1)
    return out


def _mds(dist: Floats) -> Floats:
    """Classical MDS: 2-D points whose distances approximate ``dist``."""
    n = len(dist)
    if n == 1:
        return np.zeros((1, 2))
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (dist**2) @ j
    vals, vecs = np.linalg.eigh(b)
    order = np.argsort(vals)[::-1][:2]
    pts = vecs[:, order] * np.sqrt(np.clip(vals[order], 1e-12, None))
    if pts.shape[1] < 2:
        pts = np.hstack([pts, np.zeros((n, 1))])
    return np.asarray(pts)


def _spread(centres: Floats, radii: Floats, rounds: int = 300) -> Floats:
    """Push overlapping discs apart until they barely touch (all pairs at once)."""
    pts = centres.copy()
    need = (radii[:, None] + radii[None, :]) * 1.06
    np.fill_diagonal(need, 0.0)
    for _ in range(rounds):
        gap = pts[None, :, :] - pts[:, None, :]  # a → b
        dist = np.hypot(gap[..., 0], gap[..., 1])
        np.fill_diagonal(dist, np.inf)
        overlap = np.clip(need - dist, 0.0, None)
        if overlap.max() < 1e-6:
            break
        safe = np.where(np.isfinite(dist) & (dist > 1e-9), dist, 1.0)
        push = (overlap / safe / 2)[..., None] * gap
        pts -= push.sum(axis=1)
        pts += push.sum(axis=0)
    return pts


def cluster_count(n: int) -> int:
    return max(1, min(48, round(math.sqrt(n / 40))))


def layout(
    vectors: npt.NDArray[np.floating], titles: Sequence[str], clusters: int | None = None
) -> Layout:
    """Lay out ``vectors`` (row per paper; ``titles`` row for row) on the unit square."""
    n = len(vectors)
    rng = np.random.default_rng(7)
    if n == 0:
        return Layout(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros((0, 2)), [], [])
    x = np.asarray(vectors, dtype=np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    k = min(clusters or cluster_count(n), n)
    reduced = _pca(x, 32, rng)
    cluster = _kmeans(reduced, k, rng)
    sizes = np.bincount(cluster, minlength=k)
    means = np.stack([x[cluster == j].mean(axis=0) if sizes[j] else x[0] for j in range(k)])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    dist = np.clip(1.0 - means @ means.T, 0.0, 2.0)
    radii = np.sqrt(np.maximum(sizes, 1) / max(n, 1)) * 0.5
    plane = _mds(dist)
    # scale so the discs would cover most of the plane's box, then un-overlap
    box = float(np.ptp(plane[:, 0]) * np.ptp(plane[:, 1])) if k > 2 else 0.0
    discs = float(np.pi * (radii**2).sum())
    plane *= math.sqrt(1.2 * discs / box) if box > 1e-12 else 1.0
    centres = _spread(plane, radii)
    xy = np.zeros((n, 2))
    for j in range(k):
        rows = np.flatnonzero(cluster == j)
        if not len(rows):
            continue
        local = reduced[rows] - reduced[rows].mean(axis=0)
        if len(rows) > 2:
            _, _, vt = np.linalg.svd(local[: min(len(rows), 4000)], full_matrices=False)
            local = local @ vt[:2].T
        else:
            local = local[:, :2]
        if local.shape[1] < 2:  # fewer dimensions than two (a cluster of one or two)
            local = np.hstack([local, np.zeros((len(local), 2 - local.shape[1]))])
        scale = np.percentile(np.hypot(local[:, 0], local[:, 1]), 95) or 1.0
        local = local / scale
        r = np.hypot(local[:, 0], local[:, 1])
        squash = np.tanh(r) / np.maximum(r, 1e-9)  # radial squash into the unit disc
        xy[rows] = centres[j] + local * squash[:, None] * radii[j]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float(max(hi - lo)) or 1.0
    lo = lo - (span - (hi - lo)) / 2  # centre the shorter axis
    xy = (xy - lo) / span
    centre_xy = (centres - lo) / span
    return Layout(
        xy, cluster, centre_xy, [int(s) for s in sizes], label_clusters(titles, cluster, k)
    )


def label_clusters(titles: Sequence[str], cluster: Ints, k: int, words: int = 3) -> list[str]:
    """Each cluster's most distinctive title words (smoothed log-odds vs all titles)."""
    pattern = word_pattern()
    per: list[Counter[str]] = [Counter() for _ in range(k)]
    overall: Counter[str] = Counter()
    for title, j in zip(titles, cluster, strict=True):
        seen = {w.lower() for w in pattern.findall(title)}
        seen = {w for w in seen if len(w) > 2 and w not in STOP_WORDS and w not in _GENERIC}
        seen = {w for w in seen if not w.isdigit()}
        per[int(j)].update(seen)
        overall.update(seen)
    total = max(len(titles), 1)
    labels = []
    for j in range(k):
        size = max(int((cluster == j).sum()), 1)
        scored = [
            (math.log((c + 0.5) / size) - math.log((overall[w] + 1) / total), w)
            for w, c in per[j].items()
            if c >= max(2, size * 0.02)
        ]
        scored.sort(reverse=True)
        labels.append(" · ".join(w for _, w in scored[:words]) or f"cluster {j + 1}")
    return labels


# -- the picture --------------------------------------------------------------------------


PALETTE = np.array(
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    ],
    dtype=np.float64,
)  # fmt: skip


def render_png(lay: Layout, size: int = 900) -> bytes:
    """The map as a PNG (points coloured by cluster on white), for the README and
    digests; pure numpy + zlib."""
    img = np.full((size, size, 3), 255.0)
    if len(lay.xy):
        pad = 12
        px = (pad + lay.xy[:, 0] * (size - 2 * pad - 1)).astype(int)
        py = (pad + (1 - lay.xy[:, 1]) * (size - 2 * pad - 1)).astype(int)
        colour = PALETTE[lay.cluster % len(PALETTE)]
        alpha = 0.35 if len(lay.xy) > 5000 else 0.8
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            xs, ys = np.clip(px + dx, 0, size - 1), np.clip(py + dy, 0, size - 1)
            img[ys, xs] = img[ys, xs] * (1 - alpha) + colour * alpha
    return encode_png(img.astype(np.uint8))


def encode_png(rgb: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` (height × width × 3)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
