"""Notifications: ``/notifications`` (yours, newest first), ``/notifications/settings``
(which kinds to list and which to email), and their JSON twins under
``/api/notifications``. Kinds are registered in ``services.notifications``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse

from paperwire.models.common import ErrorPublic
from paperwire.models.discussions import (
    NotificationSettingChange,
    NotificationSettingPublic,
    NotificationSettingsUpdate,
    NotificationsPage,
)
from paperwire.services.notifications import KINDS, UnknownKind, notifier_of
from paperwire.web.auth import CSRF, Comm, RequireAccount, viewer
from paperwire.web.twin import Api, Call, Errors, Page, twin

router = APIRouter(tags=["notifications"])

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
}


@twin(
    router,
    Api(
        "/api/notifications",
        NotificationsPage,
        errors={401: _ERRORS[401]},
        summary="Your notifications",
    ),
    Page(
        "/notifications",
        "notifications.html",
        context=lambda call, page: {
            "page": page,
            "page_title": "Notifications",
            "nav": "notifications",
        },
        json_href=lambda call, page: "/api/notifications",
    ),
)
def notifications(comm: Comm, account: RequireAccount) -> NotificationsPage:
    """Newest first (at most 50), with the number still unread."""
    return notifier_of(comm.pw).page(account.id)


@twin(
    router,
    Api("POST /api/notifications/read", NotificationsPage, errors=_ERRORS, summary="Mark all read"),
    Page(
        "POST /notifications/read",
        respond=lambda call, page: RedirectResponse("/notifications", 303),
    ),
    CSRF,
)
def mark_read(comm: Comm, account: RequireAccount) -> NotificationsPage:
    notifier = notifier_of(comm.pw)
    notifier.mark_read(account.id)
    return notifier.page(account.id)


def _settings_context(call: Call, settings: list[NotificationSettingPublic]) -> dict[str, Any]:
    return {
        "settings": settings,
        "saved": call.request.query_params.get("saved") == "1",
        "page_title": "Notification settings",
        "nav": "notifications",
    }


@twin(
    router,
    Api(
        "/api/notifications/settings",
        list[NotificationSettingPublic],
        errors={401: _ERRORS[401]},
        summary="Which notifications you get, per kind",
    ),
    Page(
        "/notifications/settings",
        "notification_settings.html",
        context=_settings_context,
        json_href=lambda call, s: "/api/notifications/settings",
    ),
)
def notification_settings(comm: Comm, account: RequireAccount) -> list[NotificationSettingPublic]:
    return notifier_of(comm.pw).settings(account.id)


def _settings_form(call: Call) -> dict[str, Any]:
    """One pair of checkboxes per kind: ``web:<kind>`` and ``email:<kind>`` (an unticked
    box is not sent: off)."""
    changes = [
        NotificationSettingChange(
            kind=kind, web=f"web:{kind}" in call.form, email=f"email:{kind}" in call.form
        )
        for kind in KINDS
    ]
    return {"data": NotificationSettingsUpdate(settings=changes)}


@twin(
    router,
    Api(
        "PUT /api/notifications/settings",
        list[NotificationSettingPublic],
        errors={**_ERRORS, 422: {"description": "An unknown kind."}},
        summary="Change which notifications you get",
    ),
    Page(
        "POST /notifications/settings",
        form=_settings_form,
        respond=lambda call, s: RedirectResponse("/notifications/settings?saved=1", 303),
    ),
    CSRF,
)
def update_settings(
    comm: Comm, account: RequireAccount, data: NotificationSettingsUpdate
) -> list[NotificationSettingPublic]:
    """Kinds not named keep their current setting."""
    try:
        return notifier_of(comm.pw).update_settings(account.id, data.settings)
    except UnknownKind as exc:
        raise HTTPException(422, f"There is no notification kind {str(exc)[:40]!r}") from None


def unread_notifications() -> int:
    """The ``unread_notifications()`` template global: the count the account nav shows."""
    me = viewer()
    account = me.account
    community = getattr(me, "community", None)
    if account is None or community is None:
        return 0
    return notifier_of(community.pw).unread(account.id)
