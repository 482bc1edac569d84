"""``/search`` (results page with a filter form) and its twin ``/api/search``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from paperwire.core import Paperwire
from paperwire.models.common import ErrorPublic
from paperwire.models.search import SearchMode, SearchRequest, SearchResponse, SortOrder
from paperwire.web.dependencies import PW, Search, SearchParams, check_page, page_count
from paperwire.web.shown import page_not_kept, page_shows
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, Page, twin

router = APIRouter(tags=["search"])
SUMMARY = "Hybrid keyword + semantic search with filters"

SORTS = [("relevance", "Relevance"), ("newest", "Newest"), ("upvotes", "Most upvoted")]
MODES = [("hybrid", "Hybrid"), ("keyword", "Keyword"), ("semantic", "Meaning (semantic)")]
HAS_CODE = [("", "Any"), ("true", "With code"), ("false", "Without code")]


NO_CLOSE_MATCHES = (
    "No close matches: no paper holds these words or comes close enough in meaning, "
    "so this shows nothing rather than noise."
)
AS_TEXT = (
    "Searched as plain text: this reads like prose, so its quotes and labels are part "
    "of the text, not query syntax."
)


def _notices(pw: Paperwire, params: SearchParams, response: SearchResponse | None) -> list[str]:
    """What the page says above the results: semantic search not ready, no close
    matches, a query searched as plain text."""
    if response is None or not response.query.strip():
        return []
    out = []
    warming = _warming(pw, response)
    if warming:
        out.append(warming)
    elif response.total == 0 and response.mode != SearchMode.keyword:
        out.append(NO_CLOSE_MATCHES)
    if response.as_text and not params.request_as_text:
        out.append(AS_TEXT)
    return out


def _warming(pw: Paperwire, response: SearchResponse) -> str | None:
    if response.semantic_used:
        return None
    if response.mode == SearchMode.hybrid:
        return (
            "Semantic search is warming up: these results match your keywords only. "
            "Matches by meaning join in as soon as papers are embedded."
            if pw.settings.semantic
            else "Semantic search is turned off on this server: results match your keywords only."
        )
    if response.mode == SearchMode.semantic:
        return (
            "Semantic search is not ready yet (papers are still being embedded). "
            "Try the hybrid or keyword mode."
            if pw.settings.semantic
            else "Semantic search is turned off on this server. Try the keyword mode."
        )
    return None


def _render(call: Call, response: SearchResponse | None) -> Response:
    """The results page; with the form's errors (422) when ``response`` is None."""
    params: SearchParams = call.args["params"]
    pages = page_count(response.total, params.limit) if response is not None else 0
    q = params.raw["q"]
    return render(
        call.request,
        "search.html",
        {
            "params": params,
            "response": response,
            "notices": _notices(call.args["pw"], params, response),
            "pages": pages,
            "prev_url": params.url(page=params.page - 1 if params.page > 2 else None)
            if params.page > 1
            else None,
            "next_url": params.url(page=params.page + 1)
            if response is not None and params.page < pages
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


def _form_errors(call: Call, exc: HTTPException) -> Response | None:
    return _render(call, None) if call.args["params"].errors else None


_INVALID: Errors = {422: {"model": ErrorPublic, "description": "A parameter has an invalid value."}}


@twin(
    router,
    Api("/api/search", SearchResponse, errors=_INVALID, summary=SUMMARY),
    Page("/search", respond=_render, failed=_form_errors),
)
def search(pw: PW, params: Search) -> SearchResponse:
    """Without ``q`` it lists papers matching the filters (newest first)."""
    if params.request is None:
        raise HTTPException(status_code=422, detail=params.message)
    found = pw.search.search(params.request)
    check_page(params, found.total)
    _declare_shown(pw, params.request, found)
    return found


def _declare_shown(pw: Paperwire, req: SearchRequest, found: SearchResponse) -> None:
    """What a signed-out results page depends on, for the page cache: a relevance
    ranking changes with the content only (any change but a vote drops every kept page),
    so a vote drops just the pages showing that paper's card; a sorted order moves with
    every vote, so it depends on every change. A page computed before the index surely
    followed the latest change is not kept (as ``ResultCache`` keeps no such ranking)."""
    if not pw.search.results.settled():
        page_not_kept()
    elif req.sort == SortOrder.relevance:
        page_shows(papers=[h.paper.arxiv_id for h in found.hits])
