"""The search index follows the store: apply the index journal, compare the two.

Every change to what a paper's index documents hold is queued in the database in the
same transaction as the change (``paperwire.store.journal``). :func:`apply_pending`
makes the index match the store for the queued papers (visible papers are written with
their current text and stored vector, hidden or unknown ones are deleted), commits the
index, and only then deletes the journal rows it read. A process killed at any point
leaves rows that the next applier applies again, which is harmless: applying is
idempotent. So the index catches up by itself after crashes, kills and concurrent
writers, without ``paperwire index --rebuild``.

Who applies: the command that made a change, right after its transaction (ingest, embed,
moderation, submissions), and :class:`IndexFollower`, a thread in ``paperwire serve``,
``up`` and ``worker`` that applies what other processes queued (a cron ingest while the
site runs). One process applies at a time (``IndexJournal.claim``); the others leave
their rows to it, or wait a little at their end (:func:`drain`). The embedded index's
writer lock is therefore only held while a batch is applied.

:func:`compare` is what ``paperwire doctor`` reports: ids missing from or extra in each
half of the index, and stale documents (fingerprints that differ from the store's).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paperwire.core import Paperwire

if TYPE_CHECKING:
    from paperwire.index.keyword import TantivyKeywordIndex

log = logging.getLogger(__name__)

# Rows per index commit: at least APPLY_BATCH, and a large backlog (a rebuild, an
# upgrade) in at most ~BACKLOG_COMMITS commits of at most MAX_BATCH rows, because each
# commit that changes vectors rewrites the embedded vector matrix (O(papers)).
APPLY_BATCH = 2_000
MAX_BATCH = 50_000
BACKLOG_COMMITS = 20
READ_CHUNK = 2_000  # ids per store read (SQLite allows 32,766 query parameters)
_RETRY_MAX_SECONDS = 60.0

ProgressFn = Callable[[int], None]


@dataclass
class ApplyReport:
    """What one call applied; ``pending`` rows were still queued when it returned."""

    applied: int = 0  # journal rows consumed
    upserted: int = 0  # documents written
    deleted: int = 0  # ids removed (hidden or unknown papers)
    pending: int = 0
    busy: bool = False  # another thread or process was applying
    error: str | None = None

    def add(self, other: ApplyReport) -> None:
        self.applied += other.applied
        self.upserted += other.upserted
        self.deleted += other.deleted
        self.pending = other.pending
        self.busy = other.busy
        self.error = other.error


def apply_pending(
    pw: Paperwire,
    *,
    wait: float = 0.0,
    stop: threading.Event | None = None,
    on_progress: ProgressFn | None = None,
) -> ApplyReport:
    """Apply every queued change (until ``stop``), if this process gets the claim
    within ``wait`` seconds. An index error is logged and reported, never raised: the
    changes stay queued for the next attempt."""
    report = ApplyReport()
    with pw.journal.claim(wait) as held:
        if not held:
            report.busy = True
        else:
            try:
                backlog = pw.journal.pending_count()
                batch = min(MAX_BATCH, max(APPLY_BATCH, backlog // BACKLOG_COMMITS))
                _apply_all(pw, report, batch, stop, on_progress)
            except Exception as e:  # the store is the truth: report, keep the rows
                report.error = f"{type(e).__name__}: {e}"
                log.warning("index not updated (changes stay queued): %s", report.error)
                pw.index.rollback()
    report.pending = pw.journal.pending_count()
    return report


def _apply_all(
    pw: Paperwire,
    report: ApplyReport,
    batch: int,
    stop: threading.Event | None,
    on_progress: ProgressFn | None,
) -> None:
    index, model = pw.index, pw.model_name
    while not (stop is not None and stop.is_set()):
        rows = pw.journal.pending(batch)
        if not rows:
            return
        ids = list(dict.fromkeys(arxiv_id for _, arxiv_id in rows))
        written = 0
        for start in range(0, len(ids), READ_CHUNK):
            chunk = ids[start : start + READ_CHUNK]
            # Read after the journal rows: documents at least as new as the rows.
            docs = [d for part in pw.store.iter_index_docs(model, chunk) for d in part]
            # Delete first, so a document comes out exactly as the store has it now (an
            # upsert alone keeps a vector the store no longer has); hidden papers stay out.
            index.delete(chunk)
            index.upsert(docs)
            written += len(docs)
        index.commit()
        pw.journal.done([seq for seq, _ in rows])
        report.applied += len(rows)
        report.upserted += written
        report.deleted += len(ids) - written
        if on_progress is not None:
            on_progress(len(ids))


def drain(
    pw: Paperwire,
    timeout: float | None = None,
    *,
    stop: threading.Event | None = None,
    on_progress: ProgressFn | None = None,
) -> ApplyReport:
    """Apply until nothing is queued, waiting up to ``timeout`` seconds (default
    ``index_wait_seconds``) while another process applies; what is left then is that
    process's to apply (``report.pending``)."""
    limit = pw.settings.index_wait_seconds if timeout is None else timeout
    deadline = time.monotonic() + limit
    total = ApplyReport()
    while True:
        remaining = max(0.0, deadline - time.monotonic())
        report = apply_pending(pw, wait=min(1.0, remaining), stop=stop, on_progress=on_progress)
        total.add(report)
        if report.error or not report.pending or (stop is not None and stop.is_set()):
            return total
        if time.monotonic() >= deadline:
            return total


# -- compacting the keyword index ---------------------------------------------------------

# An ingest that added at least this many papers compacts the keyword index afterwards
# (``compact_after_bulk_load``), where tantivy left it in more than ``COMPACT_MIN_SEGMENTS``
# segments: a bulk load (a first `paperwire ingest`, a backfill), not a daily run. It
# takes ~11 s at 74.7k papers and ~2 min at 1M.
COMPACT_AFTER_ADDED = 5_000
COMPACT_MIN_SEGMENTS = 4


@dataclass
class CompactReport:
    """What ``compact_keyword_index`` did: the segments before and after, the documents
    written (None: stopped first, nothing changed) and how long it took."""

    segments_before: int
    segments_after: int
    documents: int | None
    seconds: float

    @property
    def segments(self) -> tuple[int, int] | None:
        """``(before, after)`` where it compacted; None where it was stopped first."""
        return None if self.documents is None else (self.segments_before, self.segments_after)

    def describe(self) -> str:
        return (
            f"keyword index compacted: {self.segments_before} segments -> "
            f"{self.segments_after} ({self.documents} papers in {self.seconds:.1f} s)"
        )


def keyword_half(pw: Paperwire) -> TantivyKeywordIndex | None:
    """The app's embedded (tantivy) keyword index, the one a compaction writes; None for
    an index without one (Milvus)."""
    from paperwire.index.keyword import TantivyKeywordIndex

    keyword = getattr(pw.index, "keyword", None)
    return keyword if isinstance(keyword, TantivyKeywordIndex) else None


def compact_keyword_index(
    pw: Paperwire,
    *,
    stop: threading.Event | None = None,
    on_progress: ProgressFn | None = None,
    wait: float | None = None,
) -> CompactReport | None:
    """Write the embedded keyword index again from the store, in one segment (see
    ``TantivyKeywordIndex.compact``), holding the journal's claim (waiting up to
    ``wait`` s, default ``index_wait_seconds``): no change is applied meanwhile, and
    what was queued meanwhile is applied right after it. None where the index has no
    tantivy half (Milvus compacts its own segments) or another process held the claim.
    Raises ``KeywordIndexError`` where the index cannot be written (another writer
    holds its lock)."""
    keyword = keyword_half(pw)
    if keyword is None:
        return None
    limit = pw.settings.index_wait_seconds if wait is None else wait
    with pw.journal.claim(limit) as held:
        if not held:
            return None
        t0 = time.perf_counter()
        keyword.refresh()  # another process's commits count too
        before = keyword.segments()
        written = keyword.compact(
            pw.store.iter_index_docs(None), stop=stop, on_progress=on_progress
        )
        report = CompactReport(before, keyword.segments(), written, time.perf_counter() - t0)
    # Changes made meanwhile were left queued: applied now, not left to a server that
    # may not run (the claim is released first: it is not re-entrant).
    apply_pending(pw)
    return report


def bulk_load_to_compact(pw: Paperwire, added: int) -> bool:
    """Whether an ingest or rebuild that wrote ``added`` papers left the embedded keyword
    index worth compacting: a bulk load (``COMPACT_AFTER_ADDED``) in more than
    ``COMPACT_MIN_SEGMENTS`` segments, unless the operator turned that off (the
    ``compact_bulk_loads`` setting: the memory it takes at 1M papers)."""
    keyword = keyword_half(pw)
    if not pw.settings.compact_bulk_loads or added < COMPACT_AFTER_ADDED or keyword is None:
        return False
    keyword.refresh()
    return keyword.segments() > COMPACT_MIN_SEGMENTS


def compact_after_bulk_load(
    pw: Paperwire, added: int, stop: threading.Event | None = None
) -> CompactReport | None:
    """``compact_keyword_index`` where ``bulk_load_to_compact`` says so, for a job with
    no progress bar (the worker's sync, ``up``): it logs instead. Never raises: an index
    problem is logged (the old segments serve on)."""
    try:
        if not bulk_load_to_compact(pw, added):
            return None
        log.info("compacting the keyword index after a bulk load of %d papers", added)
        report = compact_keyword_index(pw, stop=stop, wait=0.0)
    except Exception as e:  # the index stays as it was; search works on
        log.warning("keyword index not compacted: %s: %s", type(e).__name__, e)
        return None
    if report is None:
        log.info(
            "keyword index not compacted: another process is applying index changes "
            "(`paperwire index --compact` does it later)"
        )
    elif report.documents is not None:
        log.info(report.describe())
    return report


# -- comparing the store with the index ---------------------------------------------------


@dataclass
class Drift:
    """Where the index differs from the store (sorted id lists) and what is queued."""

    papers: int = 0  # visible papers: the keyword documents there should be
    keyword_documents: int = 0
    expected_vectors: int = 0  # visible papers with a stored embedding
    vector_documents: int = 0
    pending: int = 0
    checked_stale: bool = False
    missing_keyword: list[str] = field(default_factory=list)
    extra_keyword: list[str] = field(default_factory=list)
    stale_keyword: list[str] = field(default_factory=list)
    missing_vectors: list[str] = field(default_factory=list)
    extra_vectors: list[str] = field(default_factory=list)
    stale_vectors: list[str] = field(default_factory=list)

    def ids(self) -> set[str]:
        """Every id on which the two disagree."""
        return {
            *self.missing_keyword,
            *self.extra_keyword,
            *self.stale_keyword,
            *self.missing_vectors,
            *self.extra_vectors,
            *self.stale_vectors,
        }

    @property
    def in_step(self) -> bool:
        """No difference and nothing queued."""
        return not self.ids() and not self.pending


def _diff(expected: dict[str, str], found: dict[str, str], stale: bool) -> tuple[list[str], ...]:
    missing = sorted(expected.keys() - found.keys())
    extra = sorted(found.keys() - expected.keys())
    changed = sorted(i for i in expected.keys() & found.keys() if expected[i] != found[i])
    return missing, extra, changed if stale else []


def compare(pw: Paperwire, *, stale: bool = True) -> Drift:
    """Compare the committed index with the store: ids always; with ``stale`` also every
    document's fingerprints (reads every visible paper and stored vector)."""
    pending = pw.journal.pending_count()
    pw.index.refresh()
    found = pw.index.inventory()
    expected_kw: dict[str, str] = {}
    expected_vec: dict[str, str] = {}
    if stale:
        for docs in pw.store.iter_index_docs(pw.model_name):
            for d in docs:
                fp = expected_kw[d.arxiv_id] = d.fingerprint()
                if d.vector is not None:
                    expected_vec[d.arxiv_id] = f"{fp}:{d.vector_fingerprint()}"
    else:
        visible, with_vector = pw.store.index_ids(pw.model_name)
        expected_kw = dict.fromkeys(visible, "")
        expected_vec = dict.fromkeys(with_vector, "")
    drift = Drift(
        papers=len(expected_kw),
        keyword_documents=len(found.keyword),
        expected_vectors=len(expected_vec),
        vector_documents=len(found.vectors),
        pending=pending,
        checked_stale=stale,
    )
    drift.missing_keyword, drift.extra_keyword, drift.stale_keyword = _diff(
        expected_kw, found.keyword, stale
    )
    drift.missing_vectors, drift.extra_vectors, drift.stale_vectors = _diff(
        expected_vec, found.vectors, stale
    )
    return drift


def reconcile(pw: Paperwire) -> int:
    """Queue the papers the index is missing or should not have (e.g. its files were
    deleted or restored from an old backup, or a paperwire without the journal wrote
    it); returns how many. Counts first: when they agree, ids are not read."""
    visible, with_vector = pw.store.index_ids(pw.model_name)
    pw.index.refresh()
    if pw.index.keyword_count() == len(visible) and pw.index.vector_count() == len(with_vector):
        return 0
    drift = compare(pw, stale=False)
    ids = sorted(drift.ids())
    if ids:
        log.info("index: %d papers differ from the store; queued for the index", len(ids))
        pw.journal.enqueue(ids, "reconcile")
    return len(ids)


class IndexFollower:
    """A thread that applies queued changes every ``index_apply_seconds`` (whoever
    queued them) after checking the index against the store once at start."""

    def __init__(self, pw: Paperwire, interval: float | None = None) -> None:
        self.pw = pw
        self.interval = interval or pw.settings.index_apply_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> IndexFollower:
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> IndexFollower:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        delay = self.interval
        try:
            reconcile(self.pw)
        except Exception:  # the thread must survive (a database restart, say)
            log.exception("index: checking the index against the store failed")
        while not self._stop.wait(delay):
            try:
                if not self.pw.journal.pending(1):
                    continue
                report = apply_pending(self.pw, stop=self._stop)
            except Exception:
                log.exception("index: applying queued changes failed")
                delay = min(delay * 2, _RETRY_MAX_SECONDS)
                continue
            if report.error:
                delay = min(delay * 2, _RETRY_MAX_SECONDS)
                continue
            delay = self.interval
            if report.applied:
                log.info(
                    "index: applied %d changes (%d written, %d removed), %d queued",
                    report.applied,
                    report.upserted,
                    report.deleted,
                    report.pending,
                )
