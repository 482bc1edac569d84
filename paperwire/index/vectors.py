"""Exact cosine search over an L2-normalised float32 matrix (the vector half of the
embedded index).

At arXiv-listing scale (~75k papers × 384 dims, 110 MB) an exact matmul takes a few
milliseconds and has perfect recall, and filtering *before* the matmul (mask, then score
only the selected rows) makes filtered searches faster still, with no over-fetching as
an approximate (HNSW) index would need.

On disk (``path``)::

    manifest.json          {"format": 1, "generation": 7, "dim": 384, "count": n, ...}
    vectors-00000007.npy   float32 (n, dim), memory-mapped on load
    meta-00000007.npz      ids, published ordinal, has_code, organisation, categories,
                           fingerprints (``fp``: the document's, ``vfp``: the vector's)
    codes-00000007.npz     optional (large indexes): binary codes + the mean vector

Above ``COARSE_MIN_ROWS`` rows to score (~1M papers: a full fp32 scan reads 1.5 GB,
100+ ms on 2 cores), a search first ranks every selected row by the Hamming distance
between binary codes (the sign of each component after subtracting the corpus mean:
48 bytes a row, ~8 ms at 1M: a cache-sized chunk of rows at a time, shared with
another core), then scores the closest ``max(COARSE_CANDIDATES, COARSE_PER_RESULT × k)``
rows exactly in fp32 (on both cores too) and returns their top ``k``; a range (every
row above a floor, up to a bound) scores ``COARSE_RANGE_FACTOR`` times as many. Scores
are exact; the candidate cut is the only approximation (recall@100 and the range's
recall vs the full scan are measured in docs/benchmarks.md). The codes are written
beside the vectors (``codes-*.npz``) by a commit of that size, or computed on first use.

Below that threshold every answer is exact. From ``PRESCAN_MIN_ROWS`` rows, an int8 copy
of the matrix (``prescan.Int8Copy``, a quarter of the bytes, scored in 0.7–1.6 ms at 75k
where the fp32 scan takes ~6) bounds every row's cosine, and only the rows
whose bound can reach the answer are scored in fp32: the full scan's answer without
reading the whole fp32 matrix (up to the last bit of a score: see ``prescan``). The copy
is built per generation on a background thread (~0.4 s at 75k); until it is ready,
searches scan in fp32. A range search that needs only its best few ranked and the others
counted (``vector_range_head``: a semantic or hybrid search's page and total, and the
hybrid search's set of them) counts and lists a row whose lower bound clears the floor
without scoring it.

Selected rows (a filter's) are scored alone when they are few: read as slices where they
lie in long runs (a date range: papers are added about in date order), else copied out.

An upsert that changes nothing (same fingerprints as the stored row) is skipped, so
re-applying documents, as ``paperwire doctor --repair`` and the index journal do, writes
no new generation when the index is already current.

A commit writes a new generation (temp file + ``os.replace``), then atomically replaces
``manifest.json``, then removes older generations: a reader either sees the old
generation or the new one, never a mix. Commits from several processes are serialised
by an exclusive ``flock`` on ``.lock``, and a committer first reloads whatever another
process committed, so concurrent writers do not lose each other's changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from paperwire.index.base import IndexDoc, RangeHead, Ranked, Stamp, Vector, file_stamp
from paperwire.index.prescan import Int8Copy, floor_split, range_candidates, top_candidates
from paperwire.index.threads import SharedThreads, usable_cores
from paperwire.models.search import SearchFilters

try:  # POSIX only; elsewhere commits from several processes are not serialised.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["NumpyVectorIndex", "VectorDimensionError", "VectorIndexError"]

log = logging.getLogger(__name__)

_FORMAT = 1
_MANIFEST = "manifest.json"
_LOCK = ".lock"
# Above this fraction of selected rows, one full matmul beats gathering the rows first.
_GATHER_MAX_FRACTION = 0.15  # measured at 75k × 384: gathering 20% ≈ one full matmul
# Selected rows whose runs of consecutive rows average this many are read as slices
# (``_scanned``).
_RUN_ROWS = 64
# Binary-code candidate pass (see the module docstring): used when at least this many
# rows would be scored; then this many candidates (or per-result × k) are scored exactly.
COARSE_MIN_ROWS = 200_000
COARSE_CANDIDATES = 8_000
COARSE_PER_RESULT = 20
# A range (a relevance search's semantic matches, up to its bound of 4,001) scores this
# many times COARSE_CANDIDATES: at 1M papers the nearest 8,000 by code held 73 % of the
# full scan's best 4,001 above the floor (its first 100: 98.2 %), the nearest 16,000 held
# 87 % (99.3 %), for ~2 ms more alone and 3.7–4.0 ms in a hybrid search's vector part
# (docs/benchmarks.md, eighteenth session).
COARSE_RANGE_FACTOR = 2
_CODE_CHUNK = 65_536
_CODES_LOCK = threading.Lock()
# The int8 pre-scan (see the module docstring) from this many rows in the index (below,
# the fp32 scan reads under 30 MB; the copy's build time and memory are not worth it).
PRESCAN_MIN_ROWS = 20_000
_PRESCAN_BUILDS = SharedThreads(1, "paperwire-prescan")
# The other cores' share of a 1M search's candidate pass (``SharedThreads.share``):
# numpy lets go of the GIL while it copies and multiplies, and the other core is idle.
_SHARED_SCANS = SharedThreads(max(1, usable_cores() - 1), "paperwire-scan")
_INT8_LOCK = threading.Lock()
# A forked child's copies of its parent's int8 sessions: never dropped (an ONNX Runtime
# session's destructor joins its threads, which the child does not have: it would hang).
_INHERITED: list[object] = []

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int32]
# A query made ready for the scan (``_prepare``): the unit vector, the selected rows
# (None: all) and their mask (None: all).
_Prepared = tuple[Vector, npt.NDArray[np.intp] | None, BoolArray | None]
CodeArray = npt.NDArray[np.uint64]
StrArray = npt.NDArray[np.str_]
FpArray = npt.NDArray[np.bytes_]

# Filters whose rows a snapshot keeps (``_Snapshot.selection``).
_KEPT_SELECTIONS = 8
# A kept selection of at most this share of the rows (and too many to gather) is bounded
# by an int8 copy of its rows alone (``_Snapshot.int8_of``), for the first
# ``_KEPT_SUBSETS`` such selections of filters with no date range a generation is
# searched with: at most the whole copy's memory again (``cs.CL``, a third of 74.7k
# rows: +26 MB).
_SUBSET_MAX_FRACTION = 0.5
_KEPT_SUBSETS = 2


class _Selection(NamedTuple):
    """The rows that pass a filter, ascending, and the same as a mask over every row."""

    mask: BoolArray
    rows: npt.NDArray[np.intp]
    dated: bool = False  # the filter holds a date range


# A selection's key (``_selection_key``): the filters as the rows are selected by them.
_SelectionKey = tuple[Any, ...]


class _SubsetJob(NamedTuple):
    """The build of a copy of a selection's rows (``_Snapshot.int8_of``)."""

    pid: int  # the process that builds it (a forked child makes its own)
    build: Future[Int8Copy | None]


class _Bounds(NamedTuple):
    """Cosine bounds from an int8 copy: each of ``rows`` (None: every row, in order)
    lies in ``approx ± slack``."""

    approx: Vector
    slack: Vector
    rows: npt.NDArray[np.intp] | None

    def mask(self, mask: BoolArray | None) -> BoolArray | None:
        """A search's ``mask`` over these bounds: none over a selection's own rows."""
        return mask if self.rows is None else None

    def rows_of(self, found: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """The rows of the bounds ``found`` picked (ascending, as they were)."""
        return found if self.rows is None else self.rows[found]


class _Passing(NamedTuple):
    """The rows above a range's floor (``rows[i]`` scores ``scores[i]``), not ranked yet:
    a walk takes them as a set (``NumpyVectorIndex.vector_range_head``)."""

    rows: npt.NDArray[np.intp]
    scores: npt.NDArray[np.float32]


class VectorIndexError(RuntimeError):
    """The vector files cannot be used (unreadable, or built with another model)."""


class VectorDimensionError(VectorIndexError, ValueError):
    """A vector's length differs from the index's dimension."""

    @staticmethod
    def written(
        arxiv_id: str, length: int, held: int, index: str = "the index"
    ) -> VectorDimensionError:
        """A paper's stored vector is of another length than ``index`` holds: the
        embedding model changed to one of another length (the index holds the former
        model's vectors, and takes no other length). Says what makes them agree."""
        return VectorDimensionError(
            f"vector for {arxiv_id} has {length} dimensions, {index} has {held}: the "
            "embedding model now makes vectors of another length; `paperwire index "
            "--rebuild --clear` writes every paper again with this model's vectors"
        )


def _norm_key(value: str) -> str:
    return value.strip().lower()


def _selection_key(filters: SearchFilters) -> _SelectionKey:
    """``filters`` as ``filter_mask`` selects by them (every field), category and
    organisation normalised (``_norm_key``): ``cs.CL`` and ``cs.cl`` are one selection
    (and one copy of its rows, ``_Snapshot.int8_of``)."""
    fields = filters.model_dump()
    for name in ("category", "organization"):
        if fields[name] is not None:
            fields[name] = _norm_key(fields[name])
    return tuple(fields.items())


def _encode_strings(values: npt.NDArray[Any]) -> tuple[StrArray, IntArray]:
    """Dictionary-encode a string column: (sorted distinct values, int32 codes)."""
    if values.size == 0:
        return np.zeros(0, dtype=np.str_), np.zeros(0, dtype=np.int32)
    names, codes = np.unique(values.astype(np.str_), return_inverse=True)
    return names, codes.astype(np.int32).reshape(-1)


def _decode_strings(names: StrArray, codes: IntArray) -> npt.NDArray[Any]:
    if codes.size == 0:
        return np.zeros(0, dtype=object)
    return names.astype(object)[codes]


def _normalise_rows(matrix: npt.NDArray[Any]) -> Vector:
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(m / norms, dtype=np.float32)


def binary_codes(matrix: npt.NDArray[Any]) -> tuple[CodeArray, Vector]:
    """Sign bits of ``matrix - mean`` as ``(words, n)`` uint64 (column-major, so a scan
    reads each word of every row contiguously), and the mean vector."""
    n, dim = matrix.shape
    center = np.zeros(dim, dtype=np.float64)
    for start in range(0, n, _CODE_CHUNK):
        center += np.asarray(matrix[start : start + _CODE_CHUNK], dtype=np.float64).sum(axis=0)
    center32 = (center / max(n, 1)).astype(np.float32)
    words = (dim + 63) // 64
    codes = np.zeros((n, words * 8), dtype=np.uint8)
    for start in range(0, n, _CODE_CHUNK):
        block = np.asarray(matrix[start : start + _CODE_CHUNK], dtype=np.float32)
        bits = np.packbits(block > center32, axis=1)
        codes[start : start + bits.shape[0], : bits.shape[1]] = bits
    return np.ascontiguousarray(codes.view(np.uint64).T), center32


def _query_code(q: Vector, center: Vector, words: int) -> CodeArray:
    bits = np.zeros(words * 8, dtype=np.uint8)
    packed = np.packbits(q > center)
    bits[: packed.shape[0]] = packed
    return bits.view(np.uint64)


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """Set bits per uint64 (``np.bitwise_count`` from numpy 2.0, else a byte table)."""
    count = getattr(np, "bitwise_count", None)
    if count is not None:
        result: npt.NDArray[np.uint8] = count(words)
        return result
    per_byte = _POPCOUNT8[words.view(np.uint8)].reshape(*words.shape, 8)  # pragma: no cover
    summed: npt.NDArray[np.uint8] = per_byte.sum(axis=-1, dtype=np.uint8)  # pragma: no cover
    return summed  # pragma: no cover


_HAMMING_CHUNK = 1 << 15
"""Rows whose distances are worked out together: their XOR and bit counts (~1.8 MB for
384-bit codes) stay in the CPU's cache."""
_SHARED_GATHER_ROWS = 4096
"""Candidates from which a gather is shared between threads (``_gathered``)."""
_SHARED_SCAN_ROWS = 16_384
"""Rows from which a scan is shared between threads (``_scanned``)..."""
_SCAN_SLICE_ROWS = 4096
"""...in slices of this many rows at most (6 MB at 384 dimensions)."""
_CUT_SAMPLE_STEP = 16
"""One row in this many is sampled to guess where a candidate pass's cut lies."""


def hamming_distances(
    codes: CodeArray, qcode: CodeArray, threads: int = 1
) -> npt.NDArray[np.uint16]:
    """Every row's Hamming distance to ``qcode``, a chunk of rows at a time, the rows
    shared with up to ``threads - 1`` other threads (``SharedThreads.share``).

    Why chunks: a pass over all rows per word (XOR, count the bits, add) wrote and read
    each word's 1M intermediates through memory; chunk by chunk they stay in the cache
    (``docs/benchmarks.md``)."""
    n = codes.shape[1]
    dist = np.empty(n, dtype=np.uint16)
    _SHARED_SCANS.share(n, partial(_distances_into, dist, codes, qcode), threads, _HAMMING_CHUNK)
    return dist


def _distances_into(
    dist: npt.NDArray[np.uint16], codes: CodeArray, qcode: CodeArray, start: int, stop: int
) -> None:
    """``hamming_distances`` of rows ``start`` to ``stop``, written into ``dist``."""
    words = codes.shape[0]
    xor = np.empty((words, min(stop - start, _HAMMING_CHUNK)), dtype=np.uint64)
    q = qcode[:words, None]
    for first in range(start, stop, _HAMMING_CHUNK):
        last = min(stop, first + _HAMMING_CHUNK)
        block = xor[:, : last - first]
        np.bitwise_xor(codes[:, first:last], q, out=block)
        _popcount(block).sum(axis=0, dtype=np.uint16, out=dist[first:last])


def hamming_candidates(
    codes: CodeArray, qcode: CodeArray, count: int, mask: BoolArray | None, threads: int = 1
) -> npt.NDArray[np.intp]:
    """Rows (sorted) with the ``count`` smallest Hamming distances to ``qcode`` among the
    rows ``mask`` allows (all when None); ties at the cut are broken by row order.
    ``threads``: see ``hamming_distances``."""
    return nearest_rows(hamming_distances(codes, qcode, threads), count, mask)


def nearest_rows(
    dist: npt.NDArray[np.uint16], count: int, mask: BoolArray | None
) -> npt.NDArray[np.intp]:
    """The rows (sorted) with the ``count`` smallest ``dist`` among those ``mask``
    allows, ties at the cut broken by row order.

    Why a sample: a histogram of every row's distance (``np.bincount`` of 1M) was a
    fifth of the pass. The distances of every ``_CUT_SAMPLE_STEP``-th row say where
    ``count`` rows are reached, with room for the sample's error; one comparison keeps
    the rows up to there (a few more than ``count``) and their own histogram gives the
    exact cut. Where the sample guessed short, the room doubles: the answer is the same
    as the full histogram's whatever the sample."""
    n = dist.shape[0]
    selected = n if mask is None else int(np.count_nonzero(mask))
    if selected <= count:
        return np.arange(n, dtype=np.intp) if mask is None else np.flatnonzero(mask)
    sample = dist[::_CUT_SAMPLE_STEP]
    if mask is not None:
        sample = sample[mask[::_CUT_SAMPLE_STEP]]
    reached = np.cumsum(np.bincount(sample))  # sampled rows at each distance or less
    expected = count * sample.shape[0] / selected
    room = expected + 4.0 * math.sqrt(expected) + 8.0
    while True:
        ceiling = int(np.searchsorted(reached, room))
        if ceiling >= reached.shape[0]:
            ceiling = np.iinfo(np.uint16).max  # past the sample: every selected row
        kept = dist <= ceiling
        if mask is not None:
            kept &= mask
        rows = np.flatnonzero(kept)
        if rows.shape[0] >= count:
            break
        room *= 2.0
    near = dist[rows]
    cut = int(np.searchsorted(np.cumsum(np.bincount(near)), count))
    below = rows[near < cut]
    at_cut = rows[near == cut][: count - below.shape[0]]
    return np.sort(np.concatenate([below, at_cut]))


@dataclass(frozen=True)
class _Meta:
    """What the filters need for one row."""

    published: int  # date ordinal, 0 = unknown
    has_code: bool
    organization: str  # normalised, "" = none
    categories: tuple[str, ...]  # normalised
    fp: bytes  # IndexDoc.fingerprint()

    @staticmethod
    def of(doc: IndexDoc) -> _Meta:
        cats = tuple(sorted({_norm_key(c) for c in doc.categories if c.strip()}))
        return _Meta(
            published=doc.published.toordinal() if doc.published is not None else 0,
            has_code=bool(doc.has_code),
            organization=_norm_key(doc.organization) if doc.organization else "",
            categories=cats,
            fp=doc.fingerprint().encode(),
        )


@dataclass
class _Snapshot:
    """One committed generation; never mutated after construction except its caches."""

    matrix: Vector  # (n, dim) float32, L2-normalised, read-only (often memory-mapped)
    ids: StrArray
    published: IntArray
    has_code: BoolArray
    org_names: StrArray  # distinct organisations ("" = none)
    org_code: IntArray  # per row, index into org_names
    cat_row: IntArray  # flat: row of each (row, category) pair
    cat_names: StrArray  # distinct categories
    cat_code: IntArray  # flat: category of each pair, index into cat_names
    fp: FpArray  # per row, the document's fingerprint (b"" = written without one)
    vfp: FpArray  # per row, the vector's fingerprint
    stamp: Stamp | None = None
    generation: int = 0
    codes_path: Path | None = None  # persisted binary codes, loaded on first use
    row_of: dict[str, int] = field(init=False)
    _id_objects: npt.NDArray[np.object_] | None = field(init=False, default=None)
    _cat_cache: dict[str, IntArray] = field(init=False, default_factory=dict)
    _selections: dict[_SelectionKey, _Selection] = field(init=False, default_factory=dict)
    _selections_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _codes: tuple[CodeArray, Vector] | None = field(init=False, default=None)
    _int8: tuple[int, Future[Int8Copy | None]] | None = field(init=False, default=None)
    # The copies of kept selections' rows (``int8_of``), by the selection's key: the
    # process that built it and the build.
    _subsets: dict[_SelectionKey, _SubsetJob] = field(init=False, default_factory=dict)
    # Replaced by a newer generation: no copy is built for it any more (commits while
    # a server searches would otherwise queue a build per generation).
    retired: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.row_of = {str(i): r for r, i in enumerate(self.ids.tolist())}

    def id_objects(self) -> npt.NDArray[np.object_]:
        """``ids`` as the strings ``row_of`` holds (8 bytes a row more), made on first
        use: a range's members are listed from it (``vector_range_head``; 12,000 of
        74.7k ids in cache: 0.34 -> 0.11 ms; a walk's members, the bench's titles: p95
        3.77 -> 3.57 and 4.06 -> 3.90 ms). Made once a snapshot, by the first range
        whose members are listed (1M rows: 36 ms; 100,000 ids then listed in 2.7 ms
        where new strings took 10.4). Two threads may both make it: the same array."""
        if self._id_objects is None:
            self._id_objects = np.array(list(self.row_of), dtype=object)
        return self._id_objects

    @property
    def dim(self) -> int | None:
        return int(self.matrix.shape[1]) if self.matrix.shape[1] else None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @staticmethod
    def empty(dim: int | None) -> _Snapshot:
        return _Snapshot(
            matrix=np.zeros((0, dim or 0), dtype=np.float32),
            ids=np.zeros(0, dtype=np.str_),
            published=np.zeros(0, dtype=np.int32),
            has_code=np.zeros(0, dtype=np.bool_),
            org_names=np.zeros(0, dtype=np.str_),
            org_code=np.zeros(0, dtype=np.int32),
            cat_row=np.zeros(0, dtype=np.int32),
            cat_names=np.zeros(0, dtype=np.str_),
            cat_code=np.zeros(0, dtype=np.int32),
            fp=np.zeros(0, dtype="S16"),
            vfp=np.zeros(0, dtype="S16"),
        )

    @staticmethod
    def _code_of(names: StrArray, value: str) -> int | None:
        i = int(np.searchsorted(names, value))
        return i if i < names.shape[0] and str(names[i]) == value else None

    def codes(self) -> tuple[CodeArray, Vector]:
        """The binary codes and mean vector (loaded or computed once per snapshot)."""
        if self._codes is None:
            with _CODES_LOCK:
                if self._codes is None:
                    loaded = None
                    if self.codes_path is not None:
                        with (
                            contextlib.suppress(FileNotFoundError, KeyError, ValueError),
                            np.load(self.codes_path, allow_pickle=False) as z,
                        ):
                            loaded = (z["codes"], z["center"].astype(np.float32))
                    if loaded is None or loaded[0].shape[1] != len(self):
                        loaded = binary_codes(self.matrix)
                    self._codes = loaded
        return self._codes

    def int8(self, threads: int | None = None, wait: bool = False) -> Int8Copy | None:
        """The int8 copy of the matrix once it is built, else None. The first call
        starts building it on a background thread (a commit never makes the next search
        wait for it), its product on ``threads`` (None: every usable core); ``wait``:
        build it first. None too when it cannot be built."""
        job = self._int8
        if job is None or job[0] != os.getpid():  # a forked child builds its own
            if self.retired and not wait:
                return None
            with _INT8_LOCK:
                job = self._int8
                if job is None or job[0] != os.getpid():
                    if job is not None:
                        _INHERITED.append(job)
                    build = _PRESCAN_BUILDS.pool().submit(self._build_int8, threads)
                    job = self._int8 = (os.getpid(), build)
        future = job[1]
        return future.result() if wait or future.done() else None

    def int8_of(self, rows: npt.NDArray[np.intp], threads: int | None = None) -> Int8Copy | None:
        """The int8 copy of ``rows`` alone (``Int8Copy.subset``) once it is built, where
        they are a selection this snapshot keeps (``selection``) of a filter with no date
        range and among the first ``_KEPT_SUBSETS`` asked for; None elsewhere, while the
        whole copy or this one is being built (the first call starts it, on the builds'
        thread) or where it cannot be built. First come, kept for the generation's life:
        a crowd asking three categories in turn would otherwise rebuild a copy at every
        turn. A built copy is found without taking the lock."""
        kept = list(self._selections.items())
        key = next((k for k, s in kept if s.rows is rows and not s.dated), None)
        if key is None:
            # rows of a search's own (a selection less some ids: never again), or of a
            # date range (readers ask ranges of their own: the first would take a copy
            # a category, asked again and again, uses better)
            return None
        pid = os.getpid()
        job = self._subsets.get(key)
        if job is None or job.pid != pid:
            job = self._subset_job(key, rows, pid, threads)
            if job is None:
                return None
        return job.build.result() if job.build.done() else None

    def _subset_job(
        self, key: _SelectionKey, rows: npt.NDArray[np.intp], pid: int, threads: int | None
    ) -> _SubsetJob | None:
        """``int8_of``'s build for the selection ``key`` in this process, started here;
        None where none may start (the whole copy unbuilt, a replaced generation, the
        copies all taken)."""
        whole = self.int8(threads)
        if whole is None:
            return None
        with _INT8_LOCK:
            job = self._subsets.get(key)
            if job is not None and job.pid == pid:
                return job
            if self.retired or (job is None and len(self._subsets) >= _KEPT_SUBSETS):
                return None
            if job is not None:  # the parent's: never dropped (as ``int8``'s)
                _INHERITED.append(job)
            build = _PRESCAN_BUILDS.pool().submit(self._build_subset, whole, rows, threads)
            job = self._subsets[key] = _SubsetJob(pid, build)
            return job

    def _build_subset(
        self, whole: Int8Copy, rows: npt.NDArray[np.intp], threads: int | None
    ) -> Int8Copy | None:
        if self.retired:
            return None
        try:
            return whole.subset(rows, threads)
        except Exception:  # onnxruntime raises its own types; the whole copy still bounds
            log.warning("vector index: no int8 copy of a filter's rows", exc_info=True)
            return None

    def _build_int8(self, threads: int | None) -> Int8Copy | None:
        if self.retired:  # replaced while the build waited its turn
            return None
        try:
            return Int8Copy.build(self.matrix, threads)
        except Exception:  # onnxruntime raises its own types; the full scan still works
            log.warning("vector index: no int8 pre-scan, every search scans in fp32", exc_info=True)
            return None

    def rows_in_category(self, category: str) -> IntArray:
        rows = self._cat_cache.get(category)
        if rows is None:
            code = self._code_of(self.cat_names, category)
            rows = self.cat_row[self.cat_code == code] if code is not None else self.cat_row[:0]
            self._cat_cache[category] = rows
        return rows

    def selection(self, filters: SearchFilters) -> _Selection | None:
        """The rows that pass ``filters`` and their mask (read-only); None when there is
        no filter. Kept for the last ``_KEPT_SELECTIONS`` filters asked: a crowd asks a
        few (a category, this week) again and again, and at 1M papers each took ~2.5 ms
        to build (a mask, then its rows), twice in a search whose head falls back to the
        range. Each holds 1 byte a row and 8 a selected row (at most 9 MB at 1M)."""
        key = _selection_key(filters)
        kept = self._selections.get(key)
        if kept is not None:
            return kept
        mask = self.filter_mask(filters)
        if mask is None:
            return None
        rows = np.flatnonzero(mask)
        mask.flags.writeable = False
        rows.flags.writeable = False
        kept = _Selection(mask, rows, filters.dated())
        with self._selections_lock:  # searches of several requests share the snapshot
            while len(self._selections) >= _KEPT_SELECTIONS:  # the oldest goes first
                self._selections.pop(next(iter(self._selections)))
            self._selections[key] = kept
        return kept

    def filter_mask(self, filters: SearchFilters) -> BoolArray | None:
        """Rows that pass ``filters`` (a new array); None when there is no filter."""
        n = len(self)
        mask: BoolArray | None = None

        def narrow(m: BoolArray) -> None:
            nonlocal mask
            mask = m if mask is None else (mask & m)

        if filters.dated():
            pub = self.published
            m = pub > 0  # papers without a date never pass a date filter
            if filters.date_from is not None:
                m &= pub >= filters.date_from.toordinal()
            if filters.date_to is not None:
                m &= pub <= filters.date_to.toordinal()
            narrow(m)
        if filters.category is not None:
            m = np.zeros(n, dtype=np.bool_)
            m[self.rows_in_category(_norm_key(filters.category))] = True
            narrow(m)
        if filters.organization is not None:
            value = _norm_key(filters.organization)
            code = self._code_of(self.org_names, value) if value else None
            if code is None:
                narrow(np.zeros(n, dtype=np.bool_))
            else:
                narrow(self.org_code == code)
        if filters.has_code is not None:
            narrow(self.has_code == bool(filters.has_code))
        return mask


def _gathers(snap: _Snapshot, rows: npt.NDArray[np.intp]) -> bool:
    """Whether scoring ``rows`` alone (a gather, then a product) beats one full scan."""
    return rows.size <= _GATHER_MAX_FRACTION * len(snap)


def _runs(rows: npt.NDArray[np.intp]) -> list[tuple[int, int]] | None:
    """``(first, last)`` of each run of rows that step by one in ``rows``, in order, when
    the runs average at least ``_RUN_ROWS`` rows; None otherwise."""
    if rows.size < _RUN_ROWS:
        return None
    starts = np.flatnonzero(np.diff(rows) != 1) + 1
    if (starts.size + 1) * _RUN_ROWS > rows.size:
        return None
    first = rows[np.concatenate(([0], starts))].tolist()
    last = rows[np.concatenate((starts - 1, [rows.size - 1]))].tolist()
    return list(zip(first, last, strict=True))


def _gathered(
    snap: _Snapshot, rows: npt.NDArray[np.intp], q: Vector, threads: int = 1
) -> npt.NDArray[np.float32]:
    """The cosines of ``rows`` alone (a search's candidates), in their order; from
    ``_SHARED_GATHER_ROWS`` rows on, shared with up to ``threads - 1`` other threads
    (``SharedThreads.share``: 1M, 8,000 candidates: 5.1 → 3.3 ms on two).

    The rows are copied out with ``np.take`` (the same copy as ``matrix[rows]``, fancy
    indexing, but faster) and each row's product is computed on its own (``einsum``'s
    loop over a row), so a row scores the same bits whichever rows it is gathered with: a
    search's candidates change with its ``k`` or head (a deeper page), and copies of one
    vector must keep their order from page to page. BLAS's product of a gathered block
    computes its last rows with another kernel (a row's last bit changed in 259 of 300
    trials when the block's length or offset did). ~4,000 of 74.7k rows: 1.57 ms p50,
    against 1.79 for fancy indexing and BLAS (docs/benchmarks.md). Shared between
    threads, each row is still worked out on its own: the same bits."""
    scores = np.empty(rows.shape[0], dtype=np.float32)

    def part(start: int, stop: int) -> None:
        block = np.take(snap.matrix, rows[start:stop], axis=0)
        np.einsum("ij,j->i", block, q, out=scores[start:stop])

    shared = threads if rows.shape[0] >= _SHARED_GATHER_ROWS else 1
    _SHARED_SCANS.share(rows.shape[0], part, shared, _SHARED_GATHER_ROWS // 2)
    return scores


def _candidate_scores(
    snap: _Snapshot, q: Vector, rows: npt.NDArray[np.intp], threads: int
) -> npt.NDArray[np.float32]:
    """The cosines of candidate ``rows``: gathered (``_gathered``), or read off one full
    scan where there are too many to gather."""
    if _gathers(snap, rows):
        return _gathered(snap, rows, q)
    return _scanned(snap, [(0, len(snap) - 1)], q, threads)[rows]


def _scanned(
    snap: _Snapshot, runs: list[tuple[int, int]], q: Vector, threads: int
) -> npt.NDArray[np.float32]:
    """The cosines of the rows of ``runs`` (``(first, last)`` row pairs: the whole
    matrix, or a date filter's rows as ``_runs`` finds them), read slice by slice as a
    scan reads them, in their order.

    From ``_SHARED_SCAN_ROWS`` rows the slices are shared with up to ``threads - 1``
    other threads (``SharedThreads.share``), each row's product worked out on its own
    (``einsum``, as ``_gathered`` does) instead of one BLAS product. Why: OpenBLAS's
    threads spin for a while after every product it splits, and took the other core
    from whatever ran next (1M papers: the next search's candidate pass 29.5–30.1 →
    17.0–18.0 ms p50; a date filter's scan itself 6.7–7.0 → 5.5–5.8). Below, one BLAS
    product per slice: a serving process runs BLAS on the calling thread
    (``single_thread_blas``). A date filter's ~43k rows at 1M lie in 13 runs (22–25 →
    7 ms where they were gathered like scattered rows)."""
    sizes = [b - a + 1 for a, b in runs]
    total = sum(sizes)
    if total < _SHARED_SCAN_ROWS or threads <= 1:
        return np.concatenate([np.asarray(snap.matrix[a : b + 1] @ q) for a, b in runs])
    out = np.empty(total, dtype=np.float32)
    # (first row in the matrix, first place in ``out``, rows) of each slice of
    # ``_SCAN_SLICE_ROWS`` rows at most: spans of slices go to the threads
    pieces: list[tuple[int, int, int]] = []
    at = 0
    for (a, _), size in zip(runs, sizes, strict=True):
        for offset in range(0, size, _SCAN_SLICE_ROWS):
            pieces.append((a + offset, at + offset, min(_SCAN_SLICE_ROWS, size - offset)))
        at += size

    def part(start: int, stop: int) -> None:
        for row, place, size in pieces[start:stop]:
            block = snap.matrix[row : row + size]
            np.einsum("ij,j->i", block, q, out=out[place : place + size])

    _SHARED_SCANS.share(len(pieces), part, threads, 1)
    return out


def _same_as_row(base: _Snapshot, row: int, p: _Pending) -> bool:
    """Whether ``p`` would leave ``row`` as it is (equal fingerprints)."""
    if not base.fp[row] or base.fp[row] != p.meta.fp:
        return False
    return p.vector is None or (bool(p.vfp) and base.vfp[row] == p.vfp)


@dataclass
class _Pending:
    vector: Vector | None  # None: update metadata only, if the id already has a vector
    meta: _Meta
    vfp: bytes = b""  # IndexDoc.vector_fingerprint() of ``vector``


class NumpyVectorIndex:
    """Exact cosine search over the vectors stored in ``path``.

    ``dim`` is checked against every vector and the stored files; None infers it from
    the files or the first vector. Upserts and deletes are buffered and applied by
    :meth:`commit` (one concatenation per commit, not one copy per document).
    """

    def __init__(self, path: Path, dim: int | None = None, threads: int | None = None) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._configured_dim = dim
        # the int8 pre-scan's and the candidate pass's (``Settings.embedding_threads``)
        self._threads = threads
        self._lock = threading.RLock()
        self._pending: dict[str, _Pending | None] = {}  # None: delete
        self._current = self._load()
        self._check_dim(self._snap.dim)

    def _coarse(
        self, snap: _Snapshot, q: Vector, count: int, mask: BoolArray | None
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """The binary-code candidate pass: the ``count`` rows nearest ``q`` by code
        (``hamming_candidates``) and their exact cosines (``_gathered``), both shared
        with up to ``Settings.embedding_threads`` threads (default: every usable core)."""
        threads = self._scan_threads
        codes, center = snap.codes()
        qcode = _query_code(q, center, codes.shape[0])
        rows = hamming_candidates(codes, qcode, count, mask, threads)
        return rows, _gathered(snap, rows, q, threads)

    @property
    def _scan_threads(self) -> int:
        """Threads a search's scans share (``Settings.embedding_threads``, default: every
        usable core)."""
        return self._threads or usable_cores()

    @property
    def _snap(self) -> _Snapshot:
        """The current generation (searches read it once, for a consistent answer)."""
        return self._current

    @_snap.setter
    def _snap(self, snap: _Snapshot) -> None:
        if snap is not self._current:
            self._current.retired = True
        self._current = snap

    # ------------------------------------------------------------------ files

    def _check_dim(self, dim: int | None) -> None:
        if dim is not None and self._configured_dim is not None and dim != self._configured_dim:
            raise VectorIndexError(
                f"vectors in {self.path} have {dim} dimensions but the embedding model "
                f"has {self._configured_dim}; re-embed with `paperwire index --rebuild`"
            )

    @property
    def dim(self) -> int | None:
        return self._snap.dim or self._configured_dim

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(self.path / _LOCK, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _load(self) -> _Snapshot:
        manifest_path = self.path / _MANIFEST
        for _attempt in range(5):
            stamp = file_stamp(manifest_path)
            if stamp is None:
                snap = _Snapshot.empty(self._configured_dim)
                return snap
            try:
                manifest = json.loads(manifest_path.read_text())
                if manifest.get("format") != _FORMAT:
                    raise VectorIndexError(
                        f"{manifest_path}: unknown format {manifest.get('format')!r}; "
                        f"run `paperwire index --rebuild`"
                    )
                matrix = np.load(self.path / manifest["vectors"], mmap_mode="r")
                with np.load(self.path / manifest["meta"], allow_pickle=False) as meta:
                    arrays = {name: meta[name] for name in meta.files}
            except (FileNotFoundError, json.JSONDecodeError):
                # A concurrent commit replaced the generation between our reads.
                continue
            snap = _Snapshot(
                matrix=np.asarray(matrix),
                ids=arrays["ids"],
                published=arrays["published"].astype(np.int32, copy=False),
                has_code=arrays["has_code"].astype(np.bool_, copy=False),
                org_names=arrays["org_names"],
                org_code=arrays["org_code"].astype(np.int32, copy=False),
                cat_row=arrays["cat_row"].astype(np.int32, copy=False),
                cat_names=arrays["cat_names"],
                cat_code=arrays["cat_code"].astype(np.int32, copy=False),
                fp=arrays.get("fp", np.zeros(len(arrays["ids"]), dtype="S16")),
                vfp=arrays.get("vfp", np.zeros(len(arrays["ids"]), dtype="S16")),
                stamp=stamp,
                generation=int(manifest["generation"]),
                codes_path=self.path / manifest["codes"] if manifest.get("codes") else None,
            )
            if snap.matrix.shape[0] != len(snap):
                raise VectorIndexError(f"{self.path}: vectors and metadata disagree")
            return snap
        raise VectorIndexError(f"{self.path}: files kept changing while loading")

    def _write(self, snap: _Snapshot) -> _Snapshot:
        """Persist ``snap`` as the next generation (caller holds the file lock)."""
        generation = snap.generation
        vec_name = f"vectors-{generation:08d}.npy"
        meta_name = f"meta-{generation:08d}.npz"
        tmp = f".tmp-{os.getpid()}"

        vec_tmp = self.path / (vec_name + tmp)
        with open(vec_tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(snap.matrix, dtype=np.float32))
            fh.flush()
            os.fsync(fh.fileno())
        meta_tmp = self.path / (meta_name + tmp)
        with open(meta_tmp, "wb") as fh:
            np.savez(
                fh,
                ids=snap.ids,
                published=snap.published,
                has_code=snap.has_code,
                org_names=snap.org_names,
                org_code=snap.org_code,
                cat_row=snap.cat_row,
                cat_names=snap.cat_names,
                cat_code=snap.cat_code,
                fp=snap.fp,
                vfp=snap.vfp,
            )
            fh.flush()
            os.fsync(fh.fileno())
        codes_name = None
        if len(snap) >= COARSE_MIN_ROWS:
            codes_name = f"codes-{generation:08d}.npz"
            codes, center = binary_codes(snap.matrix)
            codes_tmp = self.path / (codes_name + tmp)
            with open(codes_tmp, "wb") as fh:
                np.savez(fh, codes=codes, center=center)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(codes_tmp, self.path / codes_name)
        os.replace(vec_tmp, self.path / vec_name)
        os.replace(meta_tmp, self.path / meta_name)

        manifest = {
            "format": _FORMAT,
            "generation": generation,
            "dim": snap.dim,
            "count": len(snap),
            "vectors": vec_name,
            "meta": meta_name,
        }
        if codes_name is not None:
            manifest["codes"] = codes_name
        man_tmp = self.path / (_MANIFEST + tmp)
        man_tmp.write_text(json.dumps(manifest))
        os.replace(man_tmp, self.path / _MANIFEST)

        keep = {vec_name, meta_name, codes_name, _MANIFEST, _LOCK}
        for p in self.path.iterdir():
            is_old = p.name.startswith(("vectors-", "meta-", "codes-", _MANIFEST + ".tmp-"))
            if is_old and p.name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
        # Reopen memory-mapped, so a big matrix does not also stay on the heap.
        return self._load()

    # ------------------------------------------------------------------ writing

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        with self._lock:
            for doc in docs:
                meta = _Meta.of(doc)
                if doc.vector is None:
                    if doc.arxiv_id in self._pending:
                        prev = self._pending[doc.arxiv_id]
                        if prev is None:
                            continue  # deleted in this batch: it has no vector any more
                        self._pending[doc.arxiv_id] = _Pending(prev.vector, meta, prev.vfp)
                    else:
                        self._pending[doc.arxiv_id] = _Pending(None, meta)
                    continue
                v = np.array(doc.vector, dtype=np.float32).reshape(-1)  # own copy
                dim = self.dim
                if dim is None:
                    dim = self._pending_dim()
                if dim is not None and v.shape[0] != dim:
                    raise VectorDimensionError.written(doc.arxiv_id, v.shape[0], dim)
                vfp = (doc.vector_fingerprint() or "").encode()
                self._pending[doc.arxiv_id] = _Pending(v, meta, vfp)

    def _pending_dim(self) -> int | None:
        for p in self._pending.values():
            if p is not None and p.vector is not None:
                return int(p.vector.shape[0])
        return None

    def delete(self, arxiv_ids: Sequence[str]) -> None:
        with self._lock:
            for arxiv_id in arxiv_ids:
                self._pending[arxiv_id] = None

    def commit(self) -> None:
        with self._lock:
            if not self._pending:
                self.refresh()
                return
            with self._file_lock():
                base = self._snap
                if file_stamp(self.path / _MANIFEST) != base.stamp:
                    base = self._load()  # another process committed meanwhile
                new = self._apply(base, self._pending)
                if new is not base:
                    self._check_dim(new.dim)
                    new.generation = base.generation + 1
                    self._snap = self._write(new)
                else:
                    self._snap = base
            self._pending = {}

    @staticmethod
    def _apply(base: _Snapshot, pending: dict[str, _Pending | None]) -> _Snapshot:
        """``base`` with ``pending`` applied: O(n) once per commit, whatever the batch."""
        n = len(base)
        keep = np.ones(n, dtype=np.bool_)
        changed = np.zeros(n, dtype=np.bool_)
        updates: list[tuple[int, _Pending]] = []
        appends: list[tuple[str, _Pending]] = []
        for arxiv_id, p in pending.items():
            row = base.row_of.get(arxiv_id)
            if p is None:
                if row is not None:
                    keep[row] = False
                    changed[row] = True
            elif row is not None:
                if _same_as_row(base, row, p):
                    continue
                updates.append((row, p))
                changed[row] = True
            elif p.vector is not None:
                appends.append((arxiv_id, p))
            # else: metadata of an id that has no vector: nothing to keep
        if not changed.any() and not appends:
            return base

        matrix: npt.NDArray[np.float32] = base.matrix
        published = base.published.astype(np.int32)  # copies
        has_code = base.has_code.astype(np.bool_, copy=True)
        organization = _decode_strings(base.org_names, base.org_code)
        fp, vfp = base.fp.astype("S16"), base.vfp.astype("S16")  # copies
        if any(p.vector is not None for _, p in updates):
            matrix = np.array(matrix, dtype=np.float32)  # writable copy
        for row, p in updates:
            if p.vector is not None:
                matrix[row] = _normalise_rows(p.vector.reshape(1, -1))[0]
                vfp[row] = p.vfp
            fp[row] = p.meta.fp
            published[row] = p.meta.published
            has_code[row] = p.meta.has_code
            organization[row] = p.meta.organization

        # Category pairs: drop those of changed rows, add back those of updated rows.
        pair_keep = ~changed[base.cat_row]
        cat_rows: list[int] = [row for row, p in updates for _ in p.meta.categories]
        cat_values: list[str] = [c for _, p in updates for c in p.meta.categories]
        cat_row = np.concatenate([base.cat_row[pair_keep], np.asarray(cat_rows, np.int32)])
        cat_value = np.concatenate(
            [
                _decode_strings(base.cat_names, base.cat_code[pair_keep]),
                np.asarray(cat_values, dtype=object),
            ]
        )

        # Compact deleted rows and renumber the pairs (deleted rows have no pairs left).
        if not keep.all():
            new_index = (np.cumsum(keep) - 1).astype(np.int32)
            cat_row = new_index[cat_row]
            matrix = np.asarray(matrix)[keep]
            published, has_code, organization = published[keep], has_code[keep], organization[keep]
            fp, vfp = fp[keep], vfp[keep]
        ids = base.ids[keep].astype(object)

        if appends:
            first = int(keep.sum())
            vectors = [p.vector for _, p in appends if p.vector is not None]
            new_vectors = _normalise_rows(np.stack(vectors))
            matrix = np.concatenate([matrix, new_vectors]) if matrix.shape[0] else new_vectors
            ids = np.concatenate([ids, np.asarray([i for i, _ in appends], dtype=object)])
            metas = [p.meta for _, p in appends]
            published = np.concatenate(
                [published, np.asarray([m.published for m in metas], np.int32)]
            )
            has_code = np.concatenate([has_code, np.asarray([m.has_code for m in metas], np.bool_)])
            organization = np.concatenate(
                [organization, np.asarray([m.organization for m in metas], dtype=object)]
            )
            fp = np.concatenate([fp, np.asarray([m.fp for m in metas], dtype="S16")])
            vfp = np.concatenate([vfp, np.asarray([p.vfp for _, p in appends], dtype="S16")])
            app_rows = [first + i for i, m in enumerate(metas) for _ in m.categories]
            app_values = [c for m in metas for c in m.categories]
            cat_row = np.concatenate([cat_row, np.asarray(app_rows, np.int32)])
            cat_value = np.concatenate([cat_value, np.asarray(app_values, dtype=object)])

        org_names, org_code = _encode_strings(organization)
        cat_names, cat_code = _encode_strings(cat_value)
        return _Snapshot(
            matrix=matrix,
            ids=ids.astype(np.str_),
            published=published,
            has_code=has_code,
            org_names=org_names,
            org_code=org_code,
            cat_row=cat_row.astype(np.int32),
            cat_names=cat_names,
            cat_code=cat_code,
            fp=fp,
            vfp=vfp,
            generation=base.generation,
        )

    def clear(self) -> None:
        """Drop every vector and any pending change; durable immediately."""
        with self._lock, self._file_lock():
            empty = _Snapshot.empty(self._configured_dim)
            empty.generation = max(self._snap.generation, self._disk_generation()) + 1
            self._pending = {}
            self._snap = self._write(empty)

    @staticmethod
    def committed_count(path: Path) -> int | None:
        """How many vectors the index in ``path`` holds, as its manifest on disk says
        (nothing loaded); None where there is no readable manifest."""
        try:
            return int(json.loads((Path(path) / _MANIFEST).read_text())["count"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def data_files(self) -> list[Path]:
        """The committed generation's matrix, which searches read rows of (mapped), as
        the manifest on disk names it now (another process's commit counts at once)."""
        try:
            manifest = json.loads((self.path / _MANIFEST).read_text())
            return [self.path / str(manifest["vectors"])]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def warm(self) -> None:
        """Build the current generation's int8 copy or binary codes (whichever its
        searches use) now instead of on first use."""
        snap = self._snap
        if len(snap) >= COARSE_MIN_ROWS:
            snap.codes()
        elif len(snap) >= PRESCAN_MIN_ROWS:
            snap.int8(self._threads, wait=True)

    def _disk_generation(self) -> int:
        try:
            return int(json.loads((self.path / _MANIFEST).read_text())["generation"])
        except (FileNotFoundError, json.JSONDecodeError, KeyError, ValueError):
            return 0

    def rollback(self) -> None:
        """Discard uncommitted changes."""
        with self._lock:
            self._pending = {}

    def close(self) -> None:
        """Discard uncommitted changes and release the memory map."""
        with self._lock:
            self._pending = {}
            self._snap = _Snapshot.empty(self._configured_dim)
            self._snap.stamp = None  # the next refresh() reloads from disk

    # ------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Reload if another process committed (manifest changed on disk)."""
        with self._lock:
            if file_stamp(self.path / _MANIFEST) != self._snap.stamp:
                self._snap = self._load()

    def count(self) -> int:
        return len(self._snap)

    def fingerprints(self) -> dict[str, str]:
        """Every committed row's id and ``"<fp>:<vfp>"`` (see ``IndexInventory``)."""
        snap = self._snap
        return {
            str(i): f"{f.decode()}:{v.decode()}" if f else ""
            for i, f, v in zip(snap.ids.tolist(), snap.fp.tolist(), snap.vfp.tolist(), strict=True)
        }

    def __contains__(self, arxiv_id: object) -> bool:
        return arxiv_id in self._snap.row_of

    def vector_of(self, arxiv_id: str) -> Vector | None:
        snap = self._snap
        row = snap.row_of.get(arxiv_id)
        if row is None:
            return None
        return np.array(snap.matrix[row], dtype=np.float32)

    def cosines_of(self, vector: Vector, arxiv_ids: Sequence[str]) -> dict[str, float]:
        """The cosine of ``vector`` to each of ``arxiv_ids`` that has a row: one gather
        and one product (a phrase's holders, thousands of them, are scored per query)."""
        snap = self._snap
        rows = [r for r in (snap.row_of.get(i) for i in dict.fromkeys(arxiv_ids)) if r is not None]
        if not rows:
            return {}
        prepared = self._prepare(snap, vector, SearchFilters(), ())
        if prepared is None:
            return {}
        picked = np.asarray(rows, dtype=np.intp)
        scores = _gathered(snap, picked, prepared[0])
        return dict(zip(snap.ids[picked].tolist(), scores.tolist(), strict=True))

    def _prepare(
        self, snap: _Snapshot, vector: Vector, filters: SearchFilters, exclude: Sequence[str]
    ) -> _Prepared | None:
        """The unit query vector, the selected rows (None: all) and their mask; None when
        nothing can match (empty selection, zero or non-finite query)."""
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != snap.matrix.shape[1]:
            raise VectorDimensionError(
                f"query vector has {q.shape[0]} dimensions, the index has {snap.matrix.shape[1]}"
            )
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or norm == 0.0:
            return None
        q = q / norm
        excluded = [r for r in (snap.row_of.get(i) for i in exclude) if r is not None]
        selection = snap.selection(filters)
        if not excluded:
            if selection is None:
                return q, None, None
            return (q, selection.rows, selection.mask) if selection.rows.size else None
        mask = np.ones(len(snap), dtype=np.bool_) if selection is None else selection.mask.copy()
        mask[excluded] = False
        rows = np.flatnonzero(mask)
        return (q, rows, mask) if rows.size else None

    def _exact_scores(
        self, snap: _Snapshot, q: Vector, rows: npt.NDArray[np.intp] | None
    ) -> npt.NDArray[np.float32]:
        """Cosines of the selected rows (all rows when ``rows`` is None), in row order."""
        whole = [(0, len(snap) - 1)]
        if rows is None:
            return _scanned(snap, whole, q, self._scan_threads)
        runs = _runs(rows)
        if runs is not None:  # a date filter's
            return _scanned(snap, runs, q, self._scan_threads)
        if _gathers(snap, rows):
            return _gathered(snap, rows, q)  # filter first: only selected rows
        return _scanned(snap, whole, q, self._scan_threads)[rows]

    def _int8_bounds(
        self, snap: _Snapshot, q: Vector, rows: npt.NDArray[np.intp] | None
    ) -> _Bounds | None:
        """The selected rows' cosine bounds from an int8 copy, where they pay
        (``_int8_copy``); None elsewhere or while the copy is being built."""
        found = self._int8_copy(snap, rows)
        if found is None:
            return None
        copy, bounded = found
        return _Bounds(*copy.bounds(q), bounded)

    def _int8_copy(
        self, snap: _Snapshot, rows: npt.NDArray[np.intp] | None
    ) -> tuple[Int8Copy, npt.NDArray[np.intp] | None] | None:
        """The int8 copy where its bounds pay, and the rows it bounds (None: every row):
        an index of ``PRESCAN_MIN_ROWS`` to ``COARSE_MIN_ROWS`` rows and a selection too
        large to gather; the copy of the selection's rows alone where it holds at most
        ``_SUBSET_MAX_FRACTION`` of them (``_Snapshot.int8_of``) and that copy is built.
        None elsewhere or while the whole copy is being built."""
        if not PRESCAN_MIN_ROWS <= len(snap) < COARSE_MIN_ROWS:
            return None
        if rows is not None and _gathers(snap, rows):
            return None
        if rows is not None and rows.size <= _SUBSET_MAX_FRACTION * len(snap):
            subset = snap.int8_of(rows, self._threads)
            if subset is not None:
                return subset, rows
        copy = snap.int8(self._threads)
        return None if copy is None else (copy, None)

    @staticmethod
    def _ranked(
        snap: _Snapshot,
        rows: npt.NDArray[np.intp] | None,
        scores: npt.NDArray[np.float32],
        k: int,
    ) -> Ranked:
        """The best ``k`` of ``scores`` (``rows[i]`` is the row of ``scores[i]``)."""
        n = scores.shape[0]
        kk = min(k, n)
        if kk <= 0:
            return Ranked()
        # Best first, equal scores in row order (``rows`` ascend), whichever rows were
        # scored. (The fp32 product of a gathered row may differ from the full scan's in
        # the last bit, so rows a bit apart, such as copies of one vector, can still
        # trade places between the two paths.)
        if kk < n:
            top = np.flatnonzero(scores >= np.partition(scores, n - kk)[n - kk])
        else:
            top = np.arange(n)
        top = top[np.argsort(-scores[top], kind="stable")][:kk]
        picked = top if rows is None else rows[top]
        # ``tolist`` gives Python ``str`` and ``float`` already: no second pass over up
        # to ``semantic_bound`` of them (~0.4 ms of a 74.7k semantic search).
        ids: list[str] = snap.ids[picked].tolist()
        return Ranked(ids=ids, scores=scores[top].tolist())

    def vector_search(
        self, vector: Vector, filters: SearchFilters, k: int, exclude: Sequence[str] = ()
    ) -> Ranked:
        snap = self._snap  # one consistent generation for the whole search
        if k <= 0 or len(snap) == 0:
            return Ranked()
        prepared = self._prepare(snap, vector, filters, exclude)
        return Ranked() if prepared is None else self._best(snap, prepared, k)

    def vector_search_many(
        self, vectors: Sequence[Vector], filters: SearchFilters, k: int
    ) -> list[Ranked]:
        """``vector_search`` of each of ``vectors``, the same answers; where the int8
        copy bounds the cosines, one product bounds them for all the queries
        (``Int8Copy.bounds_many``: the codes are read once per group of queries)."""
        snap = self._snap
        if k <= 0 or len(snap) == 0:
            return [Ranked() for _ in vectors]
        prepared = [self._prepare(snap, v, filters, ()) for v in vectors]
        live = [p for p in prepared if p is not None]
        # The queries share their filters, hence their rows: one copy serves them all.
        copy = self._int8_copy(snap, live[0][1]) if live else None
        if copy is None:
            found = iter([self._best(snap, p, k) for p in live])
        else:
            bounds = copy[0].bounds_many([q for q, _, _ in live])
            found = iter(
                [
                    self._from_bounds(snap, p, k, _Bounds(*b, copy[1]))
                    for p, b in zip(live, bounds, strict=True)
                ]
            )
        return [Ranked() if p is None else next(found) for p in prepared]

    def _best(self, snap: _Snapshot, prepared: _Prepared, k: int) -> Ranked:
        """The best ``k`` of the selected rows for a prepared query (``_prepare``)."""
        q, rows, mask = prepared
        selected = len(snap) if rows is None else rows.size
        candidates = max(COARSE_CANDIDATES, COARSE_PER_RESULT * k)
        if selected >= COARSE_MIN_ROWS and candidates < selected:
            # Large scan: binary codes pick the candidates, fp32 scores them exactly.
            return self._ranked(snap, *self._coarse(snap, q, candidates, mask), k)
        return self._from_bounds(snap, prepared, k, self._int8_bounds(snap, q, rows))

    def _from_bounds(
        self, snap: _Snapshot, prepared: _Prepared, k: int, bounds: _Bounds | None
    ) -> Ranked:
        """``_best`` below the binary codes' size: the rows the int8 ``bounds`` leave
        scored in fp32 when few enough to gather, else every selected row."""
        q, rows, mask = prepared
        if bounds is not None:
            picked = top_candidates(bounds.approx, bounds.slack, k, bounds.mask(mask))
            near = bounds.rows_of(picked)
            if _gathers(snap, near):
                return self._ranked(snap, near, _gathered(snap, near, q), k)
        return self._ranked(snap, rows, self._exact_scores(snap, q, rows), k)

    def vector_range_head(
        self,
        vector: Vector,
        filters: SearchFilters,
        min_score: float,
        limit: int,
        head: int,
        members: bool = False,
    ) -> RangeHead:
        """``vector_range``'s first ``head`` rows (``limit`` at most) and its length
        (and, asked for, all its ids where it holds fewer than ``limit``). Where an int8
        copy bounds the cosines, only the rows that can be among the head above the
        floor and those whose bounds straddle the floor are scored in fp32: a row whose
        lower bound reaches the floor is counted (and listed) as it is (74.7k, the best
        4,001 above the floor: ~4,000 rows scored → ~1,000). A ``head`` of 0 scores only
        the straddling rows (a newest / most upvoted walk's members). Elsewhere
        ``vector_range``'s rows, cut to the head; with a head of 0, listed as they are
        where the limit does not cut them (a walk's set needs no order)."""
        snap = self._snap
        prepared = None
        if limit > 0 and len(snap) > 0:
            prepared = self._prepare(snap, vector, filters, ())
        bounds = None if prepared is None else self._int8_bounds(snap, *prepared[:2])
        if prepared is None or bounds is None:
            found: Ranked | _Passing = Ranked()
            if prepared is not None:
                found = self._in_range(snap, prepared, min_score, limit)
            if isinstance(found, _Passing):
                if head == 0 and members and found.rows.shape[0] < limit:
                    # a walk's set, in no order: not ranked (1M papers, ~50,000 members:
                    # ~11 ms p50 of a hybrid newest search sorted them)
                    return RangeHead(Ranked(), found.rows.shape[0], self._ids_of(snap, found.rows))
                found = self._ranked(snap, found.rows, found.scores, limit)
            return RangeHead.of(found, head, limit, members)
        q, _, mask = prepared
        approx, slack, _ = bounds
        k = min(head, limit)
        best = Ranked()
        if k > 0:
            reach = range_candidates(approx, slack, min_score, k, bounds.mask(mask))
            near = bounds.rows_of(reach)
            scores = _candidate_scores(snap, q, near, self._scan_threads)
            passing = np.flatnonzero(scores >= min_score)
            best = self._ranked(snap, near[passing], scores[passing], k)
        sure, straddle = floor_split(approx, slack, min_score, bounds.mask(mask))
        count = int(np.count_nonzero(sure))
        if count < limit:
            straddling = bounds.rows_of(straddle)
            straddlers = _candidate_scores(snap, q, straddling, self._scan_threads)
            passed = straddling[straddlers >= min_score]
            count += passed.shape[0]
        if count >= limit and k == 0:  # no head, cut: the best ``limit`` ranked instead
            ranked = self._bounded_range(snap, q, bounds, mask, min_score, limit)
            if ranked is None:  # too many to gather: the full scan decides
                ranked = self._ranked(snap, *self._scanned_range(snap, prepared, min_score), limit)
            return RangeHead.of(ranked, 0, limit, members)
        if count >= limit or not members:
            return RangeHead(best, min(count, limit), None)
        rows = np.concatenate([bounds.rows_of(np.flatnonzero(sure)), passed])
        return RangeHead(best, count, self._ids_of(snap, rows))

    @staticmethod
    def _ids_of(snap: _Snapshot, rows: npt.NDArray[np.intp]) -> list[str]:
        """The ids of ``rows``, in their order, from the strings kept
        (``_Snapshot.id_objects``): a range's members."""
        listed: list[str] = snap.id_objects()[rows].tolist()
        return listed

    def _bounded_range(
        self,
        snap: _Snapshot,
        q: Vector,
        bounds: _Bounds,
        mask: BoolArray | None,
        min_score: float,
        limit: int,
    ) -> Ranked | None:
        """``vector_range`` from the int8 bounds: the rows whose bound reaches the best
        ``limit`` above the floor, scored and ranked; None where they are too many to
        gather (the full scan is the cheaper)."""
        approx, slack, _ = bounds
        near = bounds.rows_of(range_candidates(approx, slack, min_score, limit, bounds.mask(mask)))
        if not _gathers(snap, near):
            return None
        scores = _gathered(snap, near, q)
        passing = np.flatnonzero(scores >= min_score)
        return self._ranked(snap, near[passing], scores[passing], limit)

    def vector_range(
        self, vector: Vector, filters: SearchFilters, min_score: float, limit: int
    ) -> Ranked:
        """Every row with a cosine of at least ``min_score`` (best first, ``limit`` at
        most). Large indexes first score the binary-code candidates
        (``COARSE_RANGE_FACTOR × COARSE_CANDIDATES``). When ``limit`` of them pass the
        floor, their best ``limit`` are the answer (a relevance search's bound: the
        nearest candidates scored exactly, as ``vector_search`` ranks); when fewer than
        ``COARSE_CANDIDATES // 2`` pass, all those that pass are (the exact set in
        practice); in between (the set may be larger than the candidates) the full scan
        decides."""
        snap = self._snap
        if limit <= 0 or len(snap) == 0:
            return Ranked()
        prepared = self._prepare(snap, vector, filters, ())
        if prepared is None:
            return Ranked()
        found = self._in_range(snap, prepared, min_score, limit)
        if isinstance(found, _Passing):
            return self._ranked(snap, found.rows, found.scores, limit)
        return found

    def _in_range(
        self, snap: _Snapshot, prepared: _Prepared, min_score: float, limit: int
    ) -> Ranked | _Passing:
        """``vector_range``'s answer where the int8 bounds rank it, else the rows that
        pass (ascending), scored and not ranked yet (``_Passing``)."""
        q, rows, mask = prepared
        selected = len(snap) if rows is None else rows.size
        candidates = COARSE_RANGE_FACTOR * COARSE_CANDIDATES
        if selected >= COARSE_MIN_ROWS and selected > candidates:
            near, scores = self._coarse(snap, q, candidates, mask)
            passing = np.flatnonzero(scores >= min_score)
            if passing.size >= limit or passing.size < COARSE_CANDIDATES // 2:
                return _Passing(near[passing], scores[passing])
        bounds = self._int8_bounds(snap, q, rows)
        if bounds is not None:
            found = self._bounded_range(snap, q, bounds, mask, min_score, limit)
            if found is not None:
                return found
        return self._scanned_range(snap, prepared, min_score)

    def _scanned_range(self, snap: _Snapshot, prepared: _Prepared, min_score: float) -> _Passing:
        """The selected rows at or above ``min_score`` (ascending), from one full scan."""
        q, rows, _ = prepared
        scores = self._exact_scores(snap, q, rows)
        passing = np.flatnonzero(scores >= min_score)
        picked = passing if rows is None else rows[passing]
        return _Passing(picked, scores[passing])
