"""Trending: ``/trending`` and ``/api/trending`` (``PaperStore.trending``).

score = votes / (age_hours + trending_offset_hours) ** trending_gravity, where votes are
the displayed upvotes (source + local) and the age runs from the paper's newest featured
day (midnight UTC), or its publication time when it was never featured; only papers
seen within ``trending_window_days`` compete.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from paperwire.models.common import ErrorPublic
from paperwire.models.community import TrendingPage
from paperwire.models.papers import Period
from paperwire.services import papers
from paperwire.web.dependencies import PW, ParamError, parse_int
from paperwire.web.twin import Api, Call, Errors, Page, twin

router = APIRouter(tags=["feed"])
SUMMARY = "Papers gaining upvotes fastest right now"
DEFAULT_LIMIT = 30
MAX_LIMIT = 100
_TABS = [(Period.day, "Daily"), (Period.week, "Weekly"), (Period.month, "Monthly")]

LimitParam = Annotated[
    str | None,
    Query(description=f"Most papers to return, 1–{MAX_LIMIT} (default {DEFAULT_LIMIT})."),
]


def _limit(value: str | None) -> int:
    try:
        return parse_int(value, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    except ParamError as exc:
        raise HTTPException(status_code=422, detail=exc.message) from None


def _json_href(call: Call, page: TrendingPage) -> str:
    n = _limit(call.args["limit"])
    return "/api/trending" + (f"?limit={n}" if n != DEFAULT_LIMIT else "")


def _context(call: Call, page: TrendingPage) -> dict[str, Any]:
    tabs = [(label, f"/papers?period={p.value}") for p, label in _TABS]
    return {"page": page, "tabs": tabs, "nav": "trending", "page_title": "Trending papers"}


_INVALID: Errors = {422: {"model": ErrorPublic, "description": "Invalid limit."}}


@twin(
    router,
    Api("/api/trending", TrendingPage, errors=_INVALID, summary=SUMMARY),
    Page("/trending", "trending.html", context=_context, json_href=_json_href),
)
def trending(pw: PW, limit: LimitParam = None) -> TrendingPage:
    """``score = upvotes / (age_hours + offset_hours) ** gravity`` over papers seen in the
    last ``window_days``; age counts from the newest featured day (midnight UTC), else
    the publication time. Parameters come from the ``PAPERWIRE_TRENDING_*`` settings."""
    return papers.trending(pw, _limit(limit))
