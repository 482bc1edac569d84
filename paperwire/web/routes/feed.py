"""The daily feed: ``/`` and ``/papers?date=&period=`` and their twin ``/api/daily``."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperwire.core import Paperwire
from paperwire.models.common import ErrorPublic
from paperwire.models.papers import FeedPage, Period
from paperwire.web.dependencies import FEED_DEFAULT_LIMIT, PW, Feed, FeedParams
from paperwire.web.formatting import date_range, long_date, month_name
from paperwire.web.templating import render

router = APIRouter(tags=["feed"])


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


def default_day(pw: Paperwire) -> dt.date:
    """Today when it has papers, else the latest featured day (today on an empty site)."""
    today = dt.datetime.now(dt.UTC).date()
    if pw.store.feed(today, today, limit=1):
        return today
    _, last = pw.store.feature_day_bounds()
    return last or today


def build_feed(pw: Paperwire, params: FeedParams) -> tuple[FeedPage, bool]:
    """The feed page and whether more papers exist beyond ``params.limit``."""
    day = params.date or default_day(pw)
    start, end = period_bounds(day, params.period)
    papers = pw.store.feed(start, end, limit=params.limit + 1)
    more = len(papers) > params.limit
    prev_day, next_day = pw.store.adjacent_feature_days(start, end)
    if prev_day is not None:
        prev_day = period_bounds(prev_day, params.period)[0]
    if next_day is not None:
        next_day = period_bounds(next_day, params.period)[0]
    page = FeedPage(
        date=day,
        period=params.period,
        start=start,
        end=end,
        prev_date=prev_day,
        next_date=next_day,
        papers=papers[: params.limit],
    )
    return page, more


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


def _render_feed(request: Request, pw: Paperwire, params: FeedParams) -> HTMLResponse:
    page, more = build_feed(pw, params)
    return render(
        request,
        "feed.html",
        {
            "page": page,
            "more": more,
            "limit": params.limit,
            "more_url": feed_url(page.date, page.period, limit=min(params.limit * 5, 500))
            if more and params.limit < 500
            else None,
            "title": _TITLES[page.period],
            "heading": heading(page),
            "unit": _UNITS[page.period],
            "nav": page.period.value,
            "tabs": [(p, _TITLES[p].split()[0], feed_url(page.date, p)) for p in Period],
            "prev_url": feed_url(page.prev_date, page.period) if page.prev_date else None,
            "next_url": feed_url(page.next_date, page.period) if page.next_date else None,
            "page_title": f"{_TITLES[page.period]} · {heading(page)}",
        },
        json_href=feed_url(page.date, page.period, base="/api/daily", limit=params.limit),
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, pw: PW, params: Feed) -> HTMLResponse:
    """Today's papers when there are any, else the latest featured day."""
    return _render_feed(request, pw, params)


@router.get("/papers", response_class=HTMLResponse, include_in_schema=False)
def feed_page(request: Request, pw: PW, params: Feed) -> HTMLResponse:
    return _render_feed(request, pw, params)


@router.get(
    "/api/daily",
    response_model=FeedPage,
    responses={422: {"model": ErrorPublic, "description": "Invalid date, period or limit."}},
    summary="Papers featured on a day, week or month",
)
def daily_api(pw: PW, params: Feed) -> FeedPage:
    """Most upvoted first. ``prev_date``/``next_date`` point at the nearest earlier/later
    period that has papers (for weeks and months: that period's first day)."""
    page, _ = build_feed(pw, params)
    return page
