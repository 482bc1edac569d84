"""Embed: compute document embeddings for papers that lack a current one.

Runs in the background of ``paperwire up`` and as ``paperwire embed`` (cron-friendly).
Progress lives in the database (a paper is done once its vector for the configured
model and current text is stored), so an interrupted run resumes where it stopped.
Saving a chunk's vectors also queues the papers for the index in the same transaction
(``store.journal``); the queue is applied after each chunk when no other process is
applying it, and once more at the end, so a killed run leaves no vector unindexed.
Newest papers go first: they are the ones readers search for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from paperwire.core import Paperwire
from paperwire.services.indexer import apply_pending, drain


@dataclass
class EmbedReport:
    embedded: int
    seconds: float
    remaining: int
    index_pending: int = 0  # vectors queued for the index, left to another process
    index_error: str | None = None  # why the index did not take them, where it did not

    @property
    def docs_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


def embed_backlog(
    pw: Paperwire,
    *,
    limit: int | None = None,
    chunk: int = 128,
    on_progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> EmbedReport:
    """Embed up to ``limit`` backlog papers in chunks; each chunk is saved and indexed.
    ``stop`` ends it after the current chunk."""
    embedder = pw.embedder()
    if embedder is None:
        raise RuntimeError("semantic search is disabled (PAPERWIRE_SEMANTIC=false)")
    model = pw.model_name
    t0 = time.perf_counter()
    done = 0
    while not (stop and stop.is_set()) and (limit is None or done < limit):
        size = chunk if limit is None else min(chunk, limit - done)
        items = pw.store.embedding_backlog(model, size)
        if not items:
            break
        vectors = embedder.encode_documents([text for _, _, text, _ in items])
        pw.store.save_embeddings(
            model, [(pk, h, vectors[i]) for i, (pk, _, _, h) in enumerate(items)]
        )
        apply_pending(pw)
        done += len(items)
        if on_progress:
            on_progress(len(items))
    index = drain(pw)
    remaining = pw.store.backlog_count(model)
    return EmbedReport(
        done, time.perf_counter() - t0, remaining, index.pending, index_error=index.error
    )
