"""Upvotes: the card/paper-page form (``POST /papers/{id}/vote``) and the JSON API
(``POST/DELETE /api/papers/{id}/vote``; ``GET /api/votes/{id}`` reads the state — a GET
under ``/api/papers/…`` would be taken by the paper route)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.community import VoteState
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.store.users import Account
from paperwire.store.votes import PaperNotFound
from paperwire.web.auth import CSRF, Comm, RequireAccount, limiter_of, safe_next, viewer_of
from paperwire.web.ratelimit import enforce

router = APIRouter(tags=["votes"])
_UP = {"1", "up", "true", "yes", "on"}


def canonical(arxiv_id: str) -> str:
    try:
        return normalize_arxiv_id(arxiv_id)
    except InvalidArxivId:
        raise HTTPException(
            status_code=404, detail=f"{arxiv_id[:80]!r} is not an arXiv id"
        ) from None


def _cast(request: Request, comm: Comm, account: Account, arxiv_id: str, up: bool) -> VoteState:
    per_minute = comm.pw.settings.rate_votes_per_minute
    enforce(request, limiter_of(request), f"vote:user:{account.id}", per_minute, 60, "votes")
    try:
        if up:
            return comm.votes.vote(account.id, arxiv_id)
        return comm.votes.unvote(account.id, arxiv_id)
    except PaperNotFound:
        raise HTTPException(
            status_code=404, detail=f"Paper {arxiv_id} is not in this index (yet)"
        ) from None


@router.post("/papers/{arxiv_id:path}/vote", include_in_schema=False, dependencies=[CSRF])
def vote_form(
    request: Request,
    comm: Comm,
    arxiv_id: str,
    vote: Annotated[str, Form()] = "1",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """The upvote button: ``vote=1`` upvotes, ``vote=0`` takes it back; then back to
    ``next`` (the page the button was on). Works without JavaScript."""
    aid = canonical(arxiv_id)
    back = safe_next(next_url, default=f"/papers/{aid}")
    account = viewer_of(request).account
    if account is None:
        return RedirectResponse("/login?next=" + quote(back, safe="/"), status_code=303)
    _cast(request, comm, account, aid, vote.strip().lower() in _UP)
    return RedirectResponse(back, status_code=303)


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    404: {"model": ErrorPublic, "description": "Unknown or hidden paper."},
    429: {"model": ErrorPublic, "description": "Too many votes; see `Retry-After`."},
}


@router.get(
    "/api/votes/{arxiv_id:path}",
    response_model=VoteState,
    responses={404: _ERRORS[404]},
    summary="A paper's vote counts and whether you upvoted it",
)
def vote_state_api(request: Request, comm: Comm, arxiv_id: str) -> VoteState:
    aid = canonical(arxiv_id)
    account = viewer_of(request).account
    try:
        return comm.votes.state(account.id if account else None, aid)
    except PaperNotFound:
        raise HTTPException(
            status_code=404, detail=f"Paper {aid} is not in this index (yet)"
        ) from None


@router.post(
    "/api/papers/{arxiv_id:path}/vote",
    response_model=VoteState,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Upvote a paper (idempotent)",
)
def vote_api(request: Request, comm: Comm, account: RequireAccount, arxiv_id: str) -> VoteState:
    """One vote per user and paper; ``changed`` is false when you had already voted.
    ``upvotes`` = ``source_upvotes`` (from the importing source) + ``local_upvotes``."""
    return _cast(request, comm, account, canonical(arxiv_id), True)


@router.delete(
    "/api/papers/{arxiv_id:path}/vote",
    response_model=VoteState,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Take back an upvote (idempotent)",
)
def unvote_api(request: Request, comm: Comm, account: RequireAccount, arxiv_id: str) -> VoteState:
    return _cast(request, comm, account, canonical(arxiv_id), False)
