"""Trending: ``/trending`` and ``/api/trending`` (``PaperStore.trending``).

score = votes / (age_hours + trending_offset_hours) ** trending_gravity, where votes are
the displayed upvotes (source + local) and the age runs from the paper's newest featured
day (midnight UTC), or its publication time when it was never featured; only papers
seen within ``trending_window_days`` compete.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from paperwire.core import Paperwire
from paperwire.models.common import ErrorPublic
from paperwire.models.community import TrendingItem, TrendingPage
from paperwire.models.papers import Period
from paperwire.web.dependencies import PW, ParamError, parse_int
from paperwire.web.templating import render

router = APIRouter(tags=["feed"])
DEFAULT_LIMIT = 30
MAX_LIMIT = 100
_TABS = [(Period.day, "Daily"), (Period.week, "Weekly"), (Period.month, "Monthly")]

LimitParam = Annotated[
    str | None,
    Query(description=f"Most papers to return, 1–{MAX_LIMIT} (default {DEFAULT_LIMIT})."),
]


def build_trending(pw: Paperwire, limit: int, now: dt.datetime | None = None) -> TrendingPage:
    s = pw.settings
    when = now or dt.datetime.now(dt.UTC)
    ranked = pw.store.trending(
        when,
        gravity=s.trending_gravity,
        offset_hours=s.trending_offset_hours,
        window_days=s.trending_window_days,
        limit=limit,
    )
    return TrendingPage(
        generated_at=when,
        gravity=s.trending_gravity,
        offset_hours=s.trending_offset_hours,
        window_days=s.trending_window_days,
        items=[TrendingItem(paper=card, score=round(score, 6)) for card, score in ranked],
    )


def _limit(value: str | None) -> int:
    try:
        return parse_int(value, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    except ParamError as exc:
        raise HTTPException(status_code=422, detail=exc.message) from None


@router.get("/trending", response_class=HTMLResponse, include_in_schema=False)
def trending_page(request: Request, pw: PW, limit: LimitParam = None) -> HTMLResponse:
    n = _limit(limit)
    page = build_trending(pw, n)
    return render(
        request,
        "trending.html",
        {
            "page": page,
            "tabs": [(label, f"/papers?period={p.value}") for p, label in _TABS],
            "nav": "trending",
            "page_title": "Trending papers",
        },
        json_href="/api/trending" + (f"?limit={n}" if n != DEFAULT_LIMIT else ""),
    )


@router.get(
    "/api/trending",
    response_model=TrendingPage,
    responses={422: {"model": ErrorPublic, "description": "Invalid limit."}},
    summary="Papers gaining upvotes fastest right now",
)
def trending_api(pw: PW, limit: LimitParam = None) -> TrendingPage:
    """``score = upvotes / (age_hours + offset_hours) ** gravity`` over papers seen in the
    last ``window_days``; age counts from the newest featured day (midnight UTC), else
    the publication time. Parameters come from the ``PAPERWIRE_TRENDING_*`` settings."""
    return build_trending(pw, _limit(limit))
