"""Papers as the site shows them: the feed of a day, week or month, one paper with its
similar papers, and what is trending.

The store answers the queries; this module decides which ones (the default day, the
period's bounds, the neighbouring periods, the trending parameters from ``Settings``).
The web pages, their JSON twins, the Atom feeds and the digests call it.
"""

from __future__ import annotations

import datetime as dt
import logging

from paperwire.core import Paperwire
from paperwire.models.common import DataClock
from paperwire.models.community import TrendingItem, TrendingPage
from paperwire.models.papers import FeedPage, PaperCard, PaperPublic, Period
from paperwire.models.search import SearchFilters
from paperwire.services.clock import data_clock

log = logging.getLogger(__name__)
SIMILAR = 6


def period_bounds(day: dt.date, period: Period) -> tuple[dt.date, dt.date]:
    """First and last (inclusive) day of the period containing ``day``."""
    if period == Period.week:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    if period == Period.month:
        start = day.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return start, following - dt.timedelta(days=1)
    return day, day


def default_day(pw: Paperwire, clock: DataClock | None = None) -> dt.date:
    """The clock's today when it has papers, else the latest featured day up to it (the
    clock's today on an empty site). On a stale install that is the newest data's day,
    not a day someone's submission made today."""
    today = (clock or data_clock(pw)).now.date()
    if pw.store.shows_day(today):
        return today
    days = pw.store.featured_days(today, 1)
    return days[0] if days else today


def feed(pw: Paperwire, day: dt.date | None, period: Period, limit: int) -> tuple[FeedPage, bool]:
    """The feed page of the period around ``day`` (default: ``default_day``) and whether
    more papers exist beyond ``limit``."""
    clock = data_clock(pw)
    day = day or default_day(pw, clock)
    start, end = period_bounds(day, period)
    papers = pw.store.feed(start, end, limit=limit + 1)
    more = len(papers) > limit
    prev_day, next_day = pw.store.adjacent_feature_days(start, end)
    if prev_day is not None:
        prev_day = period_bounds(prev_day, period)[0]
    if next_day is not None:
        next_day = period_bounds(next_day, period)[0]
    page = FeedPage(
        date=day,
        period=period,
        start=start,
        end=end,
        prev_date=prev_day,
        next_date=next_day,
        papers=papers[:limit],
        as_of=clock,
    )
    return page, more


def paper(pw: Paperwire, arxiv_id: str) -> PaperPublic | None:
    """One paper with its similar papers (None when it is not here or hidden)."""
    found = pw.store.get(arxiv_id)
    if found is None:
        return None
    try:
        page = pw.search.similar_page(arxiv_id, SearchFilters(), SIMILAR, count=False)
    except Exception:  # similar papers are a bonus; the page must not fail over them
        log.exception("similar papers failed for %s", arxiv_id)
        page = None
    if page is None:
        return found
    return found.model_copy(
        update={
            "similar": [h.paper for h in page.hits],
            "similar_method": page.method,
            "similar_terms": {h.paper.arxiv_id: h.shared_terms for h in page.hits},
        }
    )


def trending_cards(pw: Paperwire, limit: int, now: dt.datetime) -> list[tuple[PaperCard, float]]:
    """The ``limit`` best papers by the trending score at ``now`` (a ``data_clock``'s
    ``now``), with their scores."""
    s = pw.settings
    return pw.store.trending(
        now,
        gravity=s.trending_gravity,
        offset_hours=s.trending_offset_hours,
        window_days=s.trending_window_days,
        limit=limit,
    )


def trending(pw: Paperwire, limit: int, wall: dt.datetime | None = None) -> TrendingPage:
    """``/trending``: the ranked papers, the parameters that ranked them and the clock
    they were ranked by (``data_clock`` at wall-clock time ``wall``, default now)."""
    s = pw.settings
    wall = wall or dt.datetime.now(dt.UTC)  # one instant for the clock and the page
    clock = data_clock(pw, wall)
    ranked = trending_cards(pw, limit, clock.now)
    return TrendingPage(
        generated_at=wall,
        as_of=clock,
        gravity=s.trending_gravity,
        offset_hours=s.trending_offset_hours,
        window_days=s.trending_window_days,
        items=[TrendingItem(paper=card, score=round(score, 6)) for card, score in ranked],
    )
