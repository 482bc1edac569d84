"""Ranked results kept between requests, until what they are computed from changes.

A relevance ranking, its snippets and its total come from the index and the
papers' texts; a list of similar papers likewise. Votes, the commonest write by far,
change none of that: only the counts on the cards. So a ranking is kept (``ResultCache``)
under the **content generation** (``ContentGeneration``): a number that moves when the
store records a change that did not declare itself as counts only
(``store.versions.declare_changes``: a vote names its paper) and wrote a table search
reads (``store.papers.SEARCH_READS``: an ingest, an edit, hiding a paper, a new
embedding, the index journal's applier), or whose tables are unknown (a row of an older
process, a change log this process has fallen behind). A signup, a comment, a follow
or a collection edit does not move it. Each answer from the cache gets fresh cards
(``refresh``), so a vote or a comment count shows at once; a newest/most-upvoted sort is
never kept.

The index follows the store within seconds (its journal, another process's commit), so
entries also expire after ``seconds`` (``page_cache_seconds``, as for kept pages) and a
ranking computed in the first ``settle`` seconds after a content change is not kept.
Why: the same query asked again (the next page of results, the HTML page and its JSON
twin, the morning's common queries, a paper page's similar papers) costs a dictionary
lookup and one read of the cards instead of the whole ranking.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from paperwire.store.db import Database
from paperwire.store.papers import SEARCH_READS

__all__ = ["ContentGeneration", "ResultCache"]

T = TypeVar("T")


class ContentGeneration:
    """A counter that moves when the data search reads may have changed (more than
    counts, in ``SEARCH_READS``): one read of the data version per call, and of the
    change log when the version moved."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._watch = db.watch()
        self._lock = threading.Lock()
        self._generation = 0
        self._changed_at = 0.0  # monotonic time the generation last moved

    def current(self) -> tuple[int, float]:
        """``(generation, seconds since it last moved)``."""
        version, _ = self.db.data_version()
        with self._lock:
            news = self._watch.news(version)
            if news is not None and news.touches(SEARCH_READS):
                self._generation += 1
                self._changed_at = time.monotonic()
            return self._generation, time.monotonic() - self._changed_at


class ResultCache:
    """An LRU of results keyed by request and content generation, with an age limit."""

    def __init__(
        self, content: ContentGeneration, seconds: float, settle: float, entries: int = 512
    ) -> None:
        self.content = content
        self.seconds = seconds
        self.settle = settle
        self.entries = entries
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[int, float, object]] = OrderedDict()

    def settled(self) -> bool:
        """Whether the content has been still for ``settle`` seconds: what is computed
        from the index now follows the store's latest change, so it may be kept (here, or
        as a rendered page in the page cache)."""
        return self.content.current()[1] >= self.settle

    def get_or_compute(self, key: str, compute: Callable[[], T], refresh: Callable[[T], T]) -> T:
        """The kept result for ``key`` passed through ``refresh`` (fresh cards), or
        ``compute()``'s, kept when the content has been still for ``settle`` seconds."""
        if self.seconds <= 0:
            return compute()
        generation, still_for = self.content.current()
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(key)
            if found is not None and (found[0] != generation or now - found[1] > self.seconds):
                del self._kept[key]
                found = None
            if found is not None:
                self._kept.move_to_end(key)
        if found is not None:
            return refresh(found[2])  # type: ignore[arg-type]
        result = compute()
        if still_for >= self.settle:
            with self._lock:
                self._kept[key] = (generation, now, result)
                self._kept.move_to_end(key)
                while len(self._kept) > self.entries:
                    self._kept.popitem(last=False)
        return result
