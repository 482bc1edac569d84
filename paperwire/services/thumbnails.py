"""Cache papers' thumbnails locally, so pages never load images from another origin.

The HF daily feed names a thumbnail URL per paper. ``cache_thumbnails`` fetches the ones
not cached yet (newest papers first), bounded in bytes while streaming, re-encodes each
(``services.images``: no metadata, no original bytes) into media storage and records the
result (``store.thumbnails``); ``/thumbnails/{id}`` serves the copy or a placeholder. A
host that cannot be reached (an offline install) is given up for the rest of the run
after ``HOST_FAILURES`` connection errors, without counting against its papers, so a
later run with a network catches up; a URL that answers with an error or a non-image is
tried ``MAX_TRIES`` times in all.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from paperwire.core import Paperwire
from paperwire.models.common import safe_url
from paperwire.services.images import ImageRejected, thumbnail_image
from paperwire.services.media import media_of
from paperwire.store.thumbnails import ThumbnailStore

log = logging.getLogger(__name__)

MAX_BYTES = 5_000_000
MAX_PIXELS = 40_000_000
HOST_FAILURES = 2
CONTENT_TYPE = "image/webp"


@dataclass
class ThumbnailReport:
    cached: int = 0
    failed: int = 0
    unreachable_hosts: list[str] = field(default_factory=list)


class _RefusedError(Exception):
    """The URL answered, but not with an image we keep (counts as a try)."""


def _download(client: httpx.Client, url: str) -> bytes:
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise _RefusedError(f"HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise _RefusedError(f"larger than {MAX_BYTES:,} bytes")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BYTES:
                raise _RefusedError(f"larger than {MAX_BYTES:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def cache_thumbnails(
    pw: Paperwire,
    limit: int = 1000,
    arxiv_ids: list[str] | None = None,
    stop: threading.Event | None = None,
) -> ThumbnailReport:
    """Fetch and store up to ``limit`` thumbnails that are not cached yet."""
    store = ThumbnailStore(pw.db)
    media = media_of(pw)
    report = ThumbnailReport()
    failures: dict[str, int] = {}
    timeout = pw.settings.thumbnail_timeout
    headers = {"User-Agent": "paperwire (thumbnail cache)"}
    with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client:
        for paper_id, arxiv_id, url in store.pending(limit, arxiv_ids):
            if stop is not None and stop.is_set():
                break
            host = urlsplit(url).netloc
            if failures.get(host, 0) >= HOST_FAILURES:
                continue
            if not safe_url(url):
                store.record(paper_id, url, None, None, "not an http(s) URL")
                report.failed += 1
                continue
            try:
                data = thumbnail_image(_download(client, url), MAX_PIXELS)
            except (httpx.TransportError, OSError) as exc:
                failures[host] = failures.get(host, 0) + 1
                if failures[host] == HOST_FAILURES:
                    report.unreachable_hosts.append(host)
                    log.info("thumbnails: %s unreachable (%s); skipped this run", host, exc)
                continue
            except (_RefusedError, ImageRejected) as exc:
                store.record(paper_id, url, None, None, str(exc))
                report.failed += 1
                continue
            failures[host] = 0
            digest = hashlib.sha256(url.encode()).hexdigest()[:12]
            key = f"thumbnails/{paper_id}-{digest}.webp"
            media.put(key, data)
            store.record(paper_id, url, key, CONTENT_TYPE, None)
            report.cached += 1
            log.debug("thumbnail of %s cached", arxiv_id)
    return report
