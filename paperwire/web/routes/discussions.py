"""Discussions: comments on paper pages and their JSON twins.

The thread is part of the paper page (``_discussion.html``, through the ``discussion()``
template global); ``/papers/{id}/comments`` is its JSON twin's page side (it redirects
to the paper's thread). Every action is a plain form (write, reply, edit, delete, upvote,
report), so all of it works without JavaScript; the JSON side is ``/api/papers/{id}/
comments`` and ``/api/comments/{id}…``. Registered before ``routes.papers``, whose
``/papers/{arxiv_id:path}`` would take ``…/comments`` as part of an id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.discussions import (
    REASON_MAX,
    CommentCreate,
    CommentModeration,
    CommentPublic,
    CommentReportCreate,
    CommentReportPublic,
    CommentSort,
    CommentUpdate,
    CommentVoteState,
    ThreadPublic,
)
from paperwire.services.discussions import Discussions, discussions_of
from paperwire.store.comments import CommentingBlocked, CommentNotFound, PaperNotFound
from paperwire.store.users import Account
from paperwire.web.auth import (
    CSRF,
    Comm,
    RequireAccount,
    RequireAdmin,
    limiter_of,
    mailer_of,
    viewer,
    viewer_of,
)
from paperwire.web.dependencies import RowId, arxiv_id_or_error
from paperwire.web.ratelimit import enforce
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, FormError, Page, Register, parse_form, twin

router = APIRouter(tags=["discussions"])
LABELS = {"body": "Comment", "parent_id": "Reply to", "reason": "Reason"}

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong, or barred."},
    404: {"model": ErrorPublic, "description": "Unknown or hidden paper or comment."},
    429: {"model": ErrorPublic, "description": "Too many comments; see `Retry-After`."},
}
_READ_ERRORS: Errors = {404: _ERRORS[404]}


def _disc(comm: Comm) -> Discussions:
    return discussions_of(comm.pw)


def _paper_id(raw: str) -> str:
    return arxiv_id_or_error(raw, 404, f"{raw[:80]!r} is not an arXiv id")


@contextmanager
def _found() -> Iterator[None]:
    """Store refusals → HTTP: unknown paper or comment 404, a barred author 403."""
    try:
        yield
    except PaperNotFound as exc:
        raise HTTPException(404, f"Paper {exc} is not in this index (yet)") from None
    except CommentNotFound as exc:
        raise HTTPException(404, f"There is no comment {exc} you can change here") from None
    except CommentingBlocked:
        raise HTTPException(
            403, "A moderator has hidden your comments: you cannot comment."
        ) from None


def _limit(request: Request, comm: Comm, account: Account) -> None:
    per_hour = comm.pw.settings.rate_comments_per_hour
    enforce(request, limiter_of(request), f"comment:user:{account.id}", per_hour, 3600, "comments")


def _send_mail(request: Request) -> None:
    """Notification mail was queued: the app's mailer thread sends it now."""
    mailer_of(request).flush()


def thread_for(arxiv_id: str, sort: str = "top") -> ThreadPublic | None:
    """The ``discussion()`` template global: the thread the paper page shows."""
    me = viewer()
    community = getattr(me, "community", None)
    if community is None:
        return None
    chosen = CommentSort.newest if sort == "newest" else CommentSort.top
    try:
        return discussions_of(community.pw).thread(arxiv_id, me.account, chosen)
    except PaperNotFound:
        return None


# -- the thread ---------------------------------------------------------------------------


def _to_thread(call: Call, result: Any) -> Response:
    sort = call.args.get("sort") or CommentSort.top
    query = "?sort=newest" if sort == CommentSort.newest else ""
    return RedirectResponse(f"/papers/{_paper_id(call.args['arxiv_id'])}{query}#comments", 303)


@twin(
    router,
    Api(
        "/api/papers/{arxiv_id:path}/comments",
        ThreadPublic,
        errors=_READ_ERRORS,
        summary="A paper's discussion in reading order",
    ),
    Page("/papers/{arxiv_id:path}/comments", respond=_to_thread),
)
def thread(
    request: Request, comm: Comm, arxiv_id: str, sort: CommentSort = CommentSort.top
) -> ThreadPublic:
    """Top-level comments by ``sort`` (``top``: most upvoted first; ``newest``), each
    followed by its replies, oldest first, with ``depth``. Deleted or hidden comments
    appear as tombstones (no author or text) only where replies are shown below them."""
    aid = _paper_id(arxiv_id)
    with _found():
        return _disc(comm).thread(aid, viewer_of(request).account, sort)


def _comment_page(
    call: Call,
    *,
    title: str,
    action: str,
    body: str,
    errors: dict[str, str],
    status: int = 200,
    parent: CommentPublic | None = None,
) -> HTMLResponse:
    """The form of one comment on a page of its own (an edit; a reply or comment that
    was refused, with its text kept)."""
    return render(
        call.request,
        "comment_form.html",
        {
            "page_title": title,
            "action": action,
            "body": body,
            "errors": errors,
            "parent": parent,
            "arxiv_id": call.args.get("arxiv_id", ""),
        },
        status_code=status,
    )


def _comment_form(call: Call) -> dict[str, Any]:
    data = {"body": call.value("body"), "parent_id": call.value("parent_id").strip() or None}
    return {"data": parse_form(CommentCreate, data, LABELS)}


def _posted(call: Call, comment: CommentPublic) -> Response:
    return RedirectResponse(f"/papers/{comment.arxiv_id}#comment-{comment.id}", 303)


def _post_failed(call: Call, exc: HTTPException) -> Response | None:
    if exc.status_code not in (403, 404, 422, 429):
        return None
    errors = exc.errors if isinstance(exc, FormError) else {"body": str(exc.detail)}
    aid = _paper_id(call.args["arxiv_id"])
    response = _comment_page(
        call,
        title="Your comment was not posted",
        action=f"/papers/{aid}/comments",
        body=call.value("body"),
        errors=errors,
        status=exc.status_code,
    )
    response.headers.update(exc.headers or {})
    return response


@twin(
    router,
    Api(
        "POST /api/papers/{arxiv_id:path}/comments",
        CommentPublic,
        201,
        _ERRORS,
        "Comment on a paper, or reply to a comment",
    ),
    Page(
        "POST /papers/{arxiv_id:path}/comments",
        form=_comment_form,
        respond=_posted,
        failed=_post_failed,
    ),
    CSRF,
)
def post_comment(
    request: Request, comm: Comm, account: RequireAccount, arxiv_id: str, data: CommentCreate
) -> CommentPublic:
    """Markdown with ``$…$`` math; ``@handle`` notifies that user, and a reply notifies
    the author of the comment it answers."""
    aid = _paper_id(arxiv_id)
    _limit(request, comm, account)
    with _found():
        comment = _disc(comm).post(account, aid, data)
    _send_mail(request)
    return comment


# -- one comment ----------------------------------------------------------------------------


def _mine(comm: Comm, account: Account, comment_id: int) -> CommentPublic:
    with _found():
        comment = _disc(comm).one(comment_id, account)
    if not comment.mine:
        raise HTTPException(404, f"There is no comment {comment_id} you can change here")
    return comment


@router.get("/comments/{comment_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_page(request: Request, comm: Comm, account: RequireAccount, comment_id: RowId) -> Response:
    comment = _mine(comm, account, comment_id)
    call = Call(request, {"arxiv_id": comment.arxiv_id})
    return _comment_page(
        call,
        title="Edit your comment",
        action=f"/comments/{comment_id}/edit",
        body=comment.body,
        errors={},
    )


@router.get("/comments/{comment_id}/reply", response_class=HTMLResponse, include_in_schema=False)
def reply_page(
    request: Request, comm: Comm, account: RequireAccount, comment_id: RowId
) -> Response:
    """A reply form on a page of its own (the paper page has one per comment too)."""
    with _found():
        parent = _disc(comm).one(comment_id, account)
    call = Call(request, {"arxiv_id": parent.arxiv_id})
    return _comment_page(
        call,
        title="Reply",
        action=f"/papers/{parent.arxiv_id}/comments",
        body="",
        errors={},
        parent=parent,
    )


def _edit_form(call: Call) -> dict[str, Any]:
    return {"data": parse_form(CommentUpdate, {"body": call.value("body")}, LABELS)}


def _edit_failed(call: Call, exc: HTTPException) -> Response | None:
    if exc.status_code not in (422, 429):
        return None
    errors = exc.errors if isinstance(exc, FormError) else {"body": str(exc.detail)}
    cid = call.args["comment_id"]
    return _comment_page(
        call,
        title="Edit your comment",
        action=f"/comments/{cid}/edit",
        body=call.value("body"),
        errors=errors,
        status=exc.status_code,
    )


@twin(
    router,
    Api("PATCH /api/comments/{comment_id}", CommentPublic, None, _ERRORS, "Edit your comment"),
    Page("POST /comments/{comment_id}/edit", form=_edit_form, respond=_posted, failed=_edit_failed),
    CSRF,
)
def edit_comment(
    request: Request, comm: Comm, account: RequireAccount, comment_id: RowId, data: CommentUpdate
) -> CommentPublic:
    """Only the author edits; the comment then shows an "edited" mark (``edited_at``).
    Handles it newly mentions are notified."""
    _mine(comm, account, comment_id)
    _limit(request, comm, account)
    with _found():
        comment = _disc(comm).edit(account, comment_id, data)
    _send_mail(request)
    return comment


@twin(
    router,
    Api("DELETE /api/comments/{comment_id}", None, 204, _ERRORS, "Delete your comment"),
    Page("POST /comments/{comment_id}/delete", respond=lambda call, _: _to_paper(call)),
    CSRF,
)
def delete_comment(comm: Comm, account: RequireAccount, comment_id: RowId) -> None:
    """Its text is gone; where replies exist it stays as a tombstone ("deleted")."""
    _mine(comm, account, comment_id)
    with _found():
        _disc(comm).delete(account, comment_id)


def _to_paper(call: Call) -> Response:
    """After deleting: the paper's discussion (the row stays, without its text)."""
    with _found():
        row = _disc(call.args["comm"]).row(call.args["comment_id"])
    return RedirectResponse(f"/papers/{row.arxiv_id}#comments", 303)


_UP = {"1", "up", "true", "yes", "on"}


def _back_to(call: Call, result: Any) -> Response:
    with _found():
        row = _disc(call.args["comm"]).row(call.args["comment_id"])
    return RedirectResponse(f"/papers/{row.arxiv_id}#comment-{row.id}", 303)


@twin(
    router,
    [
        Api(
            "POST /api/comments/{comment_id}/vote",
            CommentVoteState,
            errors=_ERRORS,
            summary="Upvote a comment (idempotent)",
            name="comment_vote_api",
            fixed={"up": True},
        ),
        Api(
            "DELETE /api/comments/{comment_id}/vote",
            CommentVoteState,
            errors=_ERRORS,
            summary="Take back an upvote of a comment (idempotent)",
            name="comment_unvote_api",
            description="",
            fixed={"up": False},
        ),
    ],
    Page(
        "POST /comments/{comment_id}/vote",
        form=lambda call: {"up": call.value("vote", "1").strip().lower() in _UP},
        form_params=["up"],
        respond=_back_to,
    ),
    CSRF,
)
def vote_comment(
    request: Request, comm: Comm, account: RequireAccount, comment_id: RowId, up: bool
) -> CommentVoteState:
    """One upvote per user and comment; ``changed`` is false when nothing changed."""
    per_minute = comm.pw.settings.rate_votes_per_minute
    enforce(request, limiter_of(request), f"vote:user:{account.id}", per_minute, 60, "votes")
    with _found():
        return _disc(comm).vote(account, comment_id, up)


def _reported(call: Call, result: Any) -> Response:
    with _found():
        row = _disc(call.args["comm"]).row(call.args["comment_id"])
    return RedirectResponse(f"/papers/{row.arxiv_id}?reported={row.id}#comment-{row.id}", 303)


def _report_form(call: Call) -> dict[str, Any]:
    return {"data": parse_form(CommentReportCreate, {"reason": call.value("reason")}, LABELS)}


@twin(
    router,
    Api(
        "POST /api/comments/{comment_id}/report",
        None,
        204,
        _ERRORS,
        "Report a comment to the moderators",
    ),
    Page("POST /comments/{comment_id}/report", form=_report_form, respond=_reported),
    CSRF,
)
def report_comment(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    comment_id: RowId,
    data: CommentReportCreate,
) -> None:
    """It appears on ``/admin`` until a moderator hides it or keeps it; reporting twice
    changes nothing."""
    per_hour = comm.pw.settings.rate_reports_per_hour
    enforce(request, limiter_of(request), f"report:user:{account.id}", per_hour, 3600, "reports")
    with _found():
        _disc(comm).report(account, comment_id, data.reason.strip())


# -- moderation (admins) ----------------------------------------------------------------


def _moderated(call: Call, result: CommentModeration) -> Response:
    done = f"{len(result.comments)} comment(s) changed, {result.reports_closed} report(s) closed"
    return RedirectResponse("/admin?done=" + quote(done) + "#reports-h", 303)


def _moderation(api: str, page: str, summary: str, *, fixed: dict[str, Any]) -> Register:
    return twin(
        router,
        Api(
            f"POST {api}",
            CommentModeration,
            errors=_ADMIN_ERRORS,
            summary=summary,
            fixed=fixed,
            name=api.strip("/").replace("/", "_").replace("{", "").replace("}", ""),
        ),
        Page(
            f"POST {page}",
            form=lambda call: {"reason": call.value("reason")[:REASON_MAX]},
            form_params=["reason"],
            respond=_moderated,
            fixed=fixed,
        ),
        CSRF,
    )


_ADMIN_ERRORS: Errors = {
    401: _ERRORS[401],
    403: {"model": ErrorPublic, "description": "Not an admin, or CSRF token missing/wrong."},
    404: {"model": ErrorPublic, "description": "Unknown comment or user."},
}
Reason = Annotated[str, Query(max_length=REASON_MAX)]


@router.get(
    "/api/admin/comment-reports",
    response_model=list[CommentReportPublic],
    responses=_ADMIN_ERRORS,
    summary="Open reports of comments, oldest first",
    tags=["admin"],
)
def comment_reports(comm: Comm, admin: RequireAdmin) -> list[CommentReportPublic]:
    return _disc(comm).reports()


@_moderation(
    "/api/admin/comments/{comment_id}/hide",
    "/admin/comments/{comment_id}/hide",
    "Hide a comment (a tombstone where it has replies)",
    fixed={"hidden": True},
)
@_moderation(
    "/api/admin/comments/{comment_id}/unhide",
    "/admin/comments/{comment_id}/unhide",
    "Show a hidden comment again",
    fixed={"hidden": False},
)
def hide_comment(
    comm: Comm, admin: RequireAdmin, comment_id: RowId, hidden: bool, reason: Reason = ""
) -> CommentModeration:
    """Closes the comment's open reports; logged in the audit log."""
    with _found():
        return _disc(comm).hide(admin, comment_id, hidden, reason.strip())


@twin(
    router,
    Api(
        "POST /api/admin/comments/{comment_id}/dismiss",
        CommentModeration,
        errors=_ADMIN_ERRORS,
        summary="Keep a reported comment: close its reports",
    ),
    Page("POST /admin/comments/{comment_id}/dismiss", respond=_moderated),
    CSRF,
)
def dismiss_reports(comm: Comm, admin: RequireAdmin, comment_id: RowId) -> CommentModeration:
    with _found():
        _disc(comm).row(comment_id)
        return _disc(comm).dismiss(admin, comment_id)


@_moderation(
    "/api/admin/users/{user_id}/hide-comments",
    "/admin/users/{user_id}/hide-comments",
    "Hide every comment of a user and stop them commenting",
    fixed={"hidden": True},
)
@_moderation(
    "/api/admin/users/{user_id}/unhide-comments",
    "/admin/users/{user_id}/unhide-comments",
    "Show a user's comments again and let them comment",
    fixed={"hidden": False},
)
def hide_user_comments(
    comm: Comm, admin: RequireAdmin, user_id: RowId, hidden: bool, reason: Reason = ""
) -> CommentModeration:
    """Their comments become tombstones where replies exist; logged in the audit log."""
    try:
        return _disc(comm).hide_user(admin, user_id, hidden, reason.strip())
    except KeyError:
        raise HTTPException(404, f"There is no user {user_id}") from None
