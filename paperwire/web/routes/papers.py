"""Paper pages: ``/papers/{arxiv_id}`` and ``/api/papers/{arxiv_id}``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.papers import PaperPublic
from paperwire.services import papers
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.web.dependencies import PW
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
    return found
