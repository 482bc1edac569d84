"""Paper pages: ``/papers/{arxiv_id}`` and ``/api/papers/{arxiv_id}``; the papers most
similar to one, page by page: ``/papers/{arxiv_id}/similar`` and its JSON twin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.papers import PaperPublic
from paperwire.models.search import SimilarPage
from paperwire.services import papers
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.web.dependencies import PW, SearchParams, SimilarFilters, page_count
from paperwire.web.routes.search import HAS_CODE
from paperwire.web.shown import page_shows
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, Moved, Page, twin

router = APIRouter(tags=["papers"])
SUMMARY = "One paper with its similar papers"


class PaperNotFound(HTTPException):
    """404 for a paper; carries the id so the page can offer arXiv and a search."""

    def __init__(self, detail: str, arxiv_id: str | None, raw: str) -> None:
        super().__init__(status_code=404, detail=detail)
        self.arxiv_id = arxiv_id
        self.raw = raw


def canonical_id(raw: str) -> str:
    try:
        return normalize_arxiv_id(raw)
    except InvalidArxivId:
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        raise PaperNotFound(
            f"{shown!r} is not an arXiv id (expected e.g. 2506.08007 or hep-th/9901001)",
            None,
            raw,
        ) from None


def _feed(call: Call, exc: HTTPException) -> Response | None:
    """``/papers/`` (no id) is the feed."""
    if isinstance(exc, PaperNotFound) and not call.args["arxiv_id"].strip("/"):
        return RedirectResponse("/papers", status_code=307)
    return None


_ERRORS: Errors = {
    301: {"description": "Redirect to the canonical (versionless) id."},
    404: {"model": ErrorPublic, "description": "Unknown paper or not an arXiv id."},
}


_SIMILAR_ERRORS: Errors = {
    **_ERRORS,
    422: {"model": ErrorPublic, "description": "A filter has an invalid value."},
}


def _similar_page(call: Call, page: SimilarPage) -> dict[str, Any]:
    params: SearchParams = call.args["params"]
    base = f"/papers/{page.paper.arxiv_id}/similar"
    last = page_count(page.total, page.limit)
    return {
        "page": page,
        "params": params,
        "base": base,
        "pages": last,
        "prev_url": params.url(base=base, page=params.page - 1 if params.page > 2 else None)
        if params.page > 1
        else None,
        "next_url": params.url(base=base, page=params.page + 1) if params.page < last else None,
        "has_code_choices": HAS_CODE,
        "page_title": f"Similar to {page.paper.title}",
    }


def _similar_failed(call: Call, exc: HTTPException) -> Response | None:
    """A bad filter shows the page's form with its errors (422)."""
    params: SearchParams = call.args["params"]
    if not params.errors:
        return None
    return render(
        call.request,
        "similar.html",
        {"page": None, "params": params, "has_code_choices": HAS_CODE, "page_title": "Similar"},
        status_code=422,
    )


# Registered before ``/papers/{arxiv_id:path}``, which would take ".../similar" as an id.
@twin(
    router,
    Api(
        "/api/papers/{arxiv_id:path}/similar",
        SimilarPage,
        errors=_SIMILAR_ERRORS,
        summary="Papers similar to one paper, best first, page by page",
    ),
    Page(
        "/papers/{arxiv_id:path}/similar",
        "similar.html",
        context=_similar_page,
        json_href=lambda call, page: call.args["params"].url(
            base=f"/api/papers/{page.paper.arxiv_id}/similar",
            page=call.args["params"].page if call.args["params"].page > 1 else None,
        ),
        failed=_similar_failed,
    ),
)
def similar(pw: PW, arxiv_id: str, params: SimilarFilters) -> SimilarPage:
    """Every paper ranked by similarity to this one (its embedding's neighbours fused with
    a "more like this" query of its key terms), with the key terms each shares with it;
    takes the search filters (``from``, ``to``, ``category``, ``org``, ``has_code``) and
    ``page``."""
    canonical = canonical_id(arxiv_id)
    if canonical != arxiv_id:
        raise Moved(arxiv_id=canonical)
    if params.request is None:
        raise HTTPException(status_code=422, detail=params.message)
    req = params.request
    found = pw.search.similar_page(canonical, req.filters, req.limit, req.offset)
    if found is None:
        raise PaperNotFound(f"Paper {canonical} is not in this index (yet)", canonical, canonical)
    return found


@twin(
    router,
    Api("/api/papers/{arxiv_id:path}", PaperPublic, errors=_ERRORS, summary=SUMMARY),
    Page(
        "/papers/{arxiv_id:path}",
        "paper.html",
        context=lambda call, paper: {"paper": paper, "page_title": paper.title},
        json_href=lambda call, paper: f"/api/papers/{paper.arxiv_id}",
        failed=_feed,
    ),
)
def paper(pw: PW, arxiv_id: str) -> PaperPublic:
    """Accepts versions (``2506.08007v2``), ``arXiv:`` prefixes and old-style ids
    (``hep-th/9901001``); non-canonical forms redirect (301) to the canonical id."""
    canonical = canonical_id(arxiv_id)
    if canonical != arxiv_id:
        raise Moved(arxiv_id=canonical)
    found = papers.paper(pw, canonical)
    if found is None:
        raise PaperNotFound(f"Paper {canonical} is not in this index (yet)", canonical, canonical)
    page_shows(papers=[found.arxiv_id, *(p.arxiv_id for p in found.similar)])
    return found
