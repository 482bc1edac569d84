"""Feed reads kept between requests until a change may alter them (``KeptReads``).

Every feed page asks the same few questions of the store: which days have papers (the
default day, the previous and next period, the data clock's newest day) and which
papers a day or week shows, in what order. Under a morning crowd these reads were a
seventh of a loaded server's time (issue 16), repeated for every signed-in home page
and every re-render after a vote, with the same answers until the data changes.

Two kinds of answers are kept, each dropped by what can change it
(``store.versions``: every commit raises the data version and logs what it changed):

* **days** (``span`` None): which days have visible featured papers. Only a change that
  wrote papers or featured days other than their counters (an ingest, a submission,
  hiding a paper), or one whose tables are unknown, can change them; a vote or a comment
  cannot.
* **a period's papers** (``span`` = its first and last day): also their counts and
  order, so any change that declared nothing (a comment, a signup: the change log then
  no longer gives the days a vote among the same changes declared) drops every kept
  period, and a vote, which declares the days its paper was featured on
  (``paper_tags``), drops the periods that contain one of those days. The next
  request reads that period afresh: a vote shows at once, and what it did not touch
  (another week, the days) stays.

Answers are read and kept under one lock, after catching up with the version the
request read: what is kept was read after that version, so it is never older than what
the watch has seen (a request that read an older version gets a newer answer, never a
staler one).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from paperwire.store.db import Database
from paperwire.store.schema.papers import Featured, Paper
from paperwire.store.versions import News, days_in

__all__ = ["KeptReads"]

T = TypeVar("T")

# what the days are read from: the papers (visibility, publication days) and their
# featured days; counters (``papers:counts``) do not change them
DAY_READS = frozenset({Paper.__tablename__, Featured.__tablename__})

Span = tuple[dt.date, dt.date] | None


class KeptReads:
    """Answers of ``compute`` kept by key (at most ``entries``, least recently used
    dropped first) until a change may alter them (see the module doc)."""

    def __init__(self, db: Database, entries: int = 256) -> None:
        self.db = db
        self.entries = entries
        self._watch = db.watch()
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, tuple[Span, Any]] = OrderedDict()

    def get(self, key: Hashable, span: Span, compute: Callable[[], T]) -> T:
        """The kept answer for ``key``, else ``compute()``'s, kept. ``span``: the first
        and last day of the period whose papers it lists, None for an answer about days
        only. Treat the answer as read-only."""
        version = self.db.data_version()[0]
        with self._lock:  # held while reading: a request after a change waits for it
            news = self._watch.news(version)
            if news is not None:
                self._catch_up(news)
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found[1]  # type: ignore[no-any-return]
            value = compute()
            self._kept[key] = (span, value)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
            return value

    def _catch_up(self, news: News) -> None:
        if news.touches(DAY_READS):  # also the first look, a lost log, unknown tables
            self._kept.clear()
        elif news.anything:
            # a change that declared nothing, maybe among declared ones whose tags the
            # log then no longer gives (a signup, then a vote): any period may be reached
            self._drop(lambda span: True)
        else:
            days = days_in(news.tags or ())
            self._drop(lambda span: any(span[0] <= d <= span[1] for d in days))

    def _drop(self, touched: Callable[[tuple[dt.date, dt.date]], bool]) -> None:
        """Drop the kept periods ``touched`` says a change reached (days stay)."""
        for key in [k for k, (span, _) in self._kept.items() if span is not None and touched(span)]:
            del self._kept[key]
