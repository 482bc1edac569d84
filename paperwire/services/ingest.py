"""Ingest: store records in batches; the search index follows.

Runs from ``paperwire ingest``, ``paperwire up``, the sync job and paper submissions.
Idempotent: re-running a source adds nothing twice (unchanged papers are counted, not
rewritten). Interruptible and kill-safe: every batch is one store transaction that also
queues its changed papers for the index (``store.journal``), and the queue is applied
every ``index_apply_seconds`` while the ingest runs and once more at its end
(``services.indexer``), by this process or by whichever process is applying (a running
server). A killed ingest leaves no paper unsearchable: the next applier (a rerun, the
server) applies what it queued.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from paperwire.core import Paperwire
from paperwire.models.papers import IngestSummary, PaperRecord, Rejection
from paperwire.services.indexer import apply_pending, compact_after_bulk_load, drain

ProgressFn = Callable[[int], None]


def ingest_records(
    pw: Paperwire,
    items: Iterable[PaperRecord | Rejection],
    source: str,
    *,
    batch_size: int = 500,
    on_progress: ProgressFn | None = None,
    on_rejection: Callable[[Rejection], None] | None = None,
    stop: threading.Event | None = None,
    index_wait: float | None = None,
    compact: bool = True,
) -> IngestSummary:
    """Store ``items`` (records and importer rejections) and index what changed.

    ``stop`` ends the ingest after the current batch. ``index_wait``: how long to wait
    at the end for another process that is applying index changes (default
    ``index_wait_seconds``); ``summary.index_pending`` counts what was left to it.
    ``compact``: a bulk load then compacts the keyword index
    (``indexer.compact_after_bulk_load``); False leaves that to the caller (a command
    that shows its progress).
    """
    t0 = time.perf_counter()
    summary = IngestSummary(source=source)
    batch: list[tuple[PaperRecord, str]] = []
    position = 0
    next_apply = time.monotonic() + pw.settings.index_apply_seconds

    def reject(r: Rejection) -> None:
        summary.rejected += 1
        summary.rejections.append(r)
        if on_rejection:
            on_rejection(r)

    def flush() -> None:
        nonlocal next_apply
        if not batch:
            return
        outcome = pw.store.upsert(batch)
        summary.added += len(outcome.added)
        summary.updated += len(outcome.updated)
        summary.unchanged += len(outcome.unchanged)
        for r in outcome.rejections:
            reject(r)
        if outcome.queued and time.monotonic() >= next_apply:
            started = time.monotonic()
            apply_pending(pw)  # unless another process is applying: it then applies ours
            # At most a third of the time goes to the index (a large embedded vector
            # matrix is rewritten by each commit that changes a vector).
            took = time.monotonic() - started
            next_apply = time.monotonic() + max(pw.settings.index_apply_seconds, 2 * took)
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
            batch.append((item, item.location or f"{source} record #{position} ({item.arxiv_id})"))
            if len(batch) >= batch_size:
                flush()
                if stop is not None and stop.is_set():
                    summary.stopped = True
                    break
        else:
            flush()
        report = drain(pw, index_wait)
        summary.index_pending = report.pending
        summary.index_error = report.error
        if compact and not (summary.stopped or report.pending or report.error):
            compacted = compact_after_bulk_load(pw, summary.added, stop)
            summary.index_segments = None if compacted is None else compacted.segments
    except KeyboardInterrupt:
        apply_pending(pw)  # what is stored becomes searchable (a second Ctrl-C skips it)
        raise
    finally:
        summary.seconds = round(time.perf_counter() - t0, 3)
    return summary
