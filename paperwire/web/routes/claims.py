"""Authorship claims: a signed-in user claims an author name on a paper (``POST
/papers/{id}/claim``, twin ``POST /api/papers/{id}/claims``); an admin confirms or
rejects it (``POST /admin/claims/{id}``, twin ``POST /api/admin/claims/{id}``; pending
ones: ``GET /api/admin/claims``). Confirmed claims show on the profile, and the author
page links to the user."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.people import ClaimCreate, ClaimDecision, ClaimPublic
from paperwire.store.claims import ClaimRefused
from paperwire.web.auth import CSRF, RequireAdmin, require_account
from paperwire.web.dependencies import RowId
from paperwire.web.routes.follows import Ppl
from paperwire.web.routes.votes import canonical
from paperwire.web.twin import Api, Call, Errors, Page, parse_form, twin

router = APIRouter(tags=["claims"])

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong (or not an admin)."},
    404: {"model": ErrorPublic, "description": "No such paper or claim."},
    409: {"model": ErrorPublic, "description": "That author is already claimed."},
    422: {"model": ErrorPublic, "description": "Not an author of that paper."},
}


def _claim_form(call: Call) -> dict[str, Any]:
    return {"data": parse_form(ClaimCreate, {"author": call.value("author")}, {"author": "Author"})}


def _to_paper(call: Call, claim: ClaimPublic) -> Response:
    """Back to the paper, whose page says where the claim stands (a fixed message per
    status: nothing from the URL is shown as text)."""
    return RedirectResponse(f"/papers/{claim.arxiv_id}?claim={claim.status.value}", status_code=303)


@twin(
    router,
    Api(
        "POST /api/papers/{arxiv_id:path}/claims",
        ClaimPublic,
        201,
        _ERRORS,
        "Claim to be an author of a paper",
    ),
    Page("POST /papers/{arxiv_id:path}/claim", form=_claim_form, respond=_to_paper),
    CSRF,
)
def claim(request: Request, people: Ppl, arxiv_id: str, data: ClaimCreate) -> ClaimPublic:
    """The name as written on the paper; an admin confirms it. Claiming again answers
    your existing claim."""
    account = require_account(request)
    try:
        return people.claim(account, canonical(arxiv_id), data.author)
    except ClaimRefused as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None


@router.get(
    "/api/admin/claims",
    response_model=list[ClaimPublic],
    tags=["admin"],
    summary="Authorship claims waiting for a decision",
    responses={
        401: {"model": ErrorPublic, "description": "Not logged in."},
        403: {"model": ErrorPublic, "description": "Not an admin."},
    },
)
def pending_claims(people: Ppl, admin: RequireAdmin) -> list[ClaimPublic]:
    return people.pending_claims()


def _decision_form(call: Call) -> dict[str, Any]:
    return {"data": ClaimDecision(confirm=call.value("decision") == "confirm")}


@twin(
    router,
    Api("POST /api/admin/claims/{claim_id}", ClaimPublic, errors=_ERRORS, summary="Decide a claim"),
    Page(
        "POST /admin/claims/{claim_id}",
        form=_decision_form,
        respond=lambda call, c: RedirectResponse(
            "/admin?done=" + quote(f"claim {c.id} ({c.user} as {c.author}): {c.status.value}"),
            status_code=303,
        ),
    ),
    CSRF,
)
def decide_claim(
    people: Ppl, admin: RequireAdmin, claim_id: RowId, data: ClaimDecision
) -> ClaimPublic:
    """Confirm (the author page links to the user, the paper shows on their profile) or
    reject; written to the audit log."""
    decided = people.decide(admin, claim_id, data.confirm)
    if decided is None:
        raise HTTPException(status_code=404, detail=f"No claim {claim_id}.")
    return decided
