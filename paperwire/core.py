"""``Paperwire``: the application's parts, wired once from ``Settings``.

The CLI, the web app, the jobs and the tests all build one of these (tests through
``tests/conftest.py``'s factory on a temporary home), so there is one way to open
the database, the index and the embedding model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import cached_property
from pathlib import Path

import paperwire
from paperwire.config import Settings
from paperwire.index import prescan
from paperwire.index.base import SearchIndex, takes_length
from paperwire.index.embedding.base import Embedder
from paperwire.index.embedding.loader import load_embedder
from paperwire.index.embedding.onnx import export_state
from paperwire.index.factory import open_index
from paperwire.models.status import StatusPublic
from paperwire.search.service import SearchService
from paperwire.store import Database, PaperStore
from paperwire.store.journal import IndexJournal
from paperwire.store.resident import ResidentFiles, ResidentState
from paperwire.text import snippets


class Paperwire:
    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        settings.ensure_home()
        self.db = Database(settings.db_url)
        if migrate:
            self.db.migrate()
        self.store = PaperStore(self.db)
        self.journal = IndexJournal(self.db)
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()
        self._keep_rankings = False
        self._on_close: list[Callable[[], None]] = []

    @cached_property
    def index(self) -> SearchIndex:
        return open_index(self.settings)

    @property
    def model_name(self) -> str:
        return self.settings.embedding_model

    def embedder(self) -> Embedder | None:
        """The embedding model, loaded on first use; None when semantic search is off."""
        if not self.settings.semantic:
            return None
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    def embedder_if_loaded(self) -> Embedder | None:
        return self._embedder

    @cached_property
    def search(self) -> SearchService:
        s = self.settings
        return SearchService(
            self.store,
            self.index,
            self.embedder,
            rrf_k=s.rrf_k,
            fusion=s.fusion,
            keyword_weight=s.fusion_keyword_weight,
            semantic_floor=s.semantic_floor,
            keyword_coverage=s.keyword_coverage,
            partial_coverage=s.partial_coverage,
            semantic_bound=s.semantic_bound,
            keyword_count_bound=s.keyword_count_bound,
            result_seconds=s.page_cache_seconds if self._keep_rankings else 0.0,
        )

    def keep_rankings(self) -> None:
        """Keep search rankings and similar papers between requests (``search.results``):
        what a web server wants; the CLI and the benchmarks time the search itself. Opens
        nothing (the index stays closed until the first search)."""
        self._keep_rankings = True
        if "search" in self.__dict__:  # already built
            self.search.results.seconds = self.settings.page_cache_seconds

    def kept_resident(
        self, *, wait: bool = True, on_change: Callable[[ResidentState], None] | None = None
    ) -> AbstractContextManager[ResidentFiles | None]:
        """While in it, the SQLite database (and its WAL, where the newest pages are)
        and then the files the index reads now are kept in memory up to
        ``settings.resident_mb`` (``store.resident``). A context that does nothing when
        that is 0 or nothing is local (PostgreSQL and a Milvus server). ``serve`` and
        ``up`` hold it for their workers (``wait`` False: they serve while the first pass
        reads; ``on_change`` hears what it holds), the latency benchmark when asked to."""
        limit = self.settings.resident_mb * 2**20
        if limit <= 0:
            return nullcontext(None)
        database = self.db.file
        index = self.index  # opened here, not first in the follower's thread
        if database is None and not index.data_files():
            return nullcontext(None)
        ours = [database, Path(f"{database}-wal")] if database is not None else []

        def files() -> list[Path]:
            return [*ours, *index.data_files()]

        return ResidentFiles(files, limit, wait=wait, on_change=on_change)

    def _vectors_fit(self) -> bool:
        """Whether the index searches the loaded model's query vectors (where this
        process has loaded it: status does not load a model); a model of another length
        searches keyword matches alone (``SearchService._query_embedder``)."""
        loaded = self.embedder_if_loaded()
        return loaded is None or takes_length(self.index, loaded.dim)

    def status(self) -> StatusPublic:
        """What ``/status``, ``/api/status`` and ``paperwire status`` report."""
        # Count what the worker or a cron ingest committed since this process last looked
        # (cheap when nothing changed: a stat of the index manifests).
        self.index.refresh()
        model = self.model_name
        embedded = self.store.embedded_count(model)
        backlog = self.store.backlog_count(model) if self.settings.semantic else 0
        first, last = self.store.feature_day_bounds()
        vectors = self.index.vector_count()
        return StatusPublic(
            papers=self.store.count(),
            embedded=embedded,
            embedding_model=model,
            embedding_backlog=backlog,
            semantic_ready=self.settings.semantic and vectors > 0 and self._vectors_fit(),
            keyword_documents=self.index.keyword_count(),
            vector_documents=vectors,
            first_day=first,
            last_day=last,
            database=self.db.display_url,
            index=self.index.name,
            version=paperwire.__version__,
            index_pending=self.journal.pending_count(),
            snippet_loops=snippets.loops(),
            int8_product=prescan.product(),
            embedding_export=export_state(self.settings),
        )

    def on_close(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` first when this instance closes: a background thread that uses
        the database (the account mailer) must not outlive it."""
        self._on_close.append(stop)

    def close(self) -> None:
        for stop in reversed(self._on_close):
            stop()
        self._on_close.clear()
        if "index" in self.__dict__:
            self.index.close()
        self.db.close()
