"""Your account: ``/account`` shows your name, email and handle and changes the handle
(``PUT /api/me/handle``); ``GET /api/me`` is the JSON side of what it shows."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from paperwire.models.common import ErrorPublic
from paperwire.models.community import UserAccount
from paperwire.store.users import HandleTaken
from paperwire.text.handles import HANDLE_MAX
from paperwire.web.auth import CSRF, Comm, RequireAccount, RequireUser
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, FormError, Page, parse_form, twin

router = APIRouter(tags=["auth"])
_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    409: {"model": ErrorPublic, "description": "Another account has it, or one like it."},
    422: {"description": "Not a handle (2–30 of a-z, 0-9 and single hyphens)."},
}


class HandleUpdate(BaseModel):
    handle: str = Field(max_length=HANDLE_MAX, description="2–30 of a-z, 0-9 and hyphens.")


def _page(
    request: Request, user: UserAccount, handle: str, errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "account.html",
        {
            "user": user,
            "handle": handle,
            "errors": errors,
            "saved": request.query_params.get("saved") == "1",
            "page_title": "Your account",
            "nav": "account",
        },
        status_code=status,
        json_href="/api/me",
    )


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account(request: Request, user: RequireUser) -> Response:
    return _page(request, user, user.handle, {})


def _handle_failed(call: Call, exc: HTTPException) -> Response | None:
    if not isinstance(exc, FormError):
        return None
    user = call.args["account"].private()
    return _page(call.request, user, call.value("handle"), exc.errors, exc.status_code)


@twin(
    router,
    Api("PUT /api/me/handle", UserAccount, errors=_ERRORS, summary="Change your handle"),
    Page(
        "POST /account/handle",
        form=lambda call: {"data": parse_form(HandleUpdate, dict(call.form), {"handle": "Handle"})},
        respond=lambda call, user: RedirectResponse("/account?saved=1", 303),
        failed=_handle_failed,
    ),
    CSRF,
)
def change_handle(comm: Comm, account: RequireAccount, data: HandleUpdate) -> UserAccount:
    """Lower-cased; refused when another account has it or one that looks like it
    (``bob1`` and ``bobl``). Old ``@mentions`` keep their text; their links follow the
    handle they named."""
    try:
        changed = comm.users.set_handle(account.id, data.handle)
    except HandleTaken as exc:
        raise FormError({"handle": f"Handle: {exc}"}, 409) from None
    except ValueError as exc:
        raise FormError({"handle": f"Handle: {exc}"}) from None
    comm.audit.log(account, "user.handle", "user", str(account.id), {"handle": changed.handle})
    return changed.private()
