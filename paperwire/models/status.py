"""``StatusPublic``: what ``/status``, ``/api/status`` and ``paperwire status`` report;
``DoctorReport``: what ``paperwire doctor`` reports (and admins see on ``/status``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from paperwire.models.common import DataClock


class IndexPartCheck(BaseModel):
    """One half of the index (keyword documents or vectors) compared with the store."""

    expected: int  # documents the store says there should be
    documents: int  # documents the index holds
    missing: int  # expected, not in the index
    extra: int  # in the index, but hidden or unknown in the store
    stale: int  # in both, but the index holds an older version
    examples: list[str] = Field(
        default_factory=list, description="Some of the ids that differ (at most 10 per kind)."
    )


class VectorLengths(BaseModel):
    """The index's vector length and those of the embedding model's stored vectors,
    where they differ. The index takes no other length beside its own: `paperwire
    doctor --repair` empties it and writes every paper again, once the store's are of
    one length (two: `paperwire embed --again` is not done)."""

    index: int
    store: list[int]  # most vectors first


class DoctorReport(BaseModel):
    """``paperwire doctor``: the store compared with the search index."""

    papers: int  # visible papers in the store
    pending: int  # changes queued for the index, not yet applied
    keyword: IndexPartCheck
    vectors: IndexPartCheck
    checked_stale: bool  # whether documents were compared by fingerprint, not only by id
    in_step: bool  # nothing differs and nothing is queued
    repaired: int | None = None  # papers re-applied by ``--repair``
    keyword_segments: int | None = Field(
        None,
        description="Segments of the embedded keyword index (a search looks each word up "
        "in every one; `paperwire index --compact` makes one); none for Milvus, which "
        "compacts its own.",
    )
    vector_lengths: VectorLengths | None = Field(
        None,
        description="Where the store has vectors of the embedding model of another length "
        "than the index holds (the model changed to one of another length), the lengths.",
    )


# Which ONNX export of the embedding model a process started now would embed with
# (``index.embedding.onnx.export_state``).
ExportState = Literal["current", "older", "missing", "unused"]


class StatusPublic(BaseModel):
    papers: int
    embedded: int
    embedding_model: str
    embedding_backlog: int
    semantic_ready: bool
    keyword_documents: int
    vector_documents: int
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    database: str
    index: str
    version: str
    index_pending: int = 0  # paper changes queued for the search index, not yet applied
    snippet_loops: Literal["c", "python"] = Field(
        "python",
        description="How result snippets are worked out: `c` where the install compiled "
        "`paperwire/text/_scan.c`, else `python` (the same snippets, slower).",
    )
    int8_product: Literal["c", "onnx"] = Field(
        "onnx",
        description="What scores the int8 copy of the vectors that bounds every cosine "
        "(from 20,000 papers): `c` where the install compiled `paperwire/index/_int8.c` "
        "and the CPU has AVX-512 VNNI, else `onnx` (ONNX Runtime: the same results, "
        "slower).",
    )
    embedding_export: ExportState = Field(
        "unused",
        description="The ONNX export of the embedding model a process started now would "
        "embed with: `current`; `older` (made by an earlier paperwire: `paperwire model "
        "export` makes this release's for the processes started after it); `missing` "
        "(torch embeds instead: slower, twice the memory); `unused` (semantic search off, "
        "or the torch backend asked for).",
    )
    doctor: DoctorReport | None = Field(
        None, description="Admins only: the store compared with the index (`paperwire doctor`)."
    )
    clock: DataClock | None = Field(
        None, description="The clock trending, digests and alerts measure time by."
    )
