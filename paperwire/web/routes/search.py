"""``/search`` (results page with a filter form) and its twin ``/api/search``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from paperwire.models.common import ErrorPublic
from paperwire.models.search import SearchMode, SearchResponse
from paperwire.web.dependencies import PW, Search
from paperwire.web.templating import render

router = APIRouter(tags=["search"])

SORTS = [("relevance", "Relevance"), ("newest", "Newest"), ("upvotes", "Most upvoted")]
MODES = [("hybrid", "Hybrid"), ("keyword", "Keyword"), ("semantic", "Meaning (semantic)")]
HAS_CODE = [("", "Any"), ("true", "With code"), ("false", "Without code")]


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request, pw: PW, params: Search) -> HTMLResponse:
    response: SearchResponse | None = None
    if params.request is not None:
        response = pw.search.search(params.request)
    notice = None
    if response is not None and response.query.strip() and not response.semantic_used:
        if response.mode == SearchMode.hybrid:
            notice = (
                "Semantic search is warming up: these results match your keywords only. "
                "Matches by meaning join in as soon as papers are embedded."
                if pw.settings.semantic
                else "Semantic search is turned off on this server: "
                "results match your keywords only."
            )
        elif response.mode == SearchMode.semantic:
            notice = (
                "Semantic search is not ready yet (papers are still being embedded). "
                "Try the hybrid or keyword mode."
                if pw.settings.semantic
                else "Semantic search is turned off on this server. Try the keyword mode."
            )
    pages = 0
    if response is not None and response.limit:
        pages = (response.total + response.limit - 1) // response.limit
    q = params.raw["q"]
    return render(
        request,
        "search.html",
        {
            "params": params,
            "response": response,
            "notice": notice,
            "pages": pages,
            "prev_url": params.url(page=params.page - 1 if params.page > 2 else None)
            if params.page > 1
            else None,
            "next_url": params.url(page=params.page + 1)
            if response is not None and params.page < pages and params.page * params.limit <= 1000
            else None,
            "sorts": SORTS,
            "modes": MODES,
            "has_code_choices": HAS_CODE,
            "header_q": q,
            "page_title": f"{q} · Search" if q else "Search",
        },
        status_code=422 if params.errors else 200,
        json_href=params.url(base="/api/search", page=params.page if params.page > 1 else None),
    )


@router.get(
    "/api/search",
    response_model=SearchResponse,
    responses={422: {"model": ErrorPublic, "description": "A parameter has an invalid value."}},
    summary="Hybrid keyword + semantic search with filters",
)
def search_api(pw: PW, params: Search) -> SearchResponse:
    """Without ``q`` it lists papers matching the filters (newest first)."""
    if params.request is None:
        raise HTTPException(status_code=422, detail=params.message)
    return pw.search.search(params.request)
