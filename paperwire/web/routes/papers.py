"""Paper pages: ``/papers/{arxiv_id}`` and ``/api/papers/{arxiv_id}``."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperwire.core import Paperwire
from paperwire.models.common import ErrorPublic
from paperwire.models.papers import PaperPublic
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.web.dependencies import PW
from paperwire.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(tags=["papers"])
SIMILAR = 6


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


def load_paper(pw: Paperwire, arxiv_id: str) -> PaperPublic:
    paper = pw.store.get(arxiv_id)
    if paper is None:
        raise PaperNotFound(f"Paper {arxiv_id} is not in this index (yet)", arxiv_id, arxiv_id)
    try:
        similar, method = pw.search.similar(arxiv_id, SIMILAR)
    except Exception:  # similar papers are a bonus; the page must not fail over them
        log.exception("similar papers failed for %s", arxiv_id)
        similar, method = [], None
    return paper.model_copy(update={"similar": similar, "similar_method": method})


@router.get("/papers/{arxiv_id:path}", response_class=HTMLResponse, include_in_schema=False)
def paper_page(request: Request, pw: PW, arxiv_id: str) -> Response:
    if not arxiv_id.strip("/"):
        return RedirectResponse("/papers", status_code=307)
    canonical = canonical_id(arxiv_id)
    if canonical != arxiv_id:
        return RedirectResponse(f"/papers/{canonical}", status_code=301)
    paper = load_paper(pw, canonical)
    return render(
        request,
        "paper.html",
        {"paper": paper, "page_title": paper.title},
        json_href=f"/api/papers/{canonical}",
    )


@router.get(
    "/api/papers/{arxiv_id:path}",
    response_model=PaperPublic,
    responses={
        301: {"description": "Redirect to the canonical (versionless) id."},
        404: {"model": ErrorPublic, "description": "Unknown paper or not an arXiv id."},
    },
    summary="One paper with its similar papers",
)
def paper_api(pw: PW, arxiv_id: str) -> Response | PaperPublic:
    """Accepts versions (``2506.08007v2``), ``arXiv:`` prefixes and old-style ids
    (``hep-th/9901001``); non-canonical forms redirect (301) to the canonical id."""
    canonical = canonical_id(arxiv_id)
    if canonical != arxiv_id:
        return RedirectResponse(f"/api/papers/{canonical}", status_code=301)
    return load_paper(pw, canonical)
