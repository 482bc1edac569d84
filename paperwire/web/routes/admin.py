"""Moderation for admins: ``/admin`` and ``/api/admin/…``.

Hiding a paper removes it from feeds, pages, collections and search (it is deleted from
the index); every action writes an audit-log row. Admins are created from the CLI
(``paperwire users create EMAIL --admin``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.community import AuditEntryPublic, ModerationResult, UserAccount
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.web.auth import CSRF, Comm, RequireAdmin
from paperwire.web.templating import render

router = APIRouter(tags=["admin"])
FormStr = Annotated[str, Form()]


def _arxiv(raw: str) -> str:
    try:
        return normalize_arxiv_id(raw)
    except InvalidArxivId:
        raise HTTPException(
            status_code=422, detail=f"{raw.strip()[:80]!r} is not an arXiv id or URL"
        ) from None


def _hide(comm: Comm, admin: RequireAdmin, raw: str, reason: str) -> ModerationResult:
    aid = _arxiv(raw)
    if comm.submissions.is_hidden(aid) is None:
        raise HTTPException(status_code=404, detail=f"Paper {aid} is not in this index")
    return comm.hide_papers(admin, [aid], reason.strip())


def _unhide(comm: Comm, admin: RequireAdmin, raw: str) -> ModerationResult:
    aid = _arxiv(raw)
    if comm.submissions.is_hidden(aid) is None:
        raise HTTPException(status_code=404, detail=f"Paper {aid} is not in this index")
    return comm.unhide_papers(admin, [aid])


def _hide_user(comm: Comm, admin: RequireAdmin, user_id: int, reason: str) -> ModerationResult:
    try:
        return comm.hide_submissions_of(admin, user_id, reason.strip())
    except LookupError:
        raise HTTPException(status_code=404, detail=f"There is no user {user_id}") from None


# -- page -----------------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, comm: Comm, admin: RequireAdmin, done: str = "") -> HTMLResponse:
    return render(
        request,
        "admin.html",
        {
            "submissions": comm.submissions.recent(50),
            "hidden": comm.pw.store.hidden_ids(),
            "users": [a.private() for a in comm.users.list_all()],
            "audit": comm.audit.recent(50),
            "done": done[:200],
            "nav": "admin",
            "page_title": "Admin",
        },
        json_href="/api/admin/audit",
    )


def _back(result: ModerationResult) -> Response:
    parts = []
    if result.hidden:
        parts.append(f"hidden: {', '.join(result.hidden)}")
    if result.unhidden:
        parts.append(f"visible again: {', '.join(result.unhidden)}")
    if result.unfeatured:
        parts.append(f"no longer featured: {', '.join(result.unfeatured)}")
    done = "; ".join(parts) or "nothing changed"
    return RedirectResponse("/admin?done=" + quote(done), status_code=303)


@router.post("/admin/papers/hide", include_in_schema=False, dependencies=[CSRF])
def hide_form(
    comm: Comm, admin: RequireAdmin, arxiv_id: FormStr = "", reason: FormStr = ""
) -> Response:
    return _back(_hide(comm, admin, arxiv_id, reason))


@router.post("/admin/papers/unhide", include_in_schema=False, dependencies=[CSRF])
def unhide_form(comm: Comm, admin: RequireAdmin, arxiv_id: FormStr = "") -> Response:
    return _back(_unhide(comm, admin, arxiv_id))


@router.post(
    "/admin/users/{user_id:int}/hide-submissions", include_in_schema=False, dependencies=[CSRF]
)
def hide_user_form(comm: Comm, admin: RequireAdmin, user_id: int, reason: FormStr = "") -> Response:
    return _back(_hide_user(comm, admin, user_id, reason))


# -- JSON API -------------------------------------------------------------------------------

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "Not an admin, or CSRF token missing/wrong."},
    404: {"model": ErrorPublic, "description": "Unknown paper or user."},
}


@router.post(
    "/api/admin/papers/{arxiv_id:path}/hide",
    response_model=ModerationResult,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Hide a paper (feeds, pages, search)",
)
def hide_api(
    comm: Comm, admin: RequireAdmin, arxiv_id: str, reason: Annotated[str, Query()] = ""
) -> ModerationResult:
    return _hide(comm, admin, arxiv_id, reason)


@router.post(
    "/api/admin/papers/{arxiv_id:path}/unhide",
    response_model=ModerationResult,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Make a hidden paper visible again",
)
def unhide_api(comm: Comm, admin: RequireAdmin, arxiv_id: str) -> ModerationResult:
    return _unhide(comm, admin, arxiv_id)


@router.post(
    "/api/admin/users/{user_id}/hide-submissions",
    response_model=ModerationResult,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Hide every paper a user's submissions added",
)
def hide_user_api(
    comm: Comm, admin: RequireAdmin, user_id: int, reason: Annotated[str, Query()] = ""
) -> ModerationResult:
    """Papers the user added are hidden; papers that were already here stay visible but
    lose the featuring the user's submissions gave them."""
    return _hide_user(comm, admin, user_id, reason)


@router.get(
    "/api/admin/audit",
    response_model=list[AuditEntryPublic],
    responses=_ERRORS,
    summary="The audit log, newest first",
)
def audit_api(
    comm: Comm, admin: RequireAdmin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditEntryPublic]:
    return comm.audit.recent(limit)


@router.get(
    "/api/admin/users", response_model=list[UserAccount], responses=_ERRORS, summary="All users"
)
def users_api(comm: Comm, admin: RequireAdmin) -> list[UserAccount]:
    return [a.private() for a in comm.users.list_all()]
