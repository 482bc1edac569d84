"""The daily feed: ``/`` and ``/papers?date=&period=`` and their twin ``/api/daily``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter

from paperwire.models.common import ErrorPublic
from paperwire.models.papers import FeedPage, Period
from paperwire.services import papers
from paperwire.web.dependencies import FEED_DEFAULT_LIMIT, PW, Feed
from paperwire.web.formatting import date_range, long_date, month_name
from paperwire.web.shown import page_shows
from paperwire.web.twin import Api, Call, Errors, Page, Shown, twin

router = APIRouter(tags=["feed"])


def feed_url(day: dt.date, period: Period, base: str = "/papers", limit: int | None = None) -> str:
    params = {"date": day.isoformat()}
    if period != Period.day:
        params["period"] = period.value
    if limit and limit != FEED_DEFAULT_LIMIT:
        params["limit"] = str(limit)
    return f"{base}?{urlencode(params)}"


def heading(page: FeedPage) -> str:
    if page.period == Period.week:
        return f"Week {page.start.isocalendar().week} · {date_range(page.start, page.end)}"
    if page.period == Period.month:
        return month_name(page.start)
    return long_date(page.start)


_TITLES = {Period.day: "Daily Papers", Period.week: "Weekly Papers", Period.month: "Monthly Papers"}
_UNITS = {Period.day: "day", Period.week: "week", Period.month: "month"}


def _context(call: Call, result: Shown[FeedPage]) -> dict[str, Any]:
    page, more, limit = result.model, result.extra["more"], call.args["params"].limit
    return {
        "page": page,
        "more": more,
        "limit": limit,
        "more_url": feed_url(page.date, page.period, limit=min(limit * 5, 500))
        if more and limit < 500
        else None,
        "title": _TITLES[page.period],
        "heading": heading(page),
        "unit": _UNITS[page.period],
        "nav": page.period.value,
        "tabs": [(p, _TITLES[p].split()[0], feed_url(page.date, p)) for p in Period],
        "prev_url": feed_url(page.prev_date, page.period) if page.prev_date else None,
        "next_url": feed_url(page.next_date, page.period) if page.next_date else None,
        "page_title": f"{_TITLES[page.period]} · {heading(page)}",
        "default_day": call.args["params"].date is None,
    }


def _json_href(call: Call, result: Shown[FeedPage]) -> str:
    page = result.model
    return feed_url(page.date, page.period, base="/api/daily", limit=call.args["params"].limit)


_INVALID: Errors = {422: {"model": ErrorPublic, "description": "Invalid date, period or limit."}}


# `/`: today's papers when there are any, else the latest featured day.
@twin(
    router,
    Api("/api/daily", FeedPage, errors=_INVALID, summary="Papers featured on a day, week or month"),
    Page(["/", "/papers"], "feed.html", context=_context, json_href=_json_href),
)
def daily(pw: PW, params: Feed) -> Shown[FeedPage]:
    """Most upvoted first. ``prev_date``/``next_date`` point at the nearest earlier/later
    period that has papers (for weeks and months: that period's first day)."""
    page, more = papers.feed(pw, params.date, params.period, params.limit)
    days = (page.start + dt.timedelta(days=n) for n in range((page.end - page.start).days + 1))
    page_shows(papers=(p.arxiv_id for p in page.papers), days=days)
    return Shown(page, {"more": more})
