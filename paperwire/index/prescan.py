"""An int8 copy of the vectors that bounds every cosine in one fast pass, so that an
exact search scores in fp32 only the rows that can still be in its answer.

Why: at arXiv-listing scale (74.7k papers × 384 dims) the exact fp32 scan reads 115 MB a
query and is bound by memory bandwidth (3.6–6.8 ms on 2 cores). The int8 copy is a
quarter of that. Numpy has no fast integer product; two others score it:

* where the CPU has AVX-512 VNNI, a loop in C (``_int8.c``: ``_BlockedProduct``) on the
  calling thread, 0.65–0.96 ms p50 at 74.7k rows, about the time a plain read of the
  bytes takes;
* elsewhere, or where the install could not compile it, ONNX Runtime's integer matrix
  product (MLAS, the kernels its quantised models run on: ``_OnnxProduct``) on two
  threads, 1.37–1.62 ms there (docs/benchmarks.md, "The int8 bounds' product in C").

Both give the same integers, hence the same bounds to the last bit.

The bound. Each row ``x`` (unit length) is stored as ``s·c`` with ``c`` int8 and one
scale ``s`` per row; the query ``q`` as ``q̂ = t1·a1 + t2·a2``, two int8 rows (the second
holds the first's rounding error). With ``e_x = x − s·c`` and ``e_q = q − q̂`` (kept
exactly: ``‖e_x‖`` per row, ``‖e_q‖`` per query),

    q·x = q̂·(s·c) + q̂·e_x + e_q·x,   so   |q·x − approx| ≤ ‖q̂‖·‖e_x‖ + ‖e_q‖·‖x‖

(Cauchy–Schwarz). ``a1·c`` and ``a2·c`` are exact in int32, so ``approx ± slack`` holds
every true cosine; ``SLACK_MARGIN`` covers the float rounding of the rest and of the exact
fp32 product the answer is then computed with. A search keeps the rows whose upper bound
can still reach its answer (the floor, or the k-th best lower bound) and scores only
those in fp32 (74.7k: ~140 rows for a top 100, ~4,000 for the best 4,001 above the
semantic floor). The answer is the full scan's, with one caveat: the fp32 product of a
gathered row can differ from the full scan's in its last bit (BLAS computes a matrix's
last rows with another kernel), so rows whose cosines are that close, such as copies of
one vector, may trade places, or places at the cut, between the two paths.

Memory per process at 74.7k × 384 (the fp32 matrix itself is memory-mapped and shared):
the copy (1 byte a component), 28.7 MB in C; with ONNX Runtime, its packed form of it
besides, ~68 MB in all. A copy of a filter's rows alone (``Int8Copy.subset``) holds ~1 KB
a row it holds and, with ONNX Runtime, a thread pool of its own (one more thread on two
cores, asleep between products).

ONNX Runtime's product is unsigned × unsigned (both sides shifted by 128, zero points
given to the operator): MLAS's unsigned × signed kernel on AVX2 adds byte products in
saturating 16-bit lanes, an error the bound does not hold (measured: 0.04 against
0.003). VNNI's instruction adds them in 32-bit lanes, without saturating.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from paperwire.index.base import Vector
from paperwire.index.threads import usable_cores

try:  # the product in C (``_int8.c``), where the install could compile it
    from paperwire.index import _int8
except ImportError:  # pragma: no cover - an install without a C compiler
    _int8 = None  # type: ignore[assignment]

__all__ = ["Int8Copy", "floor_split", "product", "range_candidates", "top_candidates"]

log = logging.getLogger(__name__)

# Covers float32 rounding of approx, slack and the exact product (each ~1e-6 at most).
SLACK_MARGIN = 1e-4
_LEVELS = 127  # int8 codes in [-127, 127]
_SHIFT = 128  # stored unsigned: code + 128
_CHUNK = 4_096  # rows quantised at a time (temporaries of a few MB; whole blocks)
_BLOCK = 64  # rows a block of ``_BlockedProduct``'s codes
# Queries whose bounds one product works out (``bounds_many``): its int32 products are
# 2 × 16 × 4 bytes a row (10 MB at 74.7k rows, 25 MB at the 200k where the copy stops),
# which ONNX Runtime's arena keeps for the session's life once a product needed them (the
# C product's are freed after each call).
QUERIES_AT_ONCE = 16

Rows = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def _quantise(values: npt.NDArray[np.float32]) -> tuple[npt.NDArray[Any], Vector, Vector]:
    """Codes (shifted to uint8), per-row scales and the rows' rounding-error norms."""
    peak = np.abs(values).max(axis=1)
    scale = (np.where(peak > 0, peak, 1.0) / _LEVELS).astype(np.float32)
    codes = np.rint(values / scale[:, None])
    err = values - codes * scale[:, None]
    residual = np.sqrt(np.einsum("ij,ij->i", err, err, dtype=np.float64))
    return (codes + _SHIFT).astype(np.uint8), scale, residual.astype(np.float32)


class _OnnxProduct:
    """The product in ONNX Runtime (MatMulInteger, MLAS's kernels): the codes as its
    ``(dim, n)`` initializer, which it keeps a packed copy of besides."""

    def __init__(self, codes_t: npt.NDArray[np.uint8], _rows: int, threads: int | None) -> None:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        dim, n = codes_t.shape  # (the rows: no padding here)
        self.codes_t = codes_t
        # The codes reach the session as an external initializer: no copy of them into
        # the model's bytes (which would hold two more for the build's length).
        codes = numpy_helper.from_array(np.zeros((1, 1), dtype=np.uint8), "codes")
        codes.ClearField("raw_data")
        codes.dims[:] = [dim, n]
        codes.data_location = TensorProto.EXTERNAL
        codes.external_data.add(key="location", value="codes")
        zero = np.array(_SHIFT, dtype=np.uint8)
        graph = helper.make_graph(
            [helper.make_node("MatMulInteger", ["q", "codes", "q_zero", "zero"], ["dots"])],
            "int8_cosines",
            # two rows a query, as many queries as ``bounds_many`` sends at once
            [helper.make_tensor_value_info("q", TensorProto.UINT8, ["rows", dim])],
            [helper.make_tensor_value_info("dots", TensorProto.INT32, ["rows", n])],
            [codes, numpy_helper.from_array(zero, "q_zero"), numpy_helper.from_array(zero, "zero")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or usable_cores()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Idle threads sleep: the fp32 rescoring and the rest of the search run next.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_external_initializers(["codes"], [ort.OrtValue.ortvalue_from_numpy(codes_t)])
        self.session = ort.InferenceSession(
            model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    @staticmethod
    def empty(n: int, dim: int) -> npt.NDArray[np.uint8]:
        return np.empty((dim, n), dtype=np.uint8)

    @staticmethod
    def put(codes: npt.NDArray[np.uint8], start: int, block: npt.NDArray[np.uint8]) -> None:
        codes[:, start : start + block.shape[0]] = block.T

    def codes_of(self, rows: Rows) -> npt.NDArray[np.uint8]:
        """The codes of ``rows`` ((len(rows), dim))."""
        return self.codes_t[:, rows].T

    def dots(self, queries: npt.NDArray[np.int8]) -> npt.NDArray[np.int32]:
        """The exact integer products of the query rows ((m, dim), -127..127) with every
        row's code (less 128): (m, rows)."""
        feed = (queries.astype(np.int16) + _SHIFT).astype(np.uint8)
        found: npt.NDArray[np.int32] = self.session.run(None, {"q": feed})[0]
        return found


class _BlockedProduct:
    """The product in C (``paperwire.index._int8``, AVX-512 VNNI) on the calling thread:
    the codes in blocks of 64 rows (``[block][dim / 4][64][4]``, padded with zero codes
    to whole blocks and to a multiple of 4 dimensions), read once, front to back, for all
    the queries of a call. Where the CPU has VNNI it is faster than ONNX Runtime's on two
    threads, leaves the other core to the search's other work and keeps no packed copy
    (74.7k rows: 0.65-0.96 ms p50 against 1.37-1.62; docs/benchmarks.md, "The int8
    bounds' product in C")."""

    def __init__(self, blocks: npt.NDArray[np.uint8], rows: int, _threads: int | None) -> None:
        self.blocks, self.rows = blocks, rows

    @staticmethod
    def runs() -> bool:
        """Whether this install and CPU run it (else ``_OnnxProduct`` does the work)."""
        return _int8 is not None and bool(_int8.supported())

    @staticmethod
    def empty(n: int, dim: int) -> npt.NDArray[np.uint8]:
        return np.empty((-(-n // _BLOCK), -(-dim // 4), _BLOCK, 4), dtype=np.uint8)

    @staticmethod
    def put(blocks: npt.NDArray[np.uint8], start: int, codes: npt.NDArray[np.uint8]) -> None:
        """Rows ``start`` on (``start`` a multiple of 64) from ``codes`` ((k, dim))."""
        k, dim = codes.shape
        count, groups = -(-k // _BLOCK), blocks.shape[1]
        padded = np.full((count * _BLOCK, groups * 4), _SHIFT, dtype=np.uint8)
        padded[:k, :dim] = codes
        first = start // _BLOCK
        blocks[first : first + count] = padded.reshape(count, _BLOCK, groups, 4).transpose(
            0, 2, 1, 3
        )

    def codes_of(self, rows: Rows) -> npt.NDArray[np.uint8]:
        """The codes of ``rows`` ((len(rows), dim), padded dimensions included)."""
        picked = self.blocks[rows // _BLOCK, :, rows % _BLOCK, :]  # (len(rows), dim / 4, 4)
        return picked.reshape(rows.shape[0], self.blocks.shape[1] * 4)

    def dots(self, queries: npt.NDArray[np.int8]) -> npt.NDArray[np.int32]:
        m, dim = queries.shape
        width = self.blocks.shape[1] * 4
        if dim != width:  # zero components for the padded dimensions
            queries = np.pad(queries, ((0, 0), (0, width - dim)))
        out = np.empty((m, self.blocks.shape[0] * _BLOCK), dtype=np.int32)
        assert _int8 is not None  # ``runs``
        _int8.dots(self.blocks, np.ascontiguousarray(queries), out)
        return out[:, : self.rows]


_Product = _OnnxProduct | _BlockedProduct


def _product_kind() -> type[_OnnxProduct] | type[_BlockedProduct]:
    return _BlockedProduct if _BlockedProduct.runs() else _OnnxProduct


def product() -> Literal["c", "onnx"]:
    """What scores the copies this process builds (``paperwire status``): ``c`` where
    the install compiled ``_int8.c`` and the CPU runs it, else ``onnx``."""
    return "c" if _product_kind() is _BlockedProduct else "onnx"


@dataclass(frozen=True)
class Int8Copy:
    """The int8 copy of one snapshot's matrix: the codes' product with a query
    (``_BlockedProduct`` in C where the CPU runs it, else ``_OnnxProduct``), each row's
    scale and rounding error."""

    product: _Product
    scale: Vector  # (n,) float32: row i ≈ scale[i] · (code[i] − 128)
    residual: Vector  # (n,) float32: ‖row i − scale[i] · (code[i] − 128)‖₂

    @staticmethod
    def build(matrix: npt.NDArray[Any], threads: int | None = None) -> Int8Copy | None:
        """The copy of ``matrix`` ((n, dim) float32, unit rows); None when a row is not
        finite (its bound would not hold; such an index keeps the full scan)."""
        n, dim = matrix.shape
        kind = _product_kind()
        codes = kind.empty(n, dim)
        scale = np.empty(n, dtype=np.float32)
        residual = np.empty(n, dtype=np.float32)
        for start in range(0, n, _CHUNK):
            block = np.asarray(matrix[start : start + _CHUNK], dtype=np.float32)
            if not np.isfinite(block).all():
                return None
            stop = start + block.shape[0]
            quantised, scale[start:stop], residual[start:stop] = _quantise(block)
            kind.put(codes, start, quantised)
        return Int8Copy(kind(codes, n, threads), scale, residual)

    def subset(self, rows: Rows, threads: int | None = None) -> Int8Copy:
        """The copy of ``rows`` alone (row numbers, ascending), bound ``i`` for row
        ``rows[i]``: the same codes, scales and errors, hence the same bounds to the last
        bit, for a product that reads only those rows' codes. Why: a filter keeping a
        third of the rows (a category) still read every row's codes, 1.80 / 2.13 ms p50 /
        p95 at 74.7k against 0.66 / 0.86 for a copy of its 25,049 rows alone
        (docs/benchmarks.md, forty-first session)."""
        kind = type(self.product)
        picked = self.product.codes_of(rows)
        codes = kind.empty(*picked.shape)
        kind.put(codes, 0, picked)
        product = kind(codes, rows.shape[0], threads)
        return Int8Copy(product, self.scale[rows], self.residual[rows])

    def bounds(self, q: Vector) -> tuple[Vector, Vector]:
        """``(approx, slack)`` per row: every row's cosine to the unit vector ``q`` lies
        in ``approx ± slack``. The query goes in as two int8 rows, the second the first's
        rounding error (``q ≈ t1·a1 + t2·a2``): the product reads the codes once for
        both, and the query's own error, half the slack with one row, all but vanishes
        (the median slack halves at 74.7k: docs/benchmarks.md)."""
        return next(self.bounds_many([q]))

    def bounds_many(self, queries: Sequence[Vector]) -> Iterator[tuple[Vector, Vector]]:
        """``bounds`` of each of ``queries`` (unit vectors), in order, the same values;
        the codes are read once per ``QUERIES_AT_ONCE`` queries instead of once each (a
        reader's 31 "For you" neighbour searches at 74.7k rows: 19–27 ms for the product
        of all against 90–121 ms for 31 ``bounds``). Lazy: a group's products and a
        query's bounds or two are held at a time."""
        for start in range(0, len(queries), QUERIES_AT_ONCE):
            group = [_split(q) for q in queries[start : start + QUERIES_AT_ONCE]]
            dots = self.product.dots(np.concatenate([g.rows for g in group]).astype(np.int8))
            for i, g in enumerate(group):
                # Integer dot products of up to 1,040 dimensions are below 2**24: exact
                # in float32 (beyond, they round by ~1e-7 of a cosine, within SLACK_MARGIN).
                approx: Vector = np.multiply(dots[2 * i], g.t1, dtype=np.float32)
                approx += np.multiply(dots[2 * i + 1], g.t2, dtype=np.float32)
                approx *= self.scale
                slack: Vector = self.residual * np.float32(g.norm)
                slack += np.float32(g.error + SLACK_MARGIN)
                yield approx, slack


@dataclass(frozen=True)
class _SplitQuery:
    """A query as two int8 rows (``rows``, unshifted) with their steps: ``q ≈ t1·a1 +
    t2·a2``; ``norm`` is that sum's length, ``error`` its distance to ``q``."""

    rows: npt.NDArray[np.float32]
    t1: float
    t2: float
    norm: float
    error: float


def _split(q: Vector) -> _SplitQuery:
    t1 = _step(q)
    a1 = np.rint(q / t1)
    rest = q - a1 * t1
    t2 = _step(rest)
    a2 = np.rint(rest / t2)
    error = float(np.linalg.norm(rest - a2 * t2))
    norm = float(np.linalg.norm(a1 * t1 + a2 * t2))
    return _SplitQuery(np.stack([a1, a2]), t1, t2, norm, error)


def _step(values: Vector) -> float:
    """The int8 step of ``values``: its largest magnitude over 127 (1 when all zero)."""
    peak = float(np.abs(values).max())
    return (peak if peak > 0 else 1.0) / _LEVELS


def top_candidates(approx: Vector, slack: Vector, k: int, mask: BoolArray | None) -> Rows:
    """Rows (ascending) that can be among the best ``k`` of those ``mask`` allows: an
    upper bound at least the k-th best lower bound (k rows score at least that).

    Where a mask leaves out a tenth of the rows or more, the k-th best lower bound is
    picked from the allowed rows alone (``np.compress``); where it leaves out fewer (a
    paper's similar papers leave out itself), those few are set to -inf. Each is the
    faster there: a partition among tens of thousands of equal -inf values is slow, and
    compressing copies every allowed row. 74.7k random bounds, best of 5, ms, -inf /
    compress: 16 % allowed 2.33-2.86 / 0.16-0.17, 60 % 0.57-0.72 / 0.19-0.28, 80 % 0.39-
    0.48 / 0.22-0.25, 90 % 0.26-0.28 / 0.23-0.25, 95 % 0.19-0.22 / 0.31-0.53, all but one
    row 0.12-0.13 / 0.26-0.54 (docs/benchmarks.md, thirty-eighth session)."""
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    upper = approx + slack
    lower = approx - slack
    allowed = lower
    if mask is not None:
        if 10 * (mask.shape[0] - int(np.count_nonzero(mask))) >= mask.shape[0]:
            allowed = np.compress(mask, lower)
        else:
            lower[~mask] = -np.inf
    if allowed.shape[0] == 0:
        return np.zeros(0, dtype=np.intp)
    kk = min(k, allowed.shape[0])
    keep = upper >= np.partition(allowed, allowed.shape[0] - kk)[allowed.shape[0] - kk]
    if mask is not None:
        keep &= mask
    return np.flatnonzero(keep)


def range_candidates(
    approx: Vector, slack: Vector, floor: float, limit: int, mask: BoolArray | None
) -> Rows:
    """Rows (ascending) that can be among the best ``limit`` of those ``mask`` allows
    with a cosine of at least ``floor``."""
    if limit <= 0:
        return np.zeros(0, dtype=np.intp)
    upper = approx + slack
    reach = upper >= floor
    if mask is not None:
        reach &= mask  # (setting the others' bounds to -inf cost ~10x this and)
    rows = np.flatnonzero(reach)
    if rows.shape[0] > limit:
        lower = approx[rows] - slack[rows]
        cut = np.partition(lower, lower.shape[0] - limit)[lower.shape[0] - limit]
        rows = rows[upper[rows] >= cut]
    return rows


def floor_split(
    approx: Vector, slack: Vector, floor: float, mask: BoolArray | None
) -> tuple[BoolArray, Rows]:
    """Of the rows ``mask`` allows: those with a cosine of at least ``floor`` for sure
    (their lower bound reaches it; a mask over every row), and the rows (ascending)
    whose bounds straddle it (only an exact score tells).

    Masks are applied with boolean ands (a category of a third of 74.7k rows: 0.53 ms
    a search where the rows left out had their bounds set to -inf, 0.09-0.10 now). A row
    whose lower bound reaches the floor has an upper bound that does too, so the
    straddling rows are those reaching it with their upper bound, less the sure ones."""
    sure = (approx - slack) >= floor
    reach = (approx + slack) >= floor
    if mask is not None:
        sure &= mask
        reach &= mask
    reach ^= sure
    return sure, np.flatnonzero(reach)
