"""What the page being rendered shows, as a view declares it (``page_shows``), for the
page cache (``web.cache``): kept apart so views need not import the cache middleware."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextvars import ContextVar

from paperwire.store.versions import tags_of

__all__ = ["NOT_KEPT", "SHOWN", "page_not_kept", "page_shows"]

# Set to an empty set by the page cache around each signed-out render it may keep.
SHOWN: ContextVar[set[str] | None] = ContextVar("paperwire_page_shows", default=None)
# The mark of a page that must not be kept (``page_not_kept``).
NOT_KEPT = "not-kept"


def page_shows(papers: Iterable[str] = (), days: Iterable[dt.date] = ()) -> None:
    """Declare, from a view, everything a signed-out page shows that a *declared* change
    (``store.versions.declare_changes``, e.g. a vote) can alter: the papers whose cards
    or counts it shows and the days whose feed order it shows. The page cache then keeps
    the page through changes to anything else. A view that does not call this depends on
    every change. No-op outside the page cache (signed in, not cacheable)."""
    shown = SHOWN.get()
    if shown is not None:
        shown.update(tags_of(papers, days))


def page_not_kept() -> None:
    """Declare, from a view, that the signed-out page being rendered must not be kept:
    it may lag the data (a search computed while the index may not have followed the
    latest change yet). Visitors who asked for it while it rendered still share it.
    No-op outside the page cache."""
    shown = SHOWN.get()
    if shown is not None:
        shown.add(NOT_KEPT)
