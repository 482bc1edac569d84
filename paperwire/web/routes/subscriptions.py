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
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
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
from paperwire.web.dependencies import PW, ParamError, RowId, parse_bool, parse_date
from paperwire.web.ratelimit import client_ip, enforce
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, FormError, Page, Register, Shown, twin

log = logging.getLogger(__name__)
router = APIRouter(tags=["subscriptions"])

Token = Annotated[str, Query(max_length=2000, description="The signed token from the email.")]
CHECK_INBOX = (
    "Almost done: we sent a confirmation link to {email}. Open it to start your "
    "{frequency} digest (nothing is sent until you do)."
)
MAIL_DOWN = (
    "We could not send the confirmation email right now (the mail server is unavailable). "
    "Please try again later."
)
TOKEN_ERRORS: Errors = {400: {"model": ErrorPublic, "description": "Invalid or expired link."}}


class LinkError(HTTPException):
    """400 for a signed link that cannot be used; ``reason``: ``expired`` or ``invalid``."""

    def __init__(self, exc: TokenError) -> None:
        super().__init__(status_code=400, detail=exc.message)
        self.reason = exc.reason


def limit_mail_requests(request: Request, email: str) -> None:
    """Requests that may mail a confirmation link: per client IP and per address."""
    per_hour = request.app.state.pw.settings.rate_subscribe_per_hour
    limiter = limiter_of(request)
    enforce(request, limiter, f"subscribe:ip:{client_ip(request)}", per_hour, 3600, "requests")
    enforce(request, limiter, f"subscribe:email:{email}", per_hour, 3600, "requests")


def _read_manage(subs: Subscriptions, token: str) -> SubscriptionRow:
    try:
        return subs.read_manage(token)
    except TokenError as exc:
        raise LinkError(exc) from None


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


def _bad_link(request: Request, reason: str, message: str) -> HTMLResponse:
    heading = "This link has expired" if reason == "expired" else "This link does not work"
    return _message(
        request,
        heading,
        message + " Subscribe again to get a fresh link.",
        status_code=400,
        links=[("Subscribe", "/subscribe")],
    )


def _link_failed(call: Call, exc: HTTPException) -> Response | None:
    """A page for a link that does not work (other errors: the error page)."""
    if not isinstance(exc, LinkError):
        return None
    return _bad_link(call.request, exc.reason, str(exc.detail))


def _link(api: str, summary: str, page: str, respond: Callable[[Call, Any], Response]) -> Register:
    """Register a view of a signed email link: the JSON route (400 for a link that does
    not work) and the page (``respond``; a page explaining a bad link)."""
    return twin(
        router,
        Api(api, SubscriptionPublic, errors=TOKEN_ERRORS, summary=summary),
        Page(page, respond=respond, failed=_link_failed),
    )


def _manage_path(subs: Subscriptions, sub: SubscriptionRow) -> str:
    return "/subscriptions/manage?token=" + subs.manage_token(sub)


def _by_link(
    pw: PW, token: str, act: Callable[[Subscriptions, str], SubscriptionRow]
) -> Shown[SubscriptionPublic]:
    """Confirm or unsubscribe by a signed link: the subscription, and its manage link."""
    subs = subscriptions_of(pw)
    try:
        sub = act(subs, token)
    except TokenError as exc:
        raise LinkError(exc) from None
    return Shown(subs.store.public(sub), {"manage": _manage_path(subs, sub)})


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


def _subscribe_form(call: Call) -> dict[str, Any]:
    try:
        email = normalize_email(call.value("email"))
    except ValueError as exc:
        raise FormError({"email": f"Email: {exc}"}) from None
    try:
        frequency = Frequency(call.value("frequency", "daily"))
    except ValueError:
        raise FormError({"frequency": "How often: choose daily or weekly"}) from None
    return {"body": SubscriptionCreate(email=email, frequency=frequency)}


def _subscribe_failed(call: Call, exc: HTTPException) -> Response | None:
    if isinstance(exc, FormError):
        error, errors = None, exc.errors
    elif exc.status_code == 503:
        error, errors = MAIL_DOWN, None
    else:
        return None
    return _subscribe_page(
        call.request,
        email=call.value("email"),
        frequency=call.value("frequency", "daily"),
        error=error,
        errors=errors,
        status_code=exc.status_code,
    )


@twin(
    router,
    Api(
        "POST /api/subscriptions",
        SubscriptionAccepted,
        status=202,
        errors={
            429: {"model": ErrorPublic, "description": "Too many requests."},
            503: {"model": ErrorPublic, "description": "The mail server is unavailable."},
        },
        summary="Subscribe an email address to the digest (double opt-in)",
    ),
    Page(
        "POST /subscribe",
        form=_subscribe_form,
        respond=lambda call, accepted: _subscribe_page(
            call.request, frequency=call.args["body"].frequency.value, notice=accepted.message
        ),
        failed=_subscribe_failed,
    ),
    CSRF,
)
def subscribe(request: Request, pw: PW, body: SubscriptionCreate) -> SubscriptionAccepted:
    """Sends a confirmation link; nothing else is sent until it is opened. The answer is
    the same whether or not the address was already subscribed."""
    limit_mail_requests(request, body.email)
    try:
        subscriptions_of(pw).request(body.email, body.frequency)
    except MailError as exc:
        log.error("subscription confirmation to %s not sent: %s", body.email, exc)
        raise HTTPException(status_code=503, detail=MAIL_DOWN) from None
    return SubscriptionAccepted(
        message=CHECK_INBOX.format(email=body.email, frequency=body.frequency.value)
    )


# -- confirm --------------------------------------------------------------------------------


@router.get("/subscriptions/confirm", response_class=HTMLResponse, include_in_schema=False)
def confirm_page(request: Request, pw: PW, token: Token) -> HTMLResponse:
    try:
        sub, frequency, trending = subscriptions_of(pw).read_confirm(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason, exc.message)
    return _message(
        request,
        "Confirm your subscription",
        f"Send the {frequency.value} digest to {sub.email}?"
        if trending or sub.trending
        else f"Send alerts for your saved searches to {sub.email}?",
        action=("/subscriptions/confirm?token=" + quote(token, safe=""), "Yes, subscribe me"),
    )


def _subscribed(call: Call, result: Shown[SubscriptionPublic]) -> Response:
    sub = result.model
    what = f"the {sub.frequency.value} digest" if sub.trending else "your saved-search alerts"
    return _message(
        call.request,
        "You are subscribed",
        f"{sub.email} will get {what}. Every email has a link to change or stop it.",
        ok=True,
        links=[("Manage your subscription", result.extra["manage"]), ("Back to papers", "/")],
    )


@_link(
    "POST /api/subscriptions/confirm",
    "Confirm a subscription (the link in the confirmation email)",
    "POST /subscriptions/confirm",
    _subscribed,
)
def confirm(pw: PW, token: Token) -> Shown[SubscriptionPublic]:
    return _by_link(pw, token, Subscriptions.confirm)


# -- unsubscribe (RFC 8058) -------------------------------------------------------------------


@router.get("/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, pw: PW, token: Token) -> HTMLResponse:
    subs = subscriptions_of(pw)
    try:
        sub = subs.read_manage(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason, exc.message)
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


def _unsubscribed(call: Call, result: Shown[SubscriptionPublic]) -> Response:
    return _message(
        call.request,
        "You are unsubscribed",
        f"Nothing more will be sent to {result.model.email}.",
        ok=True,
        links=[("Changed your mind? Subscribe again", result.extra["manage"])],
    )


@_link(
    "POST /api/subscriptions/unsubscribe",
    "Unsubscribe (the token from an email's unsubscribe link)",
    "POST /unsubscribe",
    _unsubscribed,
)
def unsubscribe(pw: PW, token: Token) -> Shown[SubscriptionPublic]:
    return _by_link(pw, token, Subscriptions.unsubscribe)


# -- manage ---------------------------------------------------------------------------------


def _manage_page(
    request: Request, subs: Subscriptions, sub: SubscriptionPublic, token: str, notice: str | None
) -> HTMLResponse:
    q = quote(token, safe="")
    return render(
        request,
        "subscription_manage.html",
        {
            "sub": sub,
            "token": q,
            "action_url": f"/subscriptions/manage?token={q}",
            "unsubscribe_url": f"/unsubscribe?token={q}",
            "delete_base": "/subscriptions/manage/searches",
            "notice": notice,
            "nav": "subscribe",
            "page_title": "Your subscription",
        },
    )


@_link(
    "/api/subscriptions/manage",
    "A subscription, from the token in its emails",
    "/subscriptions/manage",
    lambda call, sub: _manage_page(
        call.request, subscriptions_of(call.args["pw"]), sub, call.args["token"], None
    ),
)
def manage(pw: PW, token: Token) -> SubscriptionPublic:
    subs = subscriptions_of(pw)
    return subs.store.public(_read_manage(subs, token))


def _manage_form(call: Call) -> dict[str, Any]:
    if call.value("action", "update") == "resubscribe":
        return {"body": SubscriptionUpdate(), "resubscribe": True}
    frequency = call.value("frequency")
    try:
        freq = Frequency(frequency) if frequency else None
    except ValueError:
        raise FormError({"frequency": "frequency: daily or weekly"}) from None
    update = SubscriptionUpdate(frequency=freq, trending=bool(call.value("trending")))
    return {"body": update, "resubscribe": False}


def _manage_failed(call: Call, exc: HTTPException) -> Response | None:
    """A link that does not work first (as the page checks it first); then the error."""
    try:
        subscriptions_of(call.args["pw"]).read_manage(call.args["token"])
    except TokenError as bad:
        return _bad_link(call.request, bad.reason, bad.message)
    return _link_failed(call, exc)


@twin(
    router,
    Api(
        "PATCH /api/subscriptions/manage",
        SubscriptionPublic,
        errors=TOKEN_ERRORS,
        summary="Change a subscription's frequency or trending part",
        fixed={"resubscribe": False},
    ),
    Page(
        "POST /subscriptions/manage",
        form=_manage_form,
        form_params=["body", "resubscribe"],
        respond=lambda call, result: _manage_page(
            call.request,
            subscriptions_of(call.args["pw"]),
            result.model,
            call.args["token"],
            result.extra["notice"],
        ),
        failed=_manage_failed,
    ),
)
def manage_update(
    pw: PW, token: Token, body: SubscriptionUpdate, resubscribe: bool
) -> Shown[SubscriptionPublic]:
    subs = subscriptions_of(pw)
    sub = _read_manage(subs, token)
    if resubscribe:
        found = subs.store.activate(sub.id, sub.email, None)
        notice = "Welcome back: your digest is on again."
    else:
        found = subs.store.update(
            sub.id, sub.email, frequency=body.frequency, trending=body.trending
        )
        notice = "Saved."
    if found is None:
        raise LinkError(TokenError("invalid", "This link belongs to no subscription."))
    return Shown(subs.store.public(found), {"notice": notice})


@router.post(
    "/subscriptions/manage/searches/{search_id}/delete",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def manage_delete_search(request: Request, pw: PW, search_id: RowId, token: Token) -> HTMLResponse:
    subs = subscriptions_of(pw)
    try:
        sub = subs.read_manage(token)
    except TokenError as exc:
        return _bad_link(request, exc.reason, exc.message)
    gone = subs.store.delete_search(search_id, subscription_id=sub.id)
    notice = "Alert removed." if gone else None
    return _manage_page(request, subs, subs.store.public(sub), token, notice)


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
    call: Call,
    *,
    form: dict[str, str] | None = None,
    notice: str | None = None,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    shown: Shown[SavedSearchesPage] | None = None,
) -> HTMLResponse:
    if shown is None:
        shown = saved_searches(call.args["pw"], call.args["user"])
    fields = {"q": "", "name": "", "category": "", "org": "", "has_code": ""}
    fields.update(form or {})
    return render(
        call.request,
        "saved_searches.html",
        {
            "page": shown.model,
            "manage_url": shown.extra["manage"],
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


def _prefilled(call: Call, shown: Shown[SavedSearchesPage]) -> Response:
    """The page, its form filled from the search it was opened from."""
    q = call.request.query_params
    form = {
        "q": q.get("q", "")[:500],
        "category": q.get("category", "")[:32],
        "org": q.get("org", "")[:200],
        "has_code": q.get("has_code", ""),
    }
    return _render_saved(call, form=form, shown=shown)


@twin(
    router,
    Api(
        "/api/saved-searches",
        SavedSearchesPage,
        errors={401: {"model": ErrorPublic}},
        summary="Your saved searches and where their alerts go",
    ),
    Page("/saved-searches", respond=_prefilled),
)
def saved_searches(pw: PW, user: RequireUser) -> Shown[SavedSearchesPage]:
    page, manage = _saved_page(subscriptions_of(pw), user)
    return Shown(page, {"manage": manage})


def _saved_search_form(call: Call) -> dict[str, Any]:
    try:
        filters = SearchFilters(
            date_from=parse_date(call.value("from"), "from"),
            date_to=parse_date(call.value("to"), "to"),
            category=call.value("category").strip() or None,
            organization=call.value("org").strip() or None,
            has_code=True if parse_bool(call.value("has_code"), "has_code") else None,
        )
    except ParamError as exc:
        raise FormError({exc.field: exc.message}) from None
    name = call.value("name").strip()[:120] or None
    data = SavedSearchCreate(q=call.value("q")[:500], filters=filters, name=name)
    if not data.q and filters.is_empty():
        raise FormError({"q": "Query: type something to search for (or pick a filter)"})
    return {"body": data}


def _saved_search_refused(call: Call, exc: HTTPException) -> Response:
    """The form again: with its field errors, or with why it was not saved."""
    form = {k: call.value(k) for k in ("q", "name", "category", "org", "has_code")}
    if isinstance(exc, FormError):
        return _render_saved(call, form=form, errors=exc.errors, status_code=exc.status_code)
    return _render_saved(call, form=form, error=str(exc.detail), status_code=exc.status_code)


@twin(
    router,
    Api(
        "POST /api/saved-searches",
        SavedSearchCreated,
        status=201,
        errors={
            401: {"model": ErrorPublic},
            409: {"model": ErrorPublic},
            429: {"model": ErrorPublic, "description": "Too many requests; see `Retry-After`."},
        },
        summary="Save a search: its new matches come with your email digest",
    ),
    Page(
        "POST /saved-searches",
        form=_saved_search_form,
        respond=lambda call, created: _render_saved(call, notice=created.message),
        failed=_saved_search_refused,
    ),
    CSRF,
)
def saved_search_create(
    request: Request, pw: PW, user: RequireUser, body: SavedSearchCreate
) -> SavedSearchCreated:
    if not body.q and body.filters.is_empty():
        raise HTTPException(status_code=422, detail="q: give a query or at least one filter")
    limit_mail_requests(request, user.email)  # saving may mail a confirmation link
    try:
        saved, sub, confirmation = subscriptions_of(pw).save_search(user.id, user.email, body)
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


def _to_saved_searches(call: Call, result: object) -> Response:
    return RedirectResponse("/saved-searches", status_code=303)


@twin(
    router,
    Api(
        "DELETE /api/saved-searches/{search_id}",
        status=204,
        errors={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}},
        summary="Delete one of your saved searches",
    ),
    Page(
        "POST /saved-searches/{search_id}/delete",
        respond=_to_saved_searches,
        failed=lambda call, exc: _to_saved_searches(call, None) if exc.status_code == 404 else None,
    ),
    CSRF,
)
def saved_search_delete(pw: PW, user: RequireUser, search_id: RowId) -> None:
    if not subscriptions_of(pw).store.delete_search(search_id, user_id=user.id):
        raise HTTPException(status_code=404, detail="You have no saved search with that id.")
