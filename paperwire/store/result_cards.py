"""Result cards kept between requests until a change reaches their paper
(``KeptResultCards``; not ``web.templating.KeptCards``, which keeps rendered card bodies).

Every search page reads the cards of its 20–30 papers, and the text its snippets come
from, by id. Those rows are spread over the papers table: a page whose papers were not
read lately took 1.3 ms from SQLite with the file in the OS cache, 3.3–3.6 ms where it
was not, 0.67 ms read again at once (74.7k papers, 100 random pages; issue 16). The same
cards come back within minutes: a query refined by a filter or switched to another mode,
the papers everyone opens in the morning, a kept ranking whose cards are read afresh.

A card shows counts, so it is kept only until the data version says a change may have
reached it (``store.versions``):

* a change that declared its papers (a vote: ``paper_tags``) drops those papers only;
* any other change (an ingest, an edit, a hide, a comment, a signup), or changes the log
  no longer holds, drops every card: a change that declared nothing may hide a vote's
  tags among it (``News``), so no table list can keep a card safely then.

Cards missing from what is kept are read outside the lock (other searches go on) and
kept only if the watch did not move meanwhile: they were read after the watch had seen
every change it dropped cards for, so nothing kept is older than what it has seen; a
change it has not seen yet drops them when it is seen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from paperwire.models.papers import PaperCard
from paperwire.store.db import Database
from paperwire.store.versions import News, papers_in

__all__ = ["CARDS_AND_TEXTS_KEPT", "KeptResultCards"]

CardsAndTexts = tuple[dict[str, PaperCard], dict[str, tuple[str, str]]]

CARDS_AND_TEXTS_KEPT = 4096
"""Papers kept: a busy morning's result pages, in at most ~25 MB per worker (6.1 KB a paper
with its card, title, abstract and teaser, measured on the 74.7k store)."""


class KeptResultCards:
    """``read(ids)``'s cards and texts (``store.papers.read_cards``), kept by arXiv id
    (at most ``entries``, least recently used dropped first) until a change may reach
    them (see the module doc)."""

    def __init__(
        self,
        db: Database,
        read: Callable[[Sequence[str]], CardsAndTexts],
        entries: int = CARDS_AND_TEXTS_KEPT,
    ) -> None:
        self.db = db
        self.entries = entries
        self._read = read
        self._watch = db.watch()
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[PaperCard, tuple[str, str]]] = OrderedDict()

    def get(self, arxiv_ids: Sequence[str]) -> CardsAndTexts:
        """The cards and texts of the visible papers among ``arxiv_ids`` (hidden and
        unknown ones are absent), as fresh as a read after the version this request
        read."""
        if not arxiv_ids:
            return {}, {}
        version = self.db.data_version()[0]
        cards: dict[str, PaperCard] = {}
        texts: dict[str, tuple[str, str]] = {}
        with self._lock:
            news = self._watch.news(version)
            if news is not None:
                self._catch_up(news)
            seen = self._watch.seen
            for aid in arxiv_ids:
                found = self._kept.get(aid)
                if found is not None:
                    self._kept.move_to_end(aid)
                    cards[aid], texts[aid] = found
        missing = [aid for aid in arxiv_ids if aid not in cards]
        if not missing:
            return cards, texts
        read_cards, read_texts = self._read(missing)
        cards.update(read_cards)
        texts.update(read_texts)
        with self._lock:
            if self._watch.seen == seen:  # else a change may have been dropped meanwhile
                for aid, card in read_cards.items():
                    self._kept[aid] = (card, read_texts[aid])
                    self._kept.move_to_end(aid)
                while len(self._kept) > self.entries:
                    self._kept.popitem(last=False)
        return cards, texts

    def forget(self, arxiv_ids: Sequence[str]) -> None:
        """Drop what is kept of these papers: a write that bypassed the store's sessions
        (so the data version stays: an operator's SQL, a test's) shows on the next read."""
        with self._lock:
            for aid in arxiv_ids:
                self._kept.pop(aid, None)

    def __len__(self) -> int:
        return len(self._kept)

    def _catch_up(self, news: News) -> None:
        if news.anything:
            self._kept.clear()
            return
        for aid in papers_in(news.tags or ()):
            self._kept.pop(aid, None)
