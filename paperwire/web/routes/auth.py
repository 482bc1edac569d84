"""Accounts: sign up, log in, log out, password reset; JSON twins under ``/api/auth``."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

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
from paperwire.web.dependencies import PW
from paperwire.web.ratelimit import client_ip, enforce
from paperwire.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(tags=["account"])

FormStr = Annotated[str, Form()]
NextField = Annotated[str, Form(alias="next")]
RESET_SENT = (
    "If an account uses that address, a link to choose a new password is on its way. "
    "It works for {minutes} minutes."
)
MAIL_DOWN = (
    "We could not send the email right now (the mail server is unavailable). "
    "Please try again later."
)


def _field_errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "form"
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        label = {"display_name": "Display name", "email": "Email", "password": "Password"}.get(
            name, name
        )
        out.setdefault(name, f"{label}: {msg}")
    return out


def _limit_login(request: Request, email: str) -> None:
    s = request.app.state.pw.settings
    limiter = limiter_of(request)
    per_minute = s.rate_login_per_minute
    enforce(request, limiter, f"login:ip:{client_ip(request)}", per_minute, 60, "login attempts")
    if email:
        key = f"login:email:{email.strip().lower()}"
        enforce(request, limiter, key, per_minute, 60, "login attempts")


def _limit_signup(request: Request) -> None:
    s = request.app.state.pw.settings
    key = f"signup:ip:{client_ip(request)}"
    enforce(request, limiter_of(request), key, s.rate_signup_per_hour, 3600, "sign-ups")


def _limit_reset(request: Request, email: str) -> None:
    s = request.app.state.pw.settings
    limiter = limiter_of(request)
    per_hour = s.rate_reset_per_hour
    enforce(request, limiter, f"reset:ip:{client_ip(request)}", per_hour, 3600, "reset requests")
    if email:
        key = f"reset:email:{email.strip().lower()}"
        enforce(request, limiter, key, per_hour, 3600, "reset requests")


def _logged_in(request: Request, comm: Comm, account: Account, target: str) -> Response:
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        comm.end_session(old)
    token = comm.start_session(account)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, comm.pw, token)
    return response


def _me(comm: Comm, account: Account, token: str) -> MeResponse:
    return MeResponse(user=account.private(), csrf_token=csrf_for_session(comm.pw, token))


# -- log in ---------------------------------------------------------------------------------


def _login_page(
    request: Request,
    *,
    email: str = "",
    next_url: str = "/",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "login.html",
        {
            "email": email,
            "next": safe_next(next_url),
            "error": error,
            "notice": notice,
            "nav": "login",
            "page_title": "Log in",
        },
        status_code=status_code,
        json_href="/api/me",
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str | None = None, reset: str | None = None) -> Response:
    if viewer_of(request).account is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "Your password was changed. Log in with the new one." if reset else None
    return _login_page(request, next_url=next or "/", notice=notice)


@router.post("/login", include_in_schema=False, dependencies=[CSRF])
def login_submit(
    request: Request,
    comm: Comm,
    email: FormStr = "",
    password: FormStr = "",
    next_url: NextField = "/",
) -> Response:
    _limit_login(request, email)
    account = comm.authenticate(email, password)
    if account is None:
        return _login_page(
            request,
            email=email.strip(),
            next_url=next_url,
            error="Wrong email or password.",
            status_code=401,
        )
    return _logged_in(request, comm, account, safe_next(next_url))


@router.post("/logout", include_in_schema=False, dependencies=[CSRF])
def logout(request: Request, comm: Comm) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        comm.end_session(token)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, comm.pw)
    return response


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


@router.post("/signup", include_in_schema=False, dependencies=[CSRF])
def signup_submit(
    request: Request,
    comm: Comm,
    email: FormStr = "",
    display_name: FormStr = "",
    password: FormStr = "",
    next_url: NextField = "/",
) -> Response:
    form = {"email": email.strip(), "display_name": display_name.strip()}
    try:
        data = UserCreate(email=email, display_name=display_name, password=password)
    except ValidationError as exc:
        return _signup_page(
            request, form, errors=_field_errors(exc), next_url=next_url, status_code=422
        )
    _limit_signup(request)
    try:
        account = comm.signup(data)
    except AccountExists as exc:
        return _signup_page(
            request,
            form,
            errors={exc.field: str(exc).capitalize() + "."},
            next_url=next_url,
            status_code=409,
        )
    return _logged_in(request, comm, account, safe_next(next_url))


# -- password reset -------------------------------------------------------------------------


def _reset_request_page(
    request: Request,
    *,
    email: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "reset_request.html",
        {"email": email, "error": error, "notice": notice, "page_title": "Reset password"},
        status_code=status_code,
    )


def _send_reset(request: Request, comm: Comm, email: str) -> None:
    """Mail a link when the account exists; raises ``MailError``."""
    _limit_reset(request, email)
    try:
        address = normalize_email(email)
    except ValueError:
        return
    account = comm.users.by_email(address)
    if account is not None:
        comm.send_reset_email(account)


def _sent_message(comm: Comm) -> str:
    return RESET_SENT.format(minutes=max(1, comm.pw.settings.password_reset_max_age // 60))


@router.get("/reset", response_class=HTMLResponse, include_in_schema=False)
def reset_request_page(request: Request) -> HTMLResponse:
    return _reset_request_page(request)


@router.post("/reset", include_in_schema=False, dependencies=[CSRF])
def reset_request_submit(request: Request, comm: Comm, email: FormStr = "") -> Response:
    try:
        _send_reset(request, comm, email)
    except MailError:
        log.exception("password reset mail failed")
        return _reset_request_page(request, email=email, error=MAIL_DOWN, status_code=503)
    return _reset_request_page(request, notice=_sent_message(comm))


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


@router.post("/reset/{token}", include_in_schema=False, dependencies=[CSRF])
def reset_submit(request: Request, comm: Comm, token: str, password: FormStr = "") -> Response:
    try:
        account = comm.account_for_reset(token)
    except ResetTokenError as exc:
        return _reset_request_page(request, error=str(exc), status_code=400)
    try:
        data = PasswordResetConfirm(password=password)
    except ValidationError as exc:
        return _reset_password_page(
            request, token, account.email, _field_errors(exc), status_code=422
        )
    comm.reset_password(token, data.password)
    response = RedirectResponse("/login?reset=done", status_code=303)
    clear_session_cookie(response, comm.pw)
    return response


# -- JSON API -------------------------------------------------------------------------------

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    429: {"model": ErrorPublic, "description": "Rate limited; see `Retry-After`."},
}


@router.get("/api/me", response_model=MeResponse, summary="The signed-in user and a CSRF token")
def me_api(request: Request) -> MeResponse:
    """``user`` is null when signed out. Send ``csrf_token`` as the ``X-CSRF-Token``
    header on every POST/PATCH/DELETE made with this session's cookies."""
    v = viewer_of(request)
    return MeResponse(user=v.user, csrf_token=v.csrf_token)


@router.post(
    "/api/auth/signup",
    response_model=MeResponse,
    status_code=201,
    responses={**_ERRORS, 409: {"model": ErrorPublic, "description": "Email or name taken."}},
    dependencies=[CSRF],
    summary="Create an account and log in",
)
def signup_api(request: Request, comm: Comm, data: UserCreate) -> JSONResponse:
    _limit_signup(request)
    try:
        account = comm.signup(data)
    except AccountExists as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    token = comm.start_session(account)
    response = JSONResponse(_me(comm, account, token).model_dump(mode="json"), status_code=201)
    set_session_cookie(response, comm.pw, token)
    return response


@router.post(
    "/api/auth/login",
    response_model=MeResponse,
    responses={**_ERRORS, 401: {"model": ErrorPublic, "description": "Wrong email or password."}},
    dependencies=[CSRF],
    summary="Log in (sets the session cookie)",
)
def login_api(request: Request, comm: Comm, data: UserLogin) -> JSONResponse:
    _limit_login(request, data.email)
    account = comm.authenticate(data.email, data.password)
    if account is None:
        raise HTTPException(status_code=401, detail="Wrong email or password.")
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        comm.end_session(old)
    token = comm.start_session(account)
    response = JSONResponse(_me(comm, account, token).model_dump(mode="json"))
    set_session_cookie(response, comm.pw, token)
    return response


@router.post(
    "/api/auth/logout",
    status_code=204,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Log out (ends the session)",
)
def logout_api(request: Request, pw: PW, comm: Comm) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        comm.end_session(token)
    response = Response(status_code=204)
    clear_session_cookie(response, pw)
    return response


@router.post(
    "/api/auth/reset",
    status_code=202,
    response_model=ErrorPublic,
    responses={**_ERRORS, 503: {"model": ErrorPublic, "description": "Mail server down."}},
    dependencies=[CSRF],
    summary="Email a password-reset link",
)
def reset_request_api(request: Request, comm: Comm, data: PasswordResetRequest) -> ErrorPublic:
    """Answers the same whether or not the address has an account."""
    try:
        _send_reset(request, comm, data.email)
    except MailError:
        log.exception("password reset mail failed")
        raise HTTPException(status_code=503, detail=MAIL_DOWN) from None
    return ErrorPublic(detail=_sent_message(comm))


@router.post(
    "/api/auth/reset/{token}",
    response_model=ErrorPublic,
    responses={**_ERRORS, 400: {"model": ErrorPublic, "description": "Expired or invalid."}},
    dependencies=[CSRF],
    summary="Set a new password with a reset token",
)
def reset_api(comm: Comm, token: str, data: PasswordResetConfirm) -> ErrorPublic:
    try:
        comm.reset_password(token, data.password)
    except ResetTokenError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return ErrorPublic(detail="Password changed; every session of this account was logged out.")
