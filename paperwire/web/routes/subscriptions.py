"""Email subscriptions and saved-search alerts.

Pages: ``/subscribe`` (form, CSRF-protected), ``/subscriptions/confirm?token=`` (double
opt-in: the GET shows a button, the POST confirms — link scanners that prefetch mail
links cannot subscribe anyone), ``/unsubscribe?token=`` (GET: a confirm page; POST:
RFC 8058 one-click — no cookie or CSRF token, the signed token is the authority),
``/subscriptions/manage?token=`` (frequency, trending part, alerts, unsubscribe) and
``/saved-searches`` (signed-in users). JSON twins: ``POST /api/subscriptions``,
``POST /api/subscriptions/confirm``, ``POST /api/subscriptions/unsubscribe``,
``GET|PATCH /api/subscriptions/manage``, ``GET|POST /api/saved-searches``,
``DELETE /api/saved-searches/{id}``.

CSRF: the subscribe and saved-search forms use the community module's tokens
(``paperwire.web.auth.csrf_protect``); token-authenticated links need none.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperwire.models.common import ErrorPublic, normalize_email
from paperwire.models.community import UserAccount
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import (
    Frequency,
    SavedSearchCreate,
    SavedSearchCreated,
    SavedSearchesPage,
    SubscriptionAccepted,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionStatus,
    SubscriptionUpdate,
)
from paperwire.services.mail import MailError
from paperwire.services.subscriptions import Subscriptions, TokenError, subscriptions_of
from paperwire.store.subscriptions import SubscriptionRow, TooManySavedSearchesError
from paperwire.web.auth import CSRF, RequireUser, limiter_of
from paperwire.web.dependencies import PW, ParamError, parse_bool, parse_date
from paperwire.web.ratelimit import client_ip, enforce
from paperwire.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(tags=["subscriptions"])

FormStr = Annotated[str, Form()]
Token = Annotated[str, Query(max_length=2000, description="The signed token from the email.")]
CHECK_INBOX = (
    "Almost done: we sent a confirmation link to {email}. Open it to start your "
    "{frequency} digest (nothing is sent until you do)."
)
MAIL_DOWN = (
    "We could not send the confirmation email right now (the mail server is unavailable). "
    "Please try again later."
)
TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "Invalid or expired link."}
}


def _subs(pw: Any) -> Subscriptions:
    return subscriptions_of(pw)


def _limit(request: Request, email: str) -> None:
    per_hour = request.app.state.pw.settings.rate_subscribe_per_hour
    limiter = limiter_of(request)
    enforce(request, limiter, f"subscribe:ip:{client_ip(request)}", per_hour, 3600, "requests")
    enforce(request, limiter, f"subscribe:email:{email}", per_hour, 3600, "requests")


def _token_error(exc: TokenError) -> HTTPException:
    return HTTPException(status_code=400, detail=exc.message)


def _message(
    request: Request,
    heading: str,
    message: str,
    *,
    ok: bool = False,
    status_code: int = 200,
    action: tuple[str, str] | None = None,
    action_note: str | None = None,
    danger: bool = False,
    links: list[tuple[str, str]] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "subscription_message.html",
        {
            "heading": heading,
            "message": message,
            "ok": ok,
            "action_url": action[0] if action else None,
            "action_label": action[1] if action else None,
            "action_note": action_note,
            "danger": danger,
            "links": links or [],
            "page_title": heading,
            "nav": "subscribe",
        },
        status_code=status_code,
    )


def _bad_link(request: Request, exc: TokenError) -> HTMLResponse:
    heading = "This link has expired" if exc.reason == "expired" else "This link does not work"
    return _message(
        request,
        heading,
        exc.message + " Subscribe again to get a fresh link.",
        status_code=400,
        links=[("Subscribe", "/subscribe")],
    )


# -- subscribe ------------------------------------------------------------------------------


def _subscribe_page(
    request: Request,
    *,
    email: str = "",
    frequency: str = "daily",
    notice: str | None = None,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "subscribe.html",
        {
            "email": email,
            "frequency": frequency if frequency in ("daily", "weekly") else "daily",
            "notice": notice,
            "error": error,
            "errors": errors or {},
            "nav": "subscribe",
            "page_title": "Subscribe",
        },
        status_code=status_code,
    )


@router.get("/subscribe", response_class=HTMLResponse, include_in_schema=False)
def subscribe_page(request: Request, frequency: str = "daily") -> HTMLResponse:
    return _subscribe_page(request, frequency=frequency)


@router.post(
    "/subscribe", response_class=HTMLResponse, include_in_schema=False, dependencies=[CSRF]
)
def subscribe_form(
    request: Request, pw: PW, email: FormStr = "", frequency: FormStr = "daily"
) -> HTMLResponse:
    try:
        address = normalize_email(email)
    except ValueError as exc:
        return _subscribe_page(
            request,
            email=email,
            frequency=frequency,
            errors={"email": f"Email: {exc}"},
            status_code=422,
        )
    try:
        freq = Frequency(frequency)
    except ValueError:
        return _subscribe_page(
            request,
            email=email,
            errors={"frequency": "How often: choose daily or weekly"},
            status_code=422,
        )
    _limit(request, address)
    try:
        _subs(pw).request(address, freq)
    except MailError as exc:
        log.error("subscription confirmation to %s not sent: %s", address, exc)
        return _subscribe_page(
            request, email=email, frequency=frequency, error=MAIL_DOWN, status_code=503
        )
    notice = CHECK_INBOX.format(email=address, frequency=freq.value)
    return _subscribe_page(request, frequency=freq.value, notice=notice)


@router.post(
    "/api/subscriptions",
    status_code=202,
    response_model=SubscriptionAccepted,
    dependencies=[CSRF],
    responses={
        429: {"model": ErrorPublic, "description": "Too many requests."},
        503: {"model": ErrorPublic, "description": "The mail server is unavailable."},
    },
    summary="Subscribe an email address to the digest (double opt-in)",
)
def subscribe_api(request: Request, pw: PW, body: SubscriptionCreate) -> SubscriptionAccepted:
    """Sends a confirmation link; nothing else is sent until it is opened. The answer is
    the same whether or not the address was already subscribed."""
    _limit(request, body.email)
    try:
        _subs(pw).request(body.email, body.frequency)
    except MailError as exc:
        log.error("subscription confirmation to %s not sent: %s", body.email, exc)
        raise HTTPException(status_code=503, detail=MAIL_DOWN) from None
    return SubscriptionAccepted(
        message=CHECK_INBOX.format(email=body.email, frequency=body.frequency.value)
    )


# -- confirm --------------------------------------------------------------------------------


def _manage_path(subs: Subscriptions, sub: SubscriptionRow) -> str:
    return "/subscriptions/manage?token=" + subs.manage_token(sub)


@router.get("/subscriptions/confirm", response_class=HTMLResponse, include_in_schema=False)
def confirm_page(request: Request, pw: PW, token: Token) -> HTMLResponse:
    try:
        sub, frequency, trending = _subs(pw).read_confirm(token)
    except TokenError as exc:
        return _bad_link(request, exc)
    return _message(
        request,
        "Confirm your subscription",
        f"Send the {frequency.value} digest to {sub.email}?"
        if trending or sub.trending
        else f"Send alerts for your saved searches to {sub.email}?",
        action=("/subscriptions/confirm?token=" + quote(token, safe=""), "Yes, subscribe me"),
    )


@router.post("/subscriptions/confirm", response_class=HTMLResponse, include_in_schema=False)
def confirm_form(request: Request, pw: PW, token: Token) -> HTMLResponse:
    subs = _subs(pw)
    try:
        sub = subs.confirm(token)
    except TokenError as exc:
        return _bad_link(request, exc)
    what = f"the {sub.frequency.value} digest" if sub.trending else "your saved-search alerts"
    return _message(
        request,
        "You are subscribed",
        f"{sub.email} will get {what}. Every email has a link to change or stop it.",
        ok=True,
        links=[("Manage your subscription", _manage_path(subs, sub)), ("Back to papers", "/")],
    )


@router.post(
    "/api/subscriptions/confirm",
    response_model=SubscriptionPublic,
    responses=TOKEN_ERRORS,
    summary="Confirm a subscription (the link in the confirmation email)",
)
def confirm_api(pw: PW, token: Token) -> SubscriptionPublic:
    subs = _subs(pw)
    try:
        return subs.store.public(subs.confirm(token))
    except TokenError as exc:
        raise _token_error(exc) from None


# -- unsubscribe (RFC 8058) -------------------------------------------------------------------


@router.get("/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, pw: PW, token: Token) -> HTMLResponse:
    subs = _subs(pw)
    try:
        sub = subs.read_manage(token)
    except TokenError as exc:
        return _bad_link(request, exc)
    if sub.status == SubscriptionStatus.unsubscribed:
        return _message(
            request,
            "Already unsubscribed",
            f"Nothing is sent to {sub.email}.",
            ok=True,
            links=[("Subscribe again", _manage_path(subs, sub))],
        )
    return _message(
        request,
        "Unsubscribe",
        f"Stop every digest and alert to {sub.email}?",
        action=("/unsubscribe?token=" + quote(token, safe=""), "Unsubscribe"),
        danger=True,
        links=[("Or change how often instead", _manage_path(subs, sub))],
    )


@router.post("/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_one_click(request: Request, pw: PW, token: Token) -> HTMLResponse:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click`` in the body) and the button on
    the confirm page: no cookie, no CSRF token — the signed token is the authority."""
    subs = _subs(pw)
    try:
        sub = subs.unsubscribe(token)
    except TokenError as exc:
        return _bad_link(request, exc)
    return _message(
        request,
        "You are unsubscribed",
        f"Nothing more will be sent to {sub.email}.",
        ok=True,
        links=[("Changed your mind? Subscribe again", _manage_path(subs, sub))],
    )


@router.post(
    "/api/subscriptions/unsubscribe",
    response_model=SubscriptionPublic,
    responses=TOKEN_ERRORS,
    summary="Unsubscribe (the token from an email's unsubscribe link)",
)
def unsubscribe_api(pw: PW, token: Token) -> SubscriptionPublic:
    subs = _subs(pw)
    try:
        return subs.store.public(subs.unsubscribe(token))
    except TokenError as exc:
        raise _token_error(exc) from None


# -- manage ---------------------------------------------------------------------------------


def _manage_page(
    request: Request, subs: Subscriptions, sub: SubscriptionRow, token: str, notice: str | None
) -> HTMLResponse:
    q = quote(token, safe="")
    return render(
        request,
        "subscription_manage.html",
        {
            "sub": subs.store.public(sub),
            "token": q,
            "action_url": f"/subscriptions/manage?token={q}",
            "unsubscribe_url": f"/unsubscribe?token={q}",
            "delete_base": "/subscriptions/manage/searches",
            "notice": notice,
            "nav": "subscribe",
            "page_title": "Your subscription",
        },
    )


@router.get("/subscriptions/manage", response_class=HTMLResponse, include_in_schema=False)
def manage_page(request: Request, pw: PW, token: Token) -> HTMLResponse:
    subs = _subs(pw)
    try:
        sub = subs.read_manage(token)
    except TokenError as exc:
        return _bad_link(request, exc)
    return _manage_page(request, subs, sub, token, None)


@router.post("/subscriptions/manage", response_class=HTMLResponse, include_in_schema=False)
def manage_form(
    request: Request,
    pw: PW,
    token: Token,
    action: FormStr = "update",
    frequency: FormStr = "",
    trending: FormStr = "",
) -> HTMLResponse:
    subs = _subs(pw)
    try:
        sub = subs.read_manage(token)
    except TokenError as exc:
        return _bad_link(request, exc)
    if action == "resubscribe":
        # The token came by mail to this address: that is the confirmation.
        found = subs.store.activate(sub.id, sub.email, None)
        notice = "Welcome back: your digest is on again."
    else:
        try:
            freq = Frequency(frequency) if frequency else None
        except ValueError:
            raise HTTPException(status_code=422, detail="frequency: daily or weekly") from None
        found = subs.store.update(sub.id, sub.email, frequency=freq, trending=bool(trending))
        notice = "Saved."
    if found is None:
        return _bad_link(request, TokenError("invalid", "This link belongs to no subscription."))
    return _manage_page(request, subs, found, token, notice)


@router.post(
    "/subscriptions/manage/searches/{search_id}/delete",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def manage_delete_search(request: Request, pw: PW, search_id: int, token: Token) -> HTMLResponse:
    subs = _subs(pw)
    try:
        sub = subs.read_manage(token)
    except TokenError as exc:
        return _bad_link(request, exc)
    gone = subs.store.delete_search(search_id, subscription_id=sub.id)
    return _manage_page(request, subs, sub, token, "Alert removed." if gone else None)


@router.get(
    "/api/subscriptions/manage",
    response_model=SubscriptionPublic,
    responses=TOKEN_ERRORS,
    summary="A subscription, from the token in its emails",
)
def manage_api(pw: PW, token: Token) -> SubscriptionPublic:
    subs = _subs(pw)
    try:
        return subs.store.public(subs.read_manage(token))
    except TokenError as exc:
        raise _token_error(exc) from None


@router.patch(
    "/api/subscriptions/manage",
    response_model=SubscriptionPublic,
    responses=TOKEN_ERRORS,
    summary="Change a subscription's frequency or trending part",
)
def manage_update_api(pw: PW, token: Token, body: SubscriptionUpdate) -> SubscriptionPublic:
    subs = _subs(pw)
    try:
        sub = subs.read_manage(token)
    except TokenError as exc:
        raise _token_error(exc) from None
    found = subs.store.update(sub.id, sub.email, frequency=body.frequency, trending=body.trending)
    if found is None:
        raise HTTPException(status_code=400, detail="This link belongs to no subscription.")
    return subs.store.public(found)


# -- saved searches (accounts) ----------------------------------------------------------------


def _saved_page(subs: Subscriptions, user: UserAccount) -> tuple[SavedSearchesPage, str | None]:
    sub = subs.store.by_email(user.email)
    page = SavedSearchesPage(
        email=user.email,
        alerts=sub.status if sub else None,
        frequency=sub.frequency if sub else None,
        saved_searches=[x.public() for x in subs.store.searches_of_user(user.id)],
    )
    manage = _manage_path(subs, sub) if sub is not None and sub.status != "pending" else None
    return page, manage


def _render_saved(
    request: Request,
    subs: Subscriptions,
    user: UserAccount,
    *,
    form: dict[str, str] | None = None,
    notice: str | None = None,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page, manage = _saved_page(subs, user)
    fields = {"q": "", "name": "", "category": "", "org": "", "has_code": ""}
    fields.update(form or {})
    return render(
        request,
        "saved_searches.html",
        {
            "page": page,
            "manage_url": manage,
            "form": fields,
            "notice": notice,
            "error": error,
            "errors": errors or {},
            "page_title": "Saved searches",
            "nav": "saved-searches",
        },
        status_code=status_code,
        json_href="/api/saved-searches",
    )


def _save(subs: Subscriptions, user: UserAccount, data: SavedSearchCreate) -> SavedSearchCreated:
    try:
        saved, sub, confirmation = subs.save_search(user.id, user.email, data)
    except TooManySavedSearchesError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    if confirmation == "sent":
        message = f"Saved. Alerts start once you open the confirmation link we sent to {sub.email}."
    elif confirmation == "failed":
        message = (
            "Saved. Alerts start once you confirm your address, but the confirmation email "
            "could not be sent right now (the mail server is unavailable): save another "
            "search later to get a new link."
        )
    else:
        message = f"Saved. New matches come with your {sub.frequency.value} digest."
    return SavedSearchCreated(saved_search=saved.public(), alerts=sub.status, message=message)


@router.get("/saved-searches", response_class=HTMLResponse, include_in_schema=False)
def saved_searches_page(
    request: Request,
    pw: PW,
    user: RequireUser,
    q: str = "",
    category: str = "",
    org: str = "",
    has_code: str = "",
) -> HTMLResponse:
    form = {"q": q[:500], "category": category[:32], "org": org[:200], "has_code": has_code}
    return _render_saved(request, _subs(pw), user, form=form)


@router.post(
    "/saved-searches", response_class=HTMLResponse, include_in_schema=False, dependencies=[CSRF]
)
def saved_searches_form(
    request: Request,
    pw: PW,
    user: RequireUser,
    q: FormStr = "",
    name: FormStr = "",
    category: FormStr = "",
    org: FormStr = "",
    has_code: FormStr = "",
    date_from: Annotated[str, Form(alias="from")] = "",
    date_to: Annotated[str, Form(alias="to")] = "",
) -> HTMLResponse:
    subs = _subs(pw)
    form = {"q": q, "name": name, "category": category, "org": org, "has_code": has_code}
    try:
        filters = SearchFilters(
            date_from=parse_date(date_from, "from"),
            date_to=parse_date(date_to, "to"),
            category=category.strip() or None,
            organization=org.strip() or None,
            has_code=True if parse_bool(has_code, "has_code") else None,
        )
        data = SavedSearchCreate(q=q[:500], filters=filters, name=name.strip()[:120] or None)
    except ParamError as exc:
        return _render_saved(
            request, subs, user, form=form, errors={exc.field: exc.message}, status_code=422
        )
    if not data.q and filters.is_empty():
        return _render_saved(
            request,
            subs,
            user,
            form=form,
            errors={"q": "Query: type something to search for (or pick a filter)"},
            status_code=422,
        )
    try:
        _limit(request, user.email)  # saving may mail a confirmation link
        created = _save(subs, user, data)
    except HTTPException as exc:
        return _render_saved(
            request, subs, user, form=form, error=str(exc.detail), status_code=exc.status_code
        )
    return _render_saved(request, subs, user, notice=created.message)


@router.post("/saved-searches/{search_id}/delete", include_in_schema=False, dependencies=[CSRF])
def saved_search_delete_form(pw: PW, user: RequireUser, search_id: int) -> Response:
    _subs(pw).store.delete_search(search_id, user_id=user.id)
    return RedirectResponse("/saved-searches", status_code=303)


@router.get(
    "/api/saved-searches",
    response_model=SavedSearchesPage,
    responses={401: {"model": ErrorPublic}},
    summary="Your saved searches and where their alerts go",
)
def saved_searches_api(pw: PW, user: RequireUser) -> SavedSearchesPage:
    return _saved_page(_subs(pw), user)[0]


@router.post(
    "/api/saved-searches",
    status_code=201,
    response_model=SavedSearchCreated,
    dependencies=[CSRF],
    responses={401: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
    summary="Save a search: its new matches come with your email digest",
)
def saved_search_create_api(
    request: Request, pw: PW, user: RequireUser, body: SavedSearchCreate
) -> SavedSearchCreated:
    if not body.q and body.filters.is_empty():
        raise HTTPException(status_code=422, detail="q: give a query or at least one filter")
    _limit(request, user.email)  # saving may mail a confirmation link
    return _save(_subs(pw), user, body)


@router.delete(
    "/api/saved-searches/{search_id}",
    status_code=204,
    dependencies=[CSRF],
    responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}},
    summary="Delete one of your saved searches",
)
def saved_search_delete_api(pw: PW, user: RequireUser, search_id: int) -> Response:
    if not _subs(pw).store.delete_search(search_id, user_id=user.id):
        raise HTTPException(status_code=404, detail="You have no saved search with that id.")
    return Response(status_code=204)
