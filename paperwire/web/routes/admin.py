"""Moderation for admins: ``/admin`` and ``/api/admin/…``.

Hiding a paper removes it from feeds, pages, collections and search (it is deleted from
the index); every action writes an audit-log row. Admins are created from the CLI
(``paperwire users create EMAIL --admin``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.community import AuditEntryPublic, ModerationResult, UserAccount
from paperwire.services.discussions import discussions_of
from paperwire.services.people import people_of
from paperwire.web.auth import CSRF, Comm, RequireAdmin
from paperwire.web.dependencies import RowId, arxiv_id_or_error
from paperwire.web.templating import render
from paperwire.web.twin import Api, Errors, Page, Register, twin

router = APIRouter(tags=["admin"])


# -- page -----------------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, comm: Comm, admin: RequireAdmin, done: str = "") -> HTMLResponse:
    accounts = comm.users.list_all()
    return render(
        request,
        "admin.html",
        {
            "submissions": comm.submissions.recent(50),
            "hidden": comm.pw.store.hidden_ids(),
            "users": [a.private() for a in accounts],
            "comments_hidden": {a.id for a in accounts if a.comments_hidden},
            "audit": comm.audit.recent(50),
            "reports": discussions_of(comm.pw).reports(),
            "claims": people_of(comm.pw).pending_claims(),
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


_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "Not an admin, or CSRF token missing/wrong."},
    404: {"model": ErrorPublic, "description": "Unknown paper or user."},
}
Reason = Annotated[str, Query()]


def _moderation(api: str, page: str, summary: str, *fields: str) -> Register:
    """Register a moderation view: its JSON route, and the admin page's form (``fields``
    come from the form) answered by a redirect to /admin saying what changed."""
    return twin(
        router,
        Api(f"POST {api}", ModerationResult, errors=_ERRORS, summary=summary),
        Page(
            f"POST {page}",
            form=lambda call: {name: call.value(name) for name in fields},
            form_params=fields,
            respond=lambda call, result: _back(result),
        ),
        CSRF,
    )


def _known(comm: Comm, raw: str) -> str:
    aid = arxiv_id_or_error(raw)
    if comm.submissions.is_hidden(aid) is None:
        raise HTTPException(status_code=404, detail=f"Paper {aid} is not in this index")
    return aid


@_moderation(
    "/api/admin/papers/{arxiv_id:path}/hide",
    "/admin/papers/hide",
    "Hide a paper (feeds, pages, search)",
    "arxiv_id",
    "reason",
)
def hide(comm: Comm, admin: RequireAdmin, arxiv_id: str, reason: Reason = "") -> ModerationResult:
    return comm.hide_papers(admin, [_known(comm, arxiv_id)], reason.strip())


@_moderation(
    "/api/admin/papers/{arxiv_id:path}/unhide",
    "/admin/papers/unhide",
    "Make a hidden paper visible again",
    "arxiv_id",
)
def unhide(comm: Comm, admin: RequireAdmin, arxiv_id: str) -> ModerationResult:
    return comm.unhide_papers(admin, [_known(comm, arxiv_id)])


@_moderation(
    "/api/admin/users/{user_id}/hide-submissions",
    "/admin/users/{user_id:int}/hide-submissions",
    "Hide every paper a user's submissions added",
    "reason",
)
def hide_user(
    comm: Comm, admin: RequireAdmin, user_id: RowId, reason: Reason = ""
) -> ModerationResult:
    """Papers the user added are hidden; papers that were already here stay visible but
    lose the featuring the user's submissions gave them."""
    try:
        return comm.hide_submissions_of(admin, user_id, reason.strip())
    except LookupError:
        raise HTTPException(status_code=404, detail=f"There is no user {user_id}") from None


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
