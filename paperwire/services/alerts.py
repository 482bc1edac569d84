"""``Alerts``: a saved search, a follow and a collection's recommendations as one thing.

An alert is delivered three ways, each optional but the feed: with the email digest of
its owner's subscription (``email``; a new address gets a confirmation link first, as
for saved searches), its private Atom/RSS feed (a URL holding a token: an HMAC of the
alert id and its feed key under ``secret_key``, so a new key revokes the old URL and the
database alone does not reveal the URLs), and a webhook (``services.webhooks``;
queued and sent by ``jobs.webhooks``). Its papers always come from
``services.alert_sources``, so every channel brings the same ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from paperwire.core import Paperwire
from paperwire.models.alerts import (
    AlertCreate,
    AlertKind,
    AlertPublic,
    AlertUpdate,
    TokenCreated,
    follow_target,
)
from paperwire.models.community import UserAccount
from paperwire.models.papers import PaperCard
from paperwire.models.people import FollowKind
from paperwire.models.subscriptions import Frequency
from paperwire.services.alert_sources import alert_papers
from paperwire.services.clock import data_clock
from paperwire.services.mail import MailError
from paperwire.services.subscriptions import subscriptions_of
from paperwire.services.webhooks import WebhookUrlError, check_url, resolve
from paperwire.store.alerts import (
    AlertRow,
    AlertStore,
    new_alert,
    new_feed_key,
    new_webhook_secret,
)
from paperwire.store.collections import CollectionStore
from paperwire.store.convert import as_utc
from paperwire.store.subscriptions import SubscriptionRow
from paperwire.store.tokens import TokenStore

log = logging.getLogger(__name__)
FEED_DAYS = 30
FEED_LIMIT = 50
TOKEN_PREFIX = "pw_"  # noqa: S105 - how tokens start, not a secret


class AlertError(ValueError):
    """An alert that cannot be made as asked; ``field`` names what to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class CreatedAlert:
    alert: AlertRow
    confirmation: str  # ``not-needed``, ``sent``, ``failed`` (SMTP down) or ``none`` (no email)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Alerts:
    def __init__(self, pw: Paperwire) -> None:
        self.pw = pw
        self.store = AlertStore(pw.db)
        self.tokens = TokenStore(pw.db)
        self.subs = subscriptions_of(pw)

    # -- the private feed -------------------------------------------------------------

    def feed_token(self, alert: AlertRow) -> str:
        key = self.pw.settings.secret_key.encode()
        msg = f"paperwire.alert-feed:{alert.id}:{alert.feed_key}".encode()
        return hmac.new(key, msg, hashlib.sha256).hexdigest()[:40]

    def by_feed_token(self, alert_id: int, token: str) -> AlertRow | None:
        """The alert a private feed URL names, or None (unknown id, wrong or old token)."""
        alert = self.store.get(alert_id)
        if alert is None or not hmac.compare_digest(self.feed_token(alert), token):
            return None
        return alert

    def feed_papers(self, alert: AlertRow) -> list[PaperCard]:
        """What the private feed shows: the alert's papers of the last ``FEED_DAYS`` days
        by the data's clock."""
        since = data_clock(self.pw).now.date() - dt.timedelta(days=FEED_DAYS)
        return alert_papers(self.pw, alert, since, FEED_LIMIT)

    def public(self, alert: AlertRow) -> AlertPublic:
        base = self.pw.settings.base_url.rstrip("/")
        feed = f"{base}/feeds/alerts/{alert.id}"
        token = self.feed_token(alert)
        return AlertPublic(
            id=alert.id,
            kind=alert.kind,
            name=alert.name,
            q=alert.query,
            filters=alert.filters,
            target=alert.target,
            email=alert.email,
            created_at=as_utc(alert.created_at) or alert.created_at,
            atom_url=f"{feed}.atom?token={token}",
            rss_url=f"{feed}.rss?token={token}",
            webhook=alert.webhook(),
            deliveries_url=f"/api/alerts/{alert.id}/deliveries",
        )

    # -- making and changing alerts -----------------------------------------------------

    def _webhook_url(self, url: str) -> str:
        try:
            resolve(check_url(url), allow_private=self.pw.settings.webhook_allow_private)
        except WebhookUrlError as exc:
            raise AlertError("webhook_url", str(exc).removeprefix("webhook_url: ")) from None
        return url.strip()

    def _what(self, user: UserAccount, data: AlertCreate) -> tuple[str, str | None]:
        """The alert's name and target, checked for its kind."""
        if data.kind == AlertKind.search:
            if not data.q and data.filters.is_empty():
                raise AlertError("q", "give a query or at least one filter")
            return data.name or data.q or "(filters only)", None
        if not data.target:
            what = "an author's name" if data.kind == AlertKind.follow else "a collection id"
            raise AlertError("target", f"give {what}")
        if data.kind == AlertKind.follow:
            try:
                kind, name = follow_target(data.target)
            except ValueError as exc:
                raise AlertError("target", str(exc)) from None
            target = name if kind == FollowKind.author else f"{kind.value}:{name}"
            return data.name or name, target
        found = (
            CollectionStore(self.pw.db).view(int(data.target), user.id)
            if data.target.isdigit()
            else None
        )
        if found is None:
            raise AlertError("target", "no such collection (or it is private)")
        return data.name or found.name, str(found.id)

    def create(self, user: UserAccount, data: AlertCreate) -> CreatedAlert:
        """A new alert for ``user``; raises ``AlertError`` (and the store's
        ``TooManySavedSearchesError``)."""
        name, target = self._what(user, data)
        url = self._webhook_url(data.webhook_url) if data.webhook_url else None
        sub = self._email_subscription(user) if data.email else None
        row = new_alert(
            kind=data.kind,
            subscription_id=sub.id if sub else None,
            user_id=user.id,
            name=name,
            query=data.q if data.kind == AlertKind.search else "",
            filters=data.filters if data.kind == AlertKind.search else None,
            target=target,
            email=data.email,
            webhook_url=url,
        )
        alert = self.subs.store.add_alert(row)
        return CreatedAlert(alert, self._confirmed(sub) if sub is not None else "none")

    def _email_subscription(self, user: UserAccount) -> SubscriptionRow:
        """The subscription email alerts go through (made ``pending`` when new)."""
        return self.subs.store.request(user.email, Frequency.daily, user_id=user.id, trending=False)

    def _confirmed(self, sub: SubscriptionRow) -> str:
        """Whether email alerts can start: ``not-needed`` (the address is confirmed),
        ``sent`` (a confirmation link went out) or ``failed`` (SMTP down; logged)."""
        if sub.active:
            return "not-needed"
        try:
            self.subs.send_confirmation(sub, sub.frequency)
        except MailError as exc:
            log.error("alert confirmation to %s not sent: %s", sub.email, exc)
            return "failed"
        return "sent"

    def update(self, user: UserAccount, alert_id: int, data: AlertUpdate) -> AlertRow | None:
        """Change the user's alert; None when they have no such alert."""
        current = self.store.get(alert_id, user.id)
        if current is None:
            return None
        changes: dict[str, object] = {}
        if data.name is not None:
            changes["name"] = data.name.strip()[:120] or current.name
        if data.email is not None:
            changes["email"] = data.email
            if data.email and not current.email:  # email turned on: as when made with it
                sub = self._email_subscription(user)
                changes["subscription_id"] = sub.id
                self._confirmed(sub)
        if data.webhook_url is not None:
            url = data.webhook_url
            changes["webhook_url"] = self._webhook_url(url) if url else None
        if data.enable_webhook:
            changes.update(
                webhook_disabled_at=None, webhook_disabled_reason=None, webhook_failures=0
            )
        if data.new_webhook_secret and (current.webhook_url or data.webhook_url):
            changes["webhook_secret"] = new_webhook_secret()
        if data.new_feed_token:
            changes["feed_key"] = new_feed_key()
        return self.store.update(alert_id, user.id, **changes)

    # -- personal access tokens (the MCP server's sign-in) ------------------------------

    def new_token(self, user_id: int, name: str) -> TokenCreated:
        """A new token: shown once here; only its SHA-256 is stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = self.tokens.add(user_id, name, token_hash(token), token[:10])
        return TokenCreated(token=token, info=info)

    def token_user(self, token: str) -> int | None:
        """The account of a live token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        return self.tokens.user_of(token_hash(token))


def alerts_of(pw: Paperwire) -> Alerts:
    """The ``Alerts`` of this ``Paperwire`` (created once, then shared)."""
    found: Alerts | None = getattr(pw, "_alerts", None)
    if found is None:
        found = Alerts(pw)
        setattr(pw, "_alerts", found)  # noqa: B010 - Paperwire has no slot for it
    return found
