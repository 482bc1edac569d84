"""Follows: follow or unfollow an author, organisation, category or user (buttons on their
pages: plain forms), and ``/following``, the new papers from what you follow, with its
JSON twin ``/api/following`` and a private Atom feed (``/feeds/following.atom``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.people import FollowCreate, FollowingPage, FollowKind, FollowState
from paperwire.services.people import FollowTargetUnknown, People, people_of
from paperwire.web.auth import CSRF, RequireAccount, require_account, safe_next, viewer_of
from paperwire.web.dependencies import BLANK_IS_NONE
from paperwire.web.routes.people import PageNumber
from paperwire.web.twin import Api, Call, Errors, Page, parse_form, twin

router = APIRouter(tags=["follows"])
FOLLOWING_PAGE = 30


async def get_people(request: Request) -> People:
    return people_of(request.app.state.pw)


Ppl = Annotated[People, Depends(get_people)]

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    404: {"model": ErrorPublic, "description": "No such user to follow."},
}
LABELS = {"kind": "What to follow", "target": "Name"}


def _form(call: Call) -> dict[str, Any]:
    data = {"kind": call.value("kind"), "target": call.value("target")}
    return {"data": parse_form(FollowCreate, data, LABELS)}


def _back(call: Call, state: Any = None) -> Response:
    return RedirectResponse(safe_next(call.value("next"), "/following"), status_code=303)


def _change(people: People, request: Request, data: FollowCreate, on: bool) -> FollowState:
    account = require_account(request)
    try:
        return people.follow(account, data.kind, data.target, on)
    except FollowTargetUnknown as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@twin(
    router,
    [
        Api("POST /api/follows", FollowState, errors=_ERRORS, summary="Follow something"),
    ],
    Page("POST /follows", form=_form, respond=_back),
    CSRF,
)
def follow(request: Request, people: Ppl, data: FollowCreate) -> FollowState:
    """Follow an author (as written on papers), an organisation (slug or name), a category
    (e.g. ``cs.CL``) or a user (profile name); following twice changes nothing."""
    return _change(people, request, data, True)


@twin(
    router,
    Api("POST /api/follows/remove", FollowState, errors=_ERRORS, summary="Stop following"),
    Page("POST /unfollow", form=_form, respond=_back),
    CSRF,
)
def unfollow(request: Request, people: Ppl, data: FollowCreate) -> FollowState:
    """Stop following; unfollowing what you do not follow changes nothing."""
    return _change(people, request, data, False)


KindParam = Annotated[FollowKind, Query(description="author, org, category or user.")]
TargetParam = Annotated[str, Query(min_length=1, max_length=300)]


@router.get(
    "/api/follows/state",
    response_model=FollowState,
    responses={404: {"model": ErrorPublic, "description": "No such user."}},
    tags=["follows"],
    summary="Whether you follow something, and how many do",
)
def follow_state(
    request: Request, people: Ppl, kind: KindParam, target: TargetParam
) -> FollowState:
    try:
        return people.state(viewer_of(request).account, kind, target)
    except FollowTargetUnknown as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


PageParam = Annotated[PageNumber | None, BLANK_IS_NONE, Query(description="Page number, from 1.")]


def _context(call: Call, page: FollowingPage) -> dict[str, Any]:
    n = page.page
    return {
        "page": page,
        "prev_url": (f"/following?page={n - 1}" if n > 2 else "/following") if n > 1 else None,
        "next_url": f"/following?page={n + 1}" if page.has_more else None,
        "feed_url": "/feeds/following.atom?token="
        + call.args["people"].feed_token(call.args["account"].id),
        "nav": "following",
        "page_title": "Following",
    }


@twin(
    router,
    Api(
        "/api/following",
        FollowingPage,
        errors={401: {"model": ErrorPublic, "description": "Not logged in."}},
        summary="New papers from what you follow",
    ),
    Page(
        "/following",
        "following.html",
        context=_context,
        json_href=lambda call, page: f"/api/following?page={page.page}",
    ),
)
def following(people: Ppl, account: RequireAccount, page: PageParam = None) -> FollowingPage:
    """Visible papers by the authors, organisations, categories and users you follow,
    newest first (a user brings what they submitted or are a confirmed author of)."""
    return people.following(account.id, page or 1, FOLLOWING_PAGE)
