"""``AlertStore``: every query behind alerts, their webhook deliveries and access tokens.

A webhook delivery is a ``digest_outbox`` row of kind ``webhook`` (``alert_id`` set, the
JSON body in ``body_text``), queued with the alert's sent-log rows in one transaction
(unique per alert and period, so planning twice is a no-op), claimed like an email
(``SubscriptionStore.claim``), and finished by ``finish_attempt``: one transaction that
logs the attempt, marks the row delivered or schedules the next try (or gives it up),
and counts the alert's failures in a row — disabling its webhook at the limit.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from paperwire.models.alerts import (
    AlertAttemptPublic,
    AlertDelivery,
    AlertKind,
    WebhookPublic,
    follow_target,
)
from paperwire.models.people import FollowKind
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import SavedSearchPublic
from paperwire.store.convert import as_utc, naive_utc
from paperwire.store.db import Database
from paperwire.store.schema.alerts import Alert, AlertAttempt, AlertSentPaper
from paperwire.store.schema.subscriptions import DigestOutbox
from paperwire.store.users import utcnow

OUTBOX_WEBHOOK = "webhook"


def new_feed_key() -> str:
    return secrets.token_hex(16)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AlertRow:
    id: int
    kind: AlertKind
    subscription_id: int | None
    user_id: int | None
    name: str
    query: str
    filters: SearchFilters
    target: str | None
    email: bool
    feed_key: str
    webhook_url: str | None
    webhook_secret: str | None
    webhook_failures: int
    webhook_disabled_at: dt.datetime | None
    webhook_disabled_reason: str | None
    created_at: dt.datetime

    @property
    def search_params(self) -> dict[str, str]:
        """The search page's parameters for a search alert's query and filters."""
        f = self.filters
        params = {
            "q": self.query,
            "from": f.date_from.isoformat() if f.date_from else None,
            "to": f.date_to.isoformat() if f.date_to else None,
            "category": f.category,
            "org": f.organization,
            "has_code": None if f.has_code is None else str(f.has_code).lower(),
        }
        return {k: v for k, v in params.items() if v}

    @property
    def page_url(self) -> str:
        """Where the alert's papers are on the site (site path)."""
        if self.kind == AlertKind.collection and self.target:
            return f"/collections/{self.target}"
        if self.kind == AlertKind.follow and self.target:
            kind, name = follow_target(self.target)
            if kind == FollowKind.author:
                return "/search?" + urlencode({"q": f'author:"{name}"', "sort": "newest"})
            return "/search?" + urlencode({kind.value: name, "sort": "newest"})
        qs = urlencode(self.search_params)
        return f"/search?{qs}" if qs else "/search"

    @property
    def webhook_active(self) -> bool:
        return bool(self.webhook_url) and self.webhook_disabled_at is None

    def public(self) -> SavedSearchPublic:
        """A search alert as ``/api/saved-searches`` shows it."""
        qs = urlencode(self.search_params)
        return SavedSearchPublic(
            id=self.id,
            name=self.name,
            q=self.query,
            filters=self.filters,
            created_at=as_utc(self.created_at) or self.created_at,
            search_url=self.page_url,
            feed_url=f"/feeds/search.atom?{qs}" if qs else "/feeds/search.atom",
        )

    def webhook(self) -> WebhookPublic | None:
        if not self.webhook_url:
            return None
        return WebhookPublic(
            url=self.webhook_url,
            secret=self.webhook_secret or "",
            failures=self.webhook_failures,
            disabled_at=as_utc(self.webhook_disabled_at),
            disabled_reason=self.webhook_disabled_reason,
        )


def alert_row(row: Alert) -> AlertRow:
    return AlertRow(
        id=row.id,
        kind=AlertKind(row.kind),
        subscription_id=row.subscription_id,
        user_id=row.user_id,
        name=row.name,
        query=row.query or "",
        filters=SearchFilters.model_validate(row.filters or {}),
        target=row.target,
        email=row.email,
        feed_key=row.feed_key,
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
        webhook_failures=row.webhook_failures or 0,
        webhook_disabled_at=row.webhook_disabled_at,
        webhook_disabled_reason=row.webhook_disabled_reason,
        created_at=row.created_at,
    )


def new_alert(
    *,
    kind: AlertKind,
    subscription_id: int | None,
    user_id: int | None,
    name: str,
    query: str = "",
    filters: SearchFilters | None = None,
    target: str | None = None,
    email: bool = True,
    webhook_url: str | None = None,
) -> Alert:
    """An ``alerts`` row to add (a fresh feed key; a secret when it has a webhook)."""
    return Alert(
        kind=kind.value,
        subscription_id=subscription_id,
        user_id=user_id,
        name=name[:120],
        query=query,
        filters=(filters or SearchFilters()).model_dump(mode="json", exclude_none=True),
        target=target,
        email=email,
        feed_key=new_feed_key(),
        webhook_url=webhook_url,
        webhook_secret=new_webhook_secret() if webhook_url else None,
        webhook_failures=0,
        created_at=utcnow(),
    )


@dataclass(frozen=True)
class WebhookJob:
    """A queued webhook delivery, with where it goes now."""

    id: int
    alert_id: int
    url: str
    secret: str
    body: str
    attempts: int


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class AlertStore:
    """Queries over alerts; each public method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- alerts -----------------------------------------------------------------------

    def get(self, alert_id: int, user_id: int | None = None) -> AlertRow | None:
        """The alert (only when ``user_id`` owns it, if given)."""
        with self.db.session() as s:
            row = s.get(Alert, alert_id)
            if row is None or (user_id is not None and row.user_id != user_id):
                return None
            return alert_row(row)

    def of_user(self, user_id: int) -> list[AlertRow]:
        with self.db.session() as s:
            rows = s.scalars(select(Alert).where(Alert.user_id == user_id).order_by(Alert.id))
            return [alert_row(r) for r in rows.all()]

    def update(self, alert_id: int, user_id: int, **changes: Any) -> AlertRow | None:
        """Apply column changes to the user's alert. ``webhook_url`` set to a new URL gets
        a new secret and a clean record; ``None`` removes the webhook."""
        with self.db.session() as s:
            row = s.get(Alert, alert_id)
            if row is None or row.user_id != user_id:
                return None
            if "webhook_url" in changes and changes["webhook_url"] != row.webhook_url:
                url = changes.pop("webhook_url")
                row.webhook_url = url
                row.webhook_secret = new_webhook_secret() if url else None
                row.webhook_failures = 0
                row.webhook_disabled_at = None
                row.webhook_disabled_reason = None
            for name, value in changes.items():
                setattr(row, name, value)
            s.flush()
            return alert_row(row)

    def with_webhooks(self) -> list[AlertRow]:
        """Alerts whose webhook is set and not disabled."""
        with self.db.session() as s:
            rows = s.scalars(
                select(Alert)
                .where(Alert.webhook_url.is_not(None), Alert.webhook_disabled_at.is_(None))
                .order_by(Alert.id)
            )
            return [alert_row(r) for r in rows.all()]

    # -- webhook deliveries -------------------------------------------------------------

    def sent_ids(self, alert_id: int, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of ``arxiv_ids`` the alert's webhook was already sent (or has queued)."""
        if not arxiv_ids:
            return set()
        with self.db.session() as s:
            found = s.scalars(
                select(AlertSentPaper.arxiv_id).where(
                    AlertSentPaper.alert_id == alert_id,
                    AlertSentPaper.arxiv_id.in_(list(set(arxiv_ids))),
                )
            )
            return set(found.all())

    def enqueue_webhook(
        self,
        alert: AlertRow,
        period_key: str,
        subject: str,
        body: str,
        delivery_id: str,
        papers: Sequence[str],
    ) -> int | None:
        """Queue a delivery and log its papers; None when that period is already queued."""
        now = utcnow()
        try:
            with self.db.session() as s:
                row = DigestOutbox(
                    subscription_id=None,
                    alert_id=alert.id,
                    kind=OUTBOX_WEBHOOK,
                    period_key=period_key,
                    recipient=(alert.webhook_url or "")[:320],
                    subject=subject[:300],
                    body_text=body,
                    body_html="",
                    headers={},
                    message_id=delivery_id,
                    created_at=now,
                    attempts=0,
                )
                s.add(row)
                s.flush()
                for arxiv_id in dict.fromkeys(papers):
                    s.add(
                        AlertSentPaper(
                            alert_id=alert.id, arxiv_id=arxiv_id, outbox_id=row.id, created_at=now
                        )
                    )
                return row.id
        except IntegrityError:
            return None

    def due_webhooks(self, now: dt.datetime, limit: int = 200) -> list[WebhookJob]:
        """Deliveries whose time has come, of alerts whose webhook is on, oldest first."""
        now = naive_utc(now)
        with self.db.session() as s:
            rows = s.execute(
                select(DigestOutbox, Alert)
                .join(Alert, Alert.id == DigestOutbox.alert_id)
                .where(
                    DigestOutbox.kind == OUTBOX_WEBHOOK,
                    DigestOutbox.sent_at.is_(None),
                    DigestOutbox.failed_at.is_(None),
                    or_(
                        DigestOutbox.next_attempt_at.is_(None), DigestOutbox.next_attempt_at <= now
                    ),
                    or_(DigestOutbox.claimed_until.is_(None), DigestOutbox.claimed_until < now),
                    Alert.webhook_url.is_not(None),
                    Alert.webhook_disabled_at.is_(None),
                )
                .order_by(DigestOutbox.id)
                .limit(limit)
            ).all()
            return [
                WebhookJob(
                    id=o.id,
                    alert_id=a.id,
                    url=a.webhook_url or "",
                    secret=a.webhook_secret or "",
                    body=o.body_text,
                    attempts=o.attempts,
                )
                for o, a in rows
            ]

    def finish_attempt(
        self,
        job: WebhookJob,
        worker: str,
        result: AttemptResult,
        now: dt.datetime,
        *,
        retry_at: dt.datetime | None,
        disable_after: int,
    ) -> bool:
        """Log one attempt and settle the row: delivered, retried at ``retry_at``, or given
        up (``retry_at`` None). A failure counts towards ``disable_after`` failures in a
        row, which disable the alert's webhook. True when this disabled it."""
        now = naive_utc(now)
        with self.db.session() as s:
            s.add(
                AlertAttempt(
                    alert_id=job.alert_id,
                    outbox_id=job.id,
                    attempted_at=now,
                    status_code=result.status_code,
                    ok=result.ok,
                    error=(result.error or None) and (result.error or "")[:2000],
                    duration_ms=result.duration_ms,
                )
            )
            values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
            if result.ok:
                values.update(sent_at=now, last_error=None, next_attempt_at=None)
            elif retry_at is None:
                values.update(failed_at=now, last_error=(result.error or "")[:2000])
            else:
                values.update(
                    next_attempt_at=naive_utc(retry_at), last_error=(result.error or "")[:2000]
                )
            s.execute(
                update(DigestOutbox)
                .where(DigestOutbox.id == job.id, DigestOutbox.claimed_by == worker)
                .values(**values)
            )
            alert = s.get(Alert, job.alert_id)
            if alert is None:
                return False
            if result.ok:
                alert.webhook_failures = 0
                return False
            alert.webhook_failures = (alert.webhook_failures or 0) + 1
            if alert.webhook_failures >= disable_after and alert.webhook_disabled_at is None:
                alert.webhook_disabled_at = now
                alert.webhook_disabled_reason = (
                    f"{alert.webhook_failures} failed attempts in a row; last: {result.error}"
                )[:2000]
                return True
            return False

    def deliveries(self, alert_id: int, limit: int = 50) -> list[AlertDelivery]:
        """The alert's webhook deliveries, newest first, each with its attempts."""
        with self.db.session() as s:
            rows = s.scalars(
                select(DigestOutbox)
                .where(DigestOutbox.alert_id == alert_id)
                .order_by(DigestOutbox.id.desc())
                .limit(limit)
            ).all()
            ids = [r.id for r in rows]
            tries: dict[int, list[AlertAttemptPublic]] = {}
            if ids:
                for a in s.scalars(
                    select(AlertAttempt)
                    .where(AlertAttempt.outbox_id.in_(ids))
                    .order_by(AlertAttempt.id)
                ):
                    tries.setdefault(a.outbox_id, []).append(
                        AlertAttemptPublic(
                            attempted_at=as_utc(a.attempted_at) or a.attempted_at,
                            status_code=a.status_code,
                            ok=a.ok,
                            error=a.error,
                            duration_ms=a.duration_ms,
                        )
                    )
            out = []
            for r in rows:
                state = "delivered" if r.sent_at else "failed" if r.failed_at else "queued"
                out.append(
                    AlertDelivery(
                        id=r.id,
                        period_key=r.period_key,
                        created_at=as_utc(r.created_at) or r.created_at,
                        state=state,
                        attempts=r.attempts,
                        next_attempt_at=as_utc(r.next_attempt_at) if state == "queued" else None,
                        delivered_at=as_utc(r.sent_at),
                        last_error=r.last_error,
                        tries=tries.get(r.id, []),
                    )
                )
            return out
