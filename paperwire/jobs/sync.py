"""Sync: fetch what is new from the configured sources (``settings.sync_sources``).

Runs as ``paperwire sync`` (cron/systemd) and as the worker's ``sync`` job. Sources:

* ``hf-daily`` — the live Hugging Face daily papers API, from the day before the last
  synced day (upvotes still move) to today; the first sync takes the last 7 days.
* ``hf-daily:DIR`` — a folder of ``YYYY-MM-DD.json`` day files (offline mirrors).
* ``arxiv:CATEGORY`` — the arXiv API for one category, from the last synced day.

Each source is ingested with ``services.ingest`` (idempotent, batched, kill-safe: the
index follows through the index journal);
where it got to is kept in the store's meta table, so a failed sync simply retries that
range.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from paperwire.core import Paperwire
from paperwire.models.papers import IngestSummary
from paperwire.services.ingest import ingest_records

log = logging.getLogger(__name__)
FIRST_SYNC_DAYS = 7
MAX_CATCH_UP_DAYS = 30


@dataclass
class SyncReport:
    summaries: list[IngestSummary] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(s.added + s.updated for s in self.summaries)


class SyncError(RuntimeError):
    """One or more sources failed (the others were still synced: ``report``)."""

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


def _since(pw: Paperwire, key: str, today: dt.date) -> dt.date:
    last = pw.store.get_meta(key)
    try:
        start = dt.date.fromisoformat(last) - dt.timedelta(days=1) if last else None
    except ValueError:
        start = None
    if start is None:
        start = today - dt.timedelta(days=FIRST_SYNC_DAYS)
    return max(start, today - dt.timedelta(days=MAX_CATCH_UP_DAYS))


def check_source(spec: str) -> str:
    """``spec`` when it names a known source; ``ValueError`` saying what is known."""
    kind, _, arg = spec.partition(":")
    if kind == "hf-daily" or (kind == "arxiv" and arg):
        return spec
    raise ValueError(f"unknown sync source {spec!r}: use hf-daily, hf-daily:DIR or arxiv:CATEGORY")


def sync_source(
    pw: Paperwire,
    spec: str,
    today: dt.date | None = None,
    stop: threading.Event | None = None,
) -> IngestSummary:
    """Fetch and ingest one source; raises ``SourceError``/``OSError`` when it fails.
    ``stop`` ends it after the current batch (the source's mark is then not moved)."""
    from paperwire.sources import arxiv_api, hf_daily
    from paperwire.sources.http import make_client

    check_source(spec)
    s = pw.settings
    day = today or dt.datetime.now(dt.UTC).date()
    kind, _, arg = spec.partition(":")
    if kind == "hf-daily" and arg:
        folder = Path(arg)
        if not folder.exists():
            raise OSError(f"sync source {spec!r}: {folder} does not exist")
        return ingest_records(pw, hf_daily.read_hf_daily_dir(folder), "hf-daily", stop=stop)
    if kind == "hf-daily":
        since = _since(pw, "hf-daily:last_day", day)
        with make_client(s.http_timeout) as client:
            items = hf_daily.fetch_hf_daily(client, s.hf_api_url, since, day, s.http_retries)
            summary = ingest_records(pw, items, "hf-daily", stop=stop)
        if not summary.stopped:
            pw.store.set_meta("hf-daily:last_day", day.isoformat())
        return summary
    key = f"arxiv:{arg}:last_day"
    since = _since(pw, key, day)
    with make_client(s.http_timeout) as client:
        items = arxiv_api.fetch_arxiv_api(
            client, s.arxiv_api_url, arg, since, day, retries=s.http_retries
        )
        summary = ingest_records(pw, items, "arxiv", stop=stop)
    if not summary.stopped:
        pw.store.set_meta(key, day.isoformat())
    return summary


SYNC_THUMBNAILS = 2000  # per sync: the new papers' thumbnails, newest first


def sync_all(
    pw: Paperwire,
    sources: list[str] | None = None,
    today: dt.date | None = None,
    stop: threading.Event | None = None,
) -> SyncReport:
    """Sync every source (until ``stop``); raises ``SyncError`` after trying them all if
    any failed."""
    from paperwire.sources.http import SourceError

    report = SyncReport()
    for spec in pw.settings.sync_sources if sources is None else sources:
        if stop is not None and stop.is_set():
            break
        try:
            summary = sync_source(pw, spec, today, stop)
        except (SourceError, OSError, ValueError) as e:
            log.warning("sync %s failed: %s", spec, e)
            report.errors[spec] = str(e)
            continue
        log.info(
            "sync %s: %d added, %d updated, %d unchanged, %d rejected",
            spec,
            summary.added,
            summary.updated,
            summary.unchanged,
            summary.rejected,
        )
        report.summaries.append(summary)
    if pw.settings.thumbnail_cache and report.changed and not (stop and stop.is_set()):
        from paperwire.services.thumbnails import cache_thumbnails

        thumbs = cache_thumbnails(pw, SYNC_THUMBNAILS, stop=stop)
        log.info("sync: %d thumbnails cached, %d failed", thumbs.cached, thumbs.failed)
    if report.errors:
        detail = "; ".join(f"{k}: {v}" for k, v in report.errors.items())
        raise SyncError(f"{len(report.errors)} source(s) failed: {detail}", report)
    return report
