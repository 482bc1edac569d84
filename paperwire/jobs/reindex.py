"""Reindex: write every paper's index documents again (``paperwire index --rebuild``).

Use after changing the index backend's analyzer or tokenizer, or if the index files
were lost or damaged. Stored embeddings are reused, so no model run is needed.

Resumable, and search keeps working meanwhile: every paper is queued in the index
journal in one transaction (papers already queued are not queued twice), ids the index
holds but the store does not are queued too (the applier removes them), then the queue
is applied in batches, each committed before its rows are deleted. A rebuild killed
midway leaves the rest queued, and the next applier (a rerun, a running server, any
ingest) finishes it; the old documents serve searches until they are replaced.
``clear`` first empties the index (needed when the embedding model's dimension
changed); search then fills up again as the batches land. A rebuild that finished
and wrote a bulk load's worth compacts the embedded keyword index
(``indexer.compact_after_bulk_load``), as such an ingest does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from paperwire.core import Paperwire
from paperwire.services.indexer import compact_after_bulk_load, compare, drain


@dataclass
class RebuildReport:
    queued: int  # papers queued by this run (the others were already queued)
    strays: int  # ids the index held that the store does not show
    written: int
    removed: int
    pending: int  # still queued (stopped, or left to another applier)
    error: str | None = None
    # the keyword index's segments before and after it was compacted (a bulk write)
    segments: tuple[int, int] | None = None


def rebuild_index(
    pw: Paperwire,
    on_progress: Callable[[int], None] | None = None,
    *,
    clear: bool = False,
    stop: threading.Event | None = None,
    compact: bool = True,
) -> RebuildReport:
    """See the module doc. ``compact``: False leaves compacting the keyword index after
    a bulk rebuild to the caller (a command that shows its progress)."""
    queued = pw.journal.enqueue_all("rebuild")
    drift = compare(pw, stale=False)
    strays = sorted({*drift.extra_keyword, *drift.extra_vectors})
    pw.journal.enqueue(strays, "rebuild")
    if clear:
        pw.index.clear()
    report = drain(pw, stop=stop, on_progress=on_progress)
    segments = None
    if compact and not (report.pending or report.error or (stop is not None and stop.is_set())):
        # every document written again, batch by batch: as a bulk ingest leaves it
        compacted = compact_after_bulk_load(pw, report.upserted, stop)
        segments = None if compacted is None else compacted.segments
    return RebuildReport(
        queued=queued,
        strays=len(strays),
        written=report.upserted,
        removed=report.deleted,
        pending=report.pending,
        error=report.error,
        segments=segments,
    )
