"""Alerts (``/alerts``) and personal access tokens (``/settings/tokens``), signed in.

Pages + JSON twins: ``GET|POST /api/alerts``, ``PATCH|DELETE /api/alerts/{id}``,
``GET /api/alerts/{id}/deliveries`` (the webhook delivery log), ``GET|POST /api/tokens``,
``DELETE /api/tokens/{id}``. An alert's private feed is ``/feeds/alerts/{id}.{atom,rss}``
(``routes/feeds.py``). A new token is shown once, on the page or in the JSON answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperwire.models.alerts import (
    AlertCreate,
    AlertCreated,
    AlertDeliveries,
    AlertKind,
    AlertPublic,
    AlertsPage,
    AlertUpdate,
    TokenCreate,
    TokenCreated,
    TokensPage,
)
from paperwire.models.common import ErrorPublic
from paperwire.models.community import UserAccount
from paperwire.models.search import SearchFilters
from paperwire.services.alerts import AlertError, Alerts, alerts_of
from paperwire.store.subscriptions import TooManySavedSearchesError
from paperwire.web.auth import CSRF, RequireUser
from paperwire.web.dependencies import PW, ParamError, RowId, parse_bool, parse_date
from paperwire.web.routes.subscriptions import limit_mail_requests
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, FormError, Page, Shown, twin

router = APIRouter(tags=["alerts"])
NO_ALERT = "You have no alert with that id."
OWNED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic},
    404: {"model": ErrorPublic, "description": NO_ALERT},
}
CONFIRMATION = {
    "sent": "Email alerts start once you open the confirmation link we sent to {email}.",
    "failed": "Email alerts start once you confirm your address, but the confirmation email "
    "could not be sent right now (the mail server is unavailable).",
    "not-needed": "New papers come with your email digest.",
    "none": "No email: read it by its private feed or webhook.",
}


def _page_model(alerts: Alerts, user: UserAccount) -> AlertsPage:
    sub = alerts.subs.store.by_email(user.email)
    return AlertsPage(
        email=user.email,
        email_status=sub.status if sub else None,
        alerts=[alerts.public(a) for a in alerts.store.of_user(user.id)],
    )


def _render_alerts(
    call: Call,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    alerts = alerts_of(call.args["pw"])
    page = _page_model(alerts, call.args["user"])
    fields = {"kind": "search", "q": "", "name": "", "target": "", "webhook_url": ""}
    fields.update({k: call.value(k) for k in fields if call.value(k)} if errors else {})
    return render(
        call.request,
        "alerts.html",
        {
            "page": page,
            "form": fields,
            "kinds": list(AlertKind),
            "notice": notice,
            "errors": errors or {},
            "page_title": "Alerts",
            "nav": "alerts",
        },
        status_code=status_code,
        json_href="/api/alerts",
    )


@twin(
    router,
    Api("/api/alerts", AlertsPage, errors={401: {"model": ErrorPublic}}, summary="Your alerts"),
    Page("/alerts", respond=lambda call, _: _render_alerts(call)),
)
def alerts_list(pw: PW, user: RequireUser) -> AlertsPage:
    """Every alert of yours, each with its private feed URLs and webhook."""
    return _page_model(alerts_of(pw), user)


def _create_form(call: Call) -> dict[str, Any]:
    try:
        filters = SearchFilters(
            date_from=parse_date(call.value("from"), "from"),
            date_to=parse_date(call.value("to"), "to"),
            category=call.value("category").strip() or None,
            organization=call.value("org").strip() or None,
            has_code=True if parse_bool(call.value("has_code"), "has_code") else None,
        )
        kind = AlertKind(call.value("kind", "search"))
    except ParamError as exc:
        raise FormError({exc.field: exc.message}) from None
    except ValueError:
        raise FormError({"kind": "Kind: search, follow or collection"}) from None
    data = AlertCreate(
        kind=kind,
        name=call.value("name")[:120] or None,
        q=call.value("q")[:500],
        filters=filters,
        target=call.value("target")[:200] or None,
        email=bool(call.value("email")),
        webhook_url=call.value("webhook_url").strip()[:2000] or None,
    )
    return {"body": data}


def _refused(call: Call, exc: HTTPException) -> Response | None:
    if isinstance(exc, FormError):
        return _render_alerts(call, errors=exc.errors, status_code=exc.status_code)
    if exc.status_code in (409, 422):
        return _render_alerts(call, errors={"form": str(exc.detail)}, status_code=exc.status_code)
    return None


@twin(
    router,
    Api(
        "POST /api/alerts",
        AlertCreated,
        status=201,
        errors={
            401: {"model": ErrorPublic},
            409: {"model": ErrorPublic, "description": "You have the most alerts allowed."},
            429: {"model": ErrorPublic, "description": "Too many requests; see `Retry-After`."},
        },
        summary="Make an alert: a search, a follow or a collection's recommendations",
    ),
    Page(
        "POST /alerts",
        form=_create_form,
        respond=lambda call, created: _render_alerts(call, notice=created.message),
        failed=_refused,
    ),
    CSRF,
)
def alert_create(request: Request, pw: PW, user: RequireUser, body: AlertCreate) -> AlertCreated:
    """Email is on unless `email` is false (a new address gets a confirmation link
    first); a `webhook_url` gets a secret to check signatures with."""
    alerts = alerts_of(pw)
    if body.email:
        limit_mail_requests(request, user.email)
    try:
        made = alerts.create(user, body)
    except AlertError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    except TooManySavedSearchesError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    note = CONFIRMATION[made.confirmation].format(email=user.email)
    return AlertCreated(alert=alerts.public(made.alert), message=f"Saved. {note}")


def _update_form(call: Call) -> dict[str, Any]:
    action = call.value("action")
    update: dict[str, Any] = {}
    if action == "email":
        update["email"] = bool(call.value("email"))
    elif action == "webhook":
        update["webhook_url"] = call.value("webhook_url").strip()[:2000]
    elif action in ("enable_webhook", "new_webhook_secret", "new_feed_token"):
        update[action] = True
    else:
        raise FormError({"action": "Unknown change"})
    return {"body": AlertUpdate(**update)}


def _to_alerts(call: Call, result: object) -> Response:
    return RedirectResponse("/alerts", status_code=303)


@twin(
    router,
    Api(
        "PATCH /api/alerts/{alert_id}",
        AlertPublic,
        errors={
            **OWNED,
            429: {"model": ErrorPublic, "description": "Too many requests; see `Retry-After`."},
        },
        summary="Change an alert: email on/off, webhook URL or secret, a new feed URL",
    ),
    Page(
        "POST /alerts/{alert_id}",
        form=_update_form,
        respond=_to_alerts,
        failed=_refused,
    ),
    CSRF,
)
def alert_update(
    request: Request, pw: PW, user: RequireUser, alert_id: RowId, body: AlertUpdate
) -> AlertPublic:
    """Turning email on for an address not confirmed yet mails a confirmation link."""
    alerts = alerts_of(pw)
    if body.email:
        limit_mail_requests(request, user.email)
    try:
        found = alerts.update(user, alert_id, body)
    except AlertError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    if found is None:
        raise HTTPException(status_code=404, detail=NO_ALERT)
    return alerts.public(found)


@twin(
    router,
    Api("DELETE /api/alerts/{alert_id}", status=204, errors=OWNED, summary="Delete an alert"),
    Page(
        "POST /alerts/{alert_id}/delete",
        respond=_to_alerts,
        failed=lambda call, exc: _to_alerts(call, None) if exc.status_code == 404 else None,
    ),
    CSRF,
)
def alert_delete(pw: PW, user: RequireUser, alert_id: RowId) -> None:
    if not alerts_of(pw).subs.store.delete_search(alert_id, user_id=user.id):
        raise HTTPException(status_code=404, detail=NO_ALERT)


@twin(
    router,
    Api(
        "/api/alerts/{alert_id}/deliveries",
        AlertDeliveries,
        errors=OWNED,
        summary="An alert's webhook deliveries and every attempt, newest first",
    ),
    Page(
        "/alerts/{alert_id}/deliveries",
        template="alert_deliveries.html",
        context=lambda call, shown: {
            "log": shown.model,
            "alert": shown.extra["alert"],
            "page_title": "Webhook deliveries",
            "nav": "alerts",
        },
    ),
)
def alert_deliveries(pw: PW, user: RequireUser, alert_id: RowId) -> Shown[AlertDeliveries]:
    alerts = alerts_of(pw)
    alert = alerts.store.get(alert_id, user.id)
    if alert is None:
        raise HTTPException(status_code=404, detail=NO_ALERT)
    log = AlertDeliveries(
        alert_id=alert.id, webhook=alert.webhook(), deliveries=alerts.store.deliveries(alert.id)
    )
    return Shown(log, {"alert": alerts.public(alert)})


# -- personal access tokens ---------------------------------------------------------------


def _render_tokens(
    call: Call, created: TokenCreated | None = None, errors: dict[str, str] | None = None
) -> HTMLResponse:
    tokens = alerts_of(call.args["pw"]).tokens.of_user(call.args["user"].id)
    return render(
        call.request,
        "tokens.html",
        {
            "tokens": tokens,
            "created": created,
            "errors": errors or {},
            "page_title": "Access tokens",
            "nav": "tokens",
        },
        status_code=422 if errors else 200,
        json_href="/api/tokens",
    )


@twin(
    router,
    Api("/api/tokens", TokensPage, errors={401: {"model": ErrorPublic}}, summary="Your tokens"),
    Page("/settings/tokens", respond=lambda call, _: _render_tokens(call)),
)
def tokens_list(pw: PW, user: RequireUser) -> TokensPage:
    """Personal access tokens (for `paperwire mcp` clients): names and prefixes only."""
    return TokensPage(tokens=alerts_of(pw).tokens.of_user(user.id))


def _token_form(call: Call) -> dict[str, Any]:
    name = " ".join(call.value("name").split())[:120]
    if not name:
        raise FormError({"name": "Name: say what the token is for"})
    return {"body": TokenCreate(name=name)}


@twin(
    router,
    Api(
        "POST /api/tokens",
        TokenCreated,
        status=201,
        errors={401: {"model": ErrorPublic}},
        summary="Create a personal access token (shown once)",
    ),
    Page(
        "POST /settings/tokens",
        form=_token_form,
        respond=lambda call, created: _render_tokens(call, created),
        failed=lambda call, exc: (
            _render_tokens(call, errors=exc.errors) if isinstance(exc, FormError) else None
        ),
    ),
    CSRF,
)
def token_create(pw: PW, user: RequireUser, body: TokenCreate) -> TokenCreated:
    """Only the token's SHA-256 is stored: copy it now."""
    return alerts_of(pw).new_token(user.id, body.name)


def _to_tokens(call: Call, result: object) -> Response:
    return RedirectResponse("/settings/tokens", status_code=303)


@twin(
    router,
    Api(
        "DELETE /api/tokens/{token_id}",
        status=204,
        errors={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}},
        summary="Revoke a personal access token",
    ),
    Page(
        "POST /settings/tokens/{token_id}/revoke",
        respond=_to_tokens,
        failed=lambda call, exc: _to_tokens(call, None) if exc.status_code == 404 else None,
    ),
    CSRF,
)
def token_revoke(pw: PW, user: RequireUser, token_id: RowId) -> None:
    if not alerts_of(pw).tokens.revoke(token_id, user.id):
        raise HTTPException(status_code=404, detail="You have no live token with that id.")
