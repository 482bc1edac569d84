"""Ingest: store records in batches and make them keyword-searchable at once.

Runs from ``paperwire ingest``, ``paperwire up``, the sync job and paper submissions.
Idempotent: re-running a source
adds nothing twice (unchanged papers are counted, not rewritten). Interruptible:
every finished batch is committed to the store and the index, so a rerun resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from paperwire.core import Paperwire
from paperwire.models.papers import IngestSummary, PaperRecord, Rejection

ProgressFn = Callable[[int], None]


def ingest_records(
    pw: Paperwire,
    items: Iterable[PaperRecord | Rejection],
    source: str,
    *,
    batch_size: int = 500,
    on_progress: ProgressFn | None = None,
    on_rejection: Callable[[Rejection], None] | None = None,
) -> IngestSummary:
    """Store ``items`` (records and importer rejections) and index what changed."""
    t0 = time.perf_counter()
    summary = IngestSummary(source=source)
    batch: list[tuple[PaperRecord, str]] = []
    position = 0

    def reject(r: Rejection) -> None:
        summary.rejected += 1
        summary.rejections.append(r)
        if on_rejection:
            on_rejection(r)

    def flush() -> None:
        if not batch:
            return
        outcome = pw.store.upsert(batch)
        summary.added += len(outcome.added)
        summary.updated += len(outcome.updated)
        summary.unchanged += len(outcome.unchanged)
        for r in outcome.rejections:
            reject(r)
        if outcome.changed:
            for docs in pw.store.iter_index_docs(None, outcome.changed):
                pw.index.upsert(docs)
        if on_progress:
            on_progress(len(batch))
        batch.clear()

    try:
        for item in items:
            if isinstance(item, Rejection):
                reject(item)
                if on_progress:
                    on_progress(1)
                continue
            position += 1
            batch.append((item, f"{source} record #{position} ({item.arxiv_id})"))
            if len(batch) >= batch_size:
                flush()
        flush()
    finally:
        pw.index.commit()
        summary.seconds = round(time.perf_counter() - t0, 3)
    return summary
