"""Accounts: sign up, log in, log out, password reset; JSON twins under ``/api/auth``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperwire.models.common import ErrorPublic, normalize_email
from paperwire.models.community import (
    MeResponse,
    PasswordResetConfirm,
    PasswordResetRequest,
    UserCreate,
    UserLogin,
)
from paperwire.services.community import ResetTokenError
from paperwire.services.mail import MailError
from paperwire.store.users import Account, AccountExists
from paperwire.web.auth import (
    CSRF,
    SESSION_COOKIE,
    Comm,
    clear_session_cookie,
    csrf_for_session,
    limiter_of,
    safe_next,
    set_session_cookie,
    viewer_of,
)
from paperwire.web.ratelimit import client_ip, enforce
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, FormError, Page, parse_form, twin

log = logging.getLogger(__name__)
router = APIRouter(tags=["account"])

LABELS = {"display_name": "Display name", "email": "Email", "password": "Password"}
RESET_SENT = (
    "If an account uses that address, a link to choose a new password is on its way. "
    "It works for {minutes} minutes."
)
MAIL_DOWN = (
    "We could not send the email right now (the mail server is unavailable). "
    "Please try again later."
)


def _limit(request: Request, what: str, email: str, per: int, window: int, label: str) -> None:
    """At most ``per`` requests of a kind per ``window`` seconds, per IP and per email."""
    limiter = limiter_of(request)
    enforce(request, limiter, f"{what}:ip:{client_ip(request)}", per, window, label)
    if email:
        key = f"{what}:email:{email.strip().lower()}"
        enforce(request, limiter, key, per, window, label)


def _limit_login(request: Request, email: str) -> None:
    per_minute = request.app.state.pw.settings.rate_login_per_minute
    _limit(request, "login", email, per_minute, 60, "login attempts")


def _limit_signup(request: Request) -> None:
    s = request.app.state.pw.settings
    key = f"signup:ip:{client_ip(request)}"
    enforce(request, limiter_of(request), key, s.rate_signup_per_hour, 3600, "sign-ups")


def _limit_reset(request: Request, email: str) -> None:
    per_hour = request.app.state.pw.settings.rate_reset_per_hour
    _limit(request, "reset", email, per_hour, 3600, "reset requests")


def _email_form(
    request: Request,
    template: str,
    title: str,
    *,
    email: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
    json_href: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page whose form asks for an email address (log in, reset), with its message."""
    shown = {"email": email, "error": error, "notice": notice, "page_title": title, **context}
    return render(request, template, shown, status_code=status_code, json_href=json_href)


def _start_session(request: Request, comm: Comm, account: Account, response: Response) -> str:
    """A fresh session for ``account`` (this browser's previous one ends); sets the cookie."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        comm.end_session(old)
    token = comm.start_session(account)
    set_session_cookie(response, comm.pw, token)
    return token


def _me(comm: Comm, account: Account, token: str) -> MeResponse:
    return MeResponse(user=account.private(), csrf_token=csrf_for_session(comm.pw, token))


def _to_next(call: Call, result: object) -> Response:
    """After logging in or signing up: the page the visitor came from."""
    return RedirectResponse(safe_next(call.value("next", "/")), status_code=303)


_ERRORS: Errors = {
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    429: {"model": ErrorPublic, "description": "Rate limited; see `Retry-After`."},
}


@router.get("/api/me", response_model=MeResponse, summary="The signed-in user and a CSRF token")
def me_api(request: Request) -> MeResponse:
    """``user`` is null when signed out. Send ``csrf_token`` as the ``X-CSRF-Token``
    header on every POST/PATCH/DELETE made with this session's cookies."""
    v = viewer_of(request)
    return MeResponse(user=v.user, csrf_token=v.csrf_token)


# -- sign up --------------------------------------------------------------------------------


def _signup_page(
    request: Request,
    form: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    next_url: str = "/",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "signup.html",
        {
            "form": form,
            "errors": errors or {},
            "error": error,
            "next": safe_next(next_url),
            "nav": "signup",
            "page_title": "Sign up",
        },
        status_code=status_code,
    )


@router.get("/signup", response_class=HTMLResponse, include_in_schema=False)
def signup_page(request: Request, next: str | None = None) -> Response:
    if viewer_of(request).account is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _signup_page(request, {"email": "", "display_name": ""}, next_url=next or "/")


def _signup_form(call: Call) -> dict[str, Any]:
    fields = {k: call.value(k) for k in ("email", "display_name", "password")}
    return {"data": parse_form(UserCreate, fields, LABELS)}


def _signup_refused(call: Call, exc: HTTPException) -> Response | None:
    if not isinstance(exc, FormError):
        return None
    form = {
        "email": call.value("email").strip(),
        "display_name": call.value("display_name").strip(),
    }
    return _signup_page(
        call.request,
        form,
        errors=exc.errors,
        next_url=call.value("next", "/"),
        status_code=exc.status_code,
    )


@twin(
    router,
    Api(
        "POST /api/auth/signup",
        MeResponse,
        status=201,
        errors={**_ERRORS, 409: {"model": ErrorPublic, "description": "Email or name taken."}},
        summary="Create an account and log in",
    ),
    Page("POST /signup", form=_signup_form, respond=_to_next, failed=_signup_refused),
    CSRF,
)
def signup(request: Request, response: Response, comm: Comm, data: UserCreate) -> MeResponse:
    _limit_signup(request)
    try:
        account = comm.signup(data)
    except AccountExists as exc:
        message = str(exc)
        raise FormError({exc.field: message.capitalize() + "."}, 409, detail=message) from None
    return _me(comm, account, _start_session(request, comm, account, response))


# -- log in ---------------------------------------------------------------------------------


def _login_page(request: Request, next_url: str = "/", **shown: Any) -> HTMLResponse:
    next_url = safe_next(next_url)
    return _email_form(
        request, "login.html", "Log in", json_href="/api/me", next=next_url, nav="login", **shown
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str | None = None, reset: str | None = None) -> Response:
    if viewer_of(request).account is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "Your password was changed. Log in with the new one." if reset else None
    return _login_page(request, next_url=next or "/", notice=notice)


def _login_refused(call: Call, exc: HTTPException) -> Response | None:
    if exc.status_code != 401:
        return None
    email, next_url = call.value("email").strip(), call.value("next", "/")
    return _login_page(
        call.request, email=email, next_url=next_url, error=str(exc.detail), status_code=401
    )


@twin(
    router,
    Api(
        "POST /api/auth/login",
        MeResponse,
        errors={
            **_ERRORS,
            401: {"model": ErrorPublic, "description": "Wrong email or password."},
        },
        summary="Log in (sets the session cookie)",
    ),
    Page(
        "POST /login",
        form=lambda call: {
            "data": UserLogin(email=call.value("email"), password=call.value("password"))
        },
        respond=_to_next,
        failed=_login_refused,
    ),
    CSRF,
)
def login(request: Request, response: Response, comm: Comm, data: UserLogin) -> MeResponse:
    _limit_login(request, data.email)
    account = comm.authenticate(data.email, data.password)
    if account is None:
        raise HTTPException(status_code=401, detail="Wrong email or password.")
    return _me(comm, account, _start_session(request, comm, account, response))


@twin(
    router,
    Api("POST /api/auth/logout", status=204, errors=_ERRORS, summary="Log out (ends the session)"),
    Page("POST /logout", respond=lambda call, _: RedirectResponse("/", status_code=303)),
    CSRF,
)
def logout(request: Request, response: Response, comm: Comm) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        comm.end_session(token)
    clear_session_cookie(response, comm.pw)


# -- password reset -------------------------------------------------------------------------


def _reset_request_page(request: Request, **shown: Any) -> HTMLResponse:
    return _email_form(request, "reset_request.html", "Reset password", **shown)


@router.get("/reset", response_class=HTMLResponse, include_in_schema=False)
def reset_request_page(request: Request) -> HTMLResponse:
    return _reset_request_page(request)


def _mail_down(call: Call, exc: HTTPException) -> Response | None:
    if exc.status_code != 503:
        return None
    email = call.value("email")
    return _reset_request_page(call.request, email=email, error=MAIL_DOWN, status_code=503)


@twin(
    router,
    Api(
        "POST /api/auth/reset",
        ErrorPublic,
        status=202,
        errors={**_ERRORS, 503: {"model": ErrorPublic, "description": "Mail server down."}},
        summary="Email a password-reset link",
    ),
    Page(
        "POST /reset",
        form=lambda call: {"data": PasswordResetRequest(email=call.value("email"))},
        respond=lambda call, sent: _reset_request_page(call.request, notice=sent.detail),
        failed=_mail_down,
    ),
    CSRF,
)
def reset_request(request: Request, comm: Comm, data: PasswordResetRequest) -> ErrorPublic:
    """Answers the same whether or not the address has an account."""
    _limit_reset(request, data.email)
    try:
        address = normalize_email(data.email)
    except ValueError:
        address = None
    account = comm.users.by_email(address) if address else None
    if account is not None:
        try:
            comm.send_reset_email(account)
        except MailError:
            log.exception("password reset mail failed")
            raise HTTPException(status_code=503, detail=MAIL_DOWN) from None
    minutes = max(1, comm.pw.settings.password_reset_max_age // 60)
    return ErrorPublic(detail=RESET_SENT.format(minutes=minutes))


@router.get("/reset/{token}", response_class=HTMLResponse, include_in_schema=False)
def reset_form(request: Request, comm: Comm, token: str) -> HTMLResponse:
    try:
        account = comm.account_for_reset(token)
    except ResetTokenError as exc:
        return _reset_request_page(request, error=str(exc), status_code=400)
    return _reset_password_page(request, token, account.email)


def _reset_password_page(
    request: Request,
    token: str,
    email: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "reset_password.html",
        {"token": token, "email": email, "errors": errors or {}, "page_title": "New password"},
        status_code=status_code,
    )


def _reset_refused(call: Call, exc: HTTPException) -> Response | None:
    """A used or expired link: ask for a new one; a bad password: the form again."""
    comm: Comm = call.args["comm"]
    try:
        account = comm.account_for_reset(call.args["token"])
    except ResetTokenError as bad:
        return _reset_request_page(call.request, error=str(bad), status_code=400)
    if not isinstance(exc, FormError):
        return None
    return _reset_password_page(
        call.request, call.args["token"], account.email, exc.errors, status_code=422
    )


@twin(
    router,
    Api(
        "POST /api/auth/reset/{token}",
        ErrorPublic,
        errors={**_ERRORS, 400: {"model": ErrorPublic, "description": "Expired or invalid."}},
        summary="Set a new password with a reset token",
    ),
    Page(
        "POST /reset/{token}",
        form=lambda call: {
            "data": parse_form(PasswordResetConfirm, {"password": call.value("password")}, LABELS)
        },
        respond=lambda call, _: RedirectResponse("/login?reset=done", status_code=303),
        failed=_reset_refused,
    ),
    CSRF,
)
def reset(response: Response, comm: Comm, token: str, data: PasswordResetConfirm) -> ErrorPublic:
    try:
        comm.reset_password(token, data.password)
    except ResetTokenError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    clear_session_cookie(response, comm.pw)  # every session of the account ended
    return ErrorPublic(detail="Password changed; every session of this account was logged out.")
