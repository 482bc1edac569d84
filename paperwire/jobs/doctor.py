"""Doctor: compare the store with the search index, and repair what drifted.

``paperwire doctor`` (and ``/status`` for admins) reports, for the keyword documents and
the vectors: how many the store expects and the index holds, ids missing from the
index, ids the index should not have (hidden or unknown papers), and stale documents
(the fingerprint stored with a document differs from the store's current one), plus
the changes still queued in the index journal. ``--repair`` queues exactly the papers
that differ and applies the queue (a targeted re-apply, not a rebuild).

The journal makes drift rare; what it cannot prevent is drift from outside: index files
deleted or restored from an old backup, a Milvus collection written by another tool,
or an index written by a paperwire from before the journal (issue 11).
"""

from __future__ import annotations

from paperwire.core import Paperwire
from paperwire.jobs.reindex import rebuild_index
from paperwire.models.status import DoctorReport, IndexPartCheck, VectorLengths
from paperwire.services.indexer import Drift, compare, drain, keyword_half

EXAMPLES = 10


def _part(expected: int, documents: int, *kinds: list[str]) -> IndexPartCheck:
    missing, extra, stale = kinds
    examples = [i for ids in kinds for i in ids[:EXAMPLES]]
    return IndexPartCheck(
        expected=expected,
        documents=documents,
        missing=len(missing),
        extra=len(extra),
        stale=len(stale),
        examples=examples,
    )


def report_of(drift: Drift) -> DoctorReport:
    return DoctorReport(
        papers=drift.papers,
        pending=drift.pending,
        keyword=_part(
            drift.papers,
            drift.keyword_documents,
            drift.missing_keyword,
            drift.extra_keyword,
            drift.stale_keyword,
        ),
        vectors=_part(
            drift.expected_vectors,
            drift.vector_documents,
            drift.missing_vectors,
            drift.extra_vectors,
            drift.stale_vectors,
        ),
        checked_stale=drift.checked_stale,
        in_step=drift.in_step,
    )


def diagnose(pw: Paperwire, *, stale: bool = True) -> DoctorReport:
    """The report; ``stale=False`` compares ids and counts only (no document reads).
    It also counts the embedded keyword index's segments (after ``compare``'s refresh):
    not drift, but what a bulk load left that ``paperwire index --compact`` would merge.
    With ``stale``, it also says whether the store holds vectors of the model of another
    length than the index's (``vector_lengths``), which no re-apply can write (a read
    of every stored vector's length: not for the admins' status page)."""
    report = report_of(compare(pw, stale=stale))
    keyword = keyword_half(pw)
    if keyword is not None:
        report.keyword_segments = keyword.segments()
    if stale:
        report.vector_lengths = _vector_lengths(pw)
        report.in_step = report.in_step and report.vector_lengths is None
    return report


def _vector_lengths(pw: Paperwire) -> VectorLengths | None:
    """The index's vector length and the stored vectors' of the configured model, where
    some of these differ from it."""
    held = pw.index.vector_dim()
    if held is None:
        return None
    stored = pw.store.embedding_lengths(pw.model_name)
    if not set(stored) - {held}:
        return None
    return VectorLengths(index=held, store=sorted(stored, key=lambda n: -stored[n]))


def repair(pw: Paperwire) -> DoctorReport:
    """Re-apply every paper that differs, apply what is queued, then check again. Where
    the store's vectors have another length than the index's (the model changed), the
    index is emptied and every paper written again (``paperwire index --rebuild
    --clear``): the index takes no vector of another length beside its own. Not while
    the store has them in two lengths (``paperwire embed --again`` half done): the
    report says so, and nothing is written."""
    lengths = _vector_lengths(pw)
    if lengths is not None and len(lengths.store) > 1:
        return diagnose(pw)  # half embedded again: a rebuild now would write both
    if lengths is not None:
        rebuilt = rebuild_index(pw, clear=True)
        after = diagnose(pw)
        after.repaired = rebuilt.written
        return after
    ids = sorted(compare(pw).ids())
    pw.journal.enqueue(ids, "repair")
    drain(pw)
    after = diagnose(pw)
    after.repaired = len(ids)
    return after
