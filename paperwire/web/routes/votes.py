"""Upvotes: the card/paper-page form (``POST /papers/{id}/vote``) and the JSON API
(``POST/DELETE /api/papers/{id}/vote``; ``GET /api/votes/{id}`` reads the state — a GET
under ``/api/papers/…`` would be taken by the paper route)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.community import VoteState
from paperwire.store.votes import PaperNotFound
from paperwire.web.auth import (
    CSRF,
    Comm,
    LoginRequired,
    limiter_of,
    require_account,
    safe_next,
    viewer_of,
)
from paperwire.web.dependencies import arxiv_id_or_error
from paperwire.web.ratelimit import enforce
from paperwire.web.twin import Api, Call, Errors, Page, twin

router = APIRouter(tags=["votes"])
_UP = {"1", "up", "true", "yes", "on"}

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    404: {"model": ErrorPublic, "description": "Unknown or hidden paper."},
    429: {"model": ErrorPublic, "description": "Too many votes; see `Retry-After`."},
}


def canonical(arxiv_id: str) -> str:
    return arxiv_id_or_error(arxiv_id, 404, f"{arxiv_id[:80]!r} is not an arXiv id")


def _missing(arxiv_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Paper {arxiv_id} is not in this index (yet)")


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
        raise _missing(aid) from None


def _back(call: Call) -> str:
    """Where the button was: the form's ``next``, else the paper's page."""
    return safe_next(call.value("next"), default=f"/papers/{canonical(call.args['arxiv_id'])}")


def _log_in_first(call: Call, exc: HTTPException) -> Response | None:
    """Signed out: log in, then back to the page the button was on."""
    if not isinstance(exc, LoginRequired):
        return None
    return RedirectResponse("/login?next=" + quote(_back(call), safe="/"), status_code=303)


@twin(
    router,
    [
        Api(
            "POST /api/papers/{arxiv_id:path}/vote",
            VoteState,
            errors=_ERRORS,
            summary="Upvote a paper (idempotent)",
            name="vote_api",
            fixed={"up": True},
        ),
        Api(
            "DELETE /api/papers/{arxiv_id:path}/vote",
            VoteState,
            errors=_ERRORS,
            summary="Take back an upvote (idempotent)",
            name="unvote_api",
            description="",
            fixed={"up": False},
        ),
    ],
    Page(
        "POST /papers/{arxiv_id:path}/vote",
        form=lambda call: {"up": call.value("vote", "1").strip().lower() in _UP},
        form_params=["up"],
        respond=lambda call, state: RedirectResponse(_back(call), status_code=303),
        failed=_log_in_first,
    ),
    CSRF,
)
def vote(request: Request, comm: Comm, arxiv_id: str, up: bool) -> VoteState:
    """One vote per user and paper; ``changed`` is false when you had already voted.
    ``upvotes`` = ``source_upvotes`` (from the importing source) + ``local_upvotes``."""
    account = require_account(request)  # 401 for the API; pages handle it above
    aid = canonical(arxiv_id)
    per_minute = comm.pw.settings.rate_votes_per_minute
    enforce(request, limiter_of(request), f"vote:user:{account.id}", per_minute, 60, "votes")
    try:
        return comm.votes.vote(account.id, aid) if up else comm.votes.unvote(account.id, aid)
    except PaperNotFound:
        raise _missing(aid) from None
