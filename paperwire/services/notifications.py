"""Notifications: a registry of kinds, per-user settings, the in-site list and email.

A *kind* is registered once (``register``) with its label (the settings page shows it)
and its defaults; anything that wants to tell a user something calls
``notifier_of(pw).notify(recipient, kind, text, url, actor=…)``. Adding a kind (e.g. "a
followed author has a new paper") is one ``register`` call next to the code that
notifies: this module, the page and the settings need no change.

Per user and kind, ``web`` lists it on ``/notifications`` and ``email`` queues a mail in
the outbox the digests and password resets use (``digest_outbox``, kind ``account``):
the web app's mailer thread sends it at once, the worker's outbox job retries it when
the SMTP server was down.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from paperwire.core import Paperwire
from paperwire.models.discussions import (
    NotificationPublic,
    NotificationSettingChange,
    NotificationSettingPublic,
    NotificationsPage,
)
from paperwire.store.notifications import NotificationStore
from paperwire.store.subscriptions import OUTBOX_ACCOUNT, SubscriptionStore
from paperwire.store.users import Account


@dataclass(frozen=True)
class NotificationKind:
    name: str  # stored in notifications.kind (at most 32 characters)
    label: str  # what the settings page calls it
    web: bool = True  # the defaults of a user who never changed the setting
    email: bool = True


KINDS: dict[str, NotificationKind] = {}


def register(kind: NotificationKind) -> NotificationKind:
    """Make a kind known (idempotent for the same definition)."""
    if len(kind.name) > 32:
        raise ValueError(f"notification kind {kind.name!r} is longer than 32 characters")
    known = KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"notification kind {kind.name!r} is already registered differently")
    KINDS[kind.name] = kind
    return kind


COMMENT_REPLY = register(NotificationKind("comment_reply", "Replies to your comments"))
COMMENT_MENTION = register(
    NotificationKind("comment_mention", "Comments that mention you (@your-handle)")
)


class UnknownKind(ValueError):  # noqa: N818
    """A setting for a kind nobody registered."""


@dataclass
class Notifier:
    pw: Paperwire

    def __post_init__(self) -> None:
        self.store = NotificationStore(self.pw.db)

    def choice(self, user_id: int, kind: str) -> tuple[bool, bool]:
        """``(web, email)`` for one user and kind."""
        default = KINDS[kind]
        return self.store.settings(user_id).get(kind, (default.web, default.email))

    def notify(
        self,
        recipient: Account,
        kind: str,
        text: str,
        url: str,
        *,
        actor: Account | None = None,
        excerpt: str = "",
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Tell ``recipient`` (never the actor themself) as their settings say; ``url``
        is site-relative. Returns whether an email was queued."""
        if kind not in KINDS:
            raise UnknownKind(kind)
        if actor is not None and actor.id == recipient.id:
            return False
        web, email = self.choice(recipient.id, kind)
        if web:
            self.store.add(recipient.id, kind, text, url, actor.id if actor else None, detail)
        if email:
            self._mail(recipient, text, url, excerpt)
        return email

    def _mail(self, recipient: Account, text: str, url: str, excerpt: str) -> None:
        s = self.pw.settings
        base = s.base_url.rstrip("/")
        quoted = "".join(f"> {line}\n" for line in excerpt.strip().splitlines()[:12])
        body = (
            f"Hello {recipient.display_name},\n\n{text}\n\n"
            + (f"{quoted}\n" if quoted else "")
            + f"{base}{url}\n\n"
            f"Choose which notifications {s.site_name} emails you: "
            f"{base}/notifications/settings\n"
        )
        host = urlsplit(s.base_url).hostname or "paperwire"
        SubscriptionStore(self.pw.db).enqueue_mail(
            recipient.email,
            f"[{s.site_name}] {text}"[:300],
            body,
            make_msgid(idstring="notify", domain=host),
            OUTBOX_ACCOUNT,
        )

    def page(self, user_id: int, limit: int = 50) -> NotificationsPage:
        rows = self.store.recent(user_id, limit)
        return NotificationsPage(
            unread=self.store.unread(user_id),
            notifications=[
                NotificationPublic(
                    id=r.id,
                    kind=r.kind,
                    text=r.text,
                    url=r.url,
                    actor=r.actor,
                    created_at=r.created_at.replace(tzinfo=dt.UTC),
                    read=r.read,
                )
                for r in rows
            ],
        )

    def unread(self, user_id: int) -> int:
        return self.store.unread(user_id)

    def mark_read(self, user_id: int) -> int:
        return self.store.mark_read(user_id)

    def settings(self, user_id: int) -> list[NotificationSettingPublic]:
        """Every registered kind with the user's choice (or the default)."""
        chosen = self.store.settings(user_id)
        out = []
        for kind in KINDS.values():
            web, email = chosen.get(kind.name, (kind.web, kind.email))
            out.append(
                NotificationSettingPublic(kind=kind.name, label=kind.label, web=web, email=email)
            )
        return out

    def update_settings(
        self, user_id: int, changes: list[NotificationSettingChange]
    ) -> list[NotificationSettingPublic]:
        """Store the choices (``UnknownKind`` names the first kind nobody registered)."""
        for change in changes:
            if change.kind not in KINDS:
                raise UnknownKind(change.kind)
        self.store.set_settings(user_id, [(c.kind, c.web, c.email) for c in changes])
        return self.settings(user_id)


_lock = threading.Lock()


def notifier_of(pw: Paperwire) -> Notifier:
    """The ``Notifier`` of this ``Paperwire`` (created once, then shared)."""
    found: Notifier | None = getattr(pw, "_notifier", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(pw, "_notifier", None)
        if found is None:
            found = Notifier(pw)
            setattr(pw, "_notifier", found)  # noqa: B010 - Paperwire has no slot for it
        return found
