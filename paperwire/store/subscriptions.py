"""``SubscriptionStore``: every query behind email digests, their alerts and the outbox.

A saved search is an alert of kind ``search`` (``store.alerts``); the digest holds the new
papers of every alert of its subscription that has email delivery on.

The outbox protocol (``paperwire.jobs.digest`` drives it):

1. ``enqueue`` inserts one ``digest_outbox`` row per (subscription, period) together with
   the sent-log rows of its papers, in one transaction; the unique constraint turns a
   second planning of the same period into a no-op.
2. ``claim`` takes a row for ``lease`` seconds (so two senders — the worker and a cron
   ``paperwire digest send`` — never send the same row at once) and counts the attempt.
3. After the SMTP server accepted the message, ``mark_sent`` commits ``sent_at``.
   Anything not marked is sent again by the next run: a crash between 3's acceptance and
   its commit is the only way an address gets a period's digest twice (same Message-ID).

Account mail (password-reset links) goes through the same outbox as ``kind="account"``
rows without a subscription (``enqueue_mail``), so it is sent off the request path and
retried like a digest when the SMTP server is down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from paperwire.models.alerts import AlertKind
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import (
    DigestQueue,
    Frequency,
    SubscriptionPublic,
    SubscriptionStatus,
)
from paperwire.store.alerts import AlertRow, alert_row, new_alert
from paperwire.store.convert import as_utc, naive_utc
from paperwire.store.db import Database
from paperwire.store.schema.alerts import Alert
from paperwire.store.schema.subscriptions import (
    DigestOutbox,
    DigestSentPaper,
    Subscription,
)

MAX_SAVED_SEARCHES = 25  # alerts per subscription (and per account)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    email: str
    frequency: Frequency
    status: SubscriptionStatus
    trending: bool
    user_id: int | None
    created_at: dt.datetime
    confirmed_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.status == SubscriptionStatus.active


OUTBOX_DIGEST = "digest"
OUTBOX_ACCOUNT = "account"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    subscription_id: int | None
    period_key: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    headers: dict[str, str]
    message_id: str
    attempts: int
    sent_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    last_error: str | None = None
    kind: str = OUTBOX_DIGEST


@dataclass
class NewDigest:
    """A rendered digest for the outbox, with the papers it sends (for the sent log)."""

    subscription_id: int
    period_key: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    headers: dict[str, str]
    message_id: str
    papers: list[tuple[str, int | None]] = field(default_factory=list)  # (arxiv id, search)


def _sub(row: Subscription) -> SubscriptionRow:
    return SubscriptionRow(
        id=row.id,
        email=row.email,
        frequency=Frequency(row.frequency),
        status=SubscriptionStatus(row.status),
        trending=row.trending,
        user_id=row.user_id,
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
    )


def _outbox(row: DigestOutbox) -> OutboxRow:
    return OutboxRow(
        id=row.id,
        subscription_id=row.subscription_id,
        period_key=row.period_key,
        recipient=row.recipient,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        headers={str(k): str(v) for k, v in (row.headers or {}).items()},
        message_id=row.message_id,
        attempts=row.attempts,
        sent_at=row.sent_at,
        failed_at=row.failed_at,
        last_error=row.last_error,
        kind=row.kind,
    )


def _deliverable() -> Any:
    """Outbox rows that may go out: account mail, or digests of active subscriptions."""
    return or_(
        DigestOutbox.subscription_id.is_(None),
        Subscription.status == SubscriptionStatus.active.value,
    )


class TooManySavedSearchesError(ValueError):
    pass


class SubscriptionStore:
    """Queries over subscriptions; each public method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- subscriptions ----------------------------------------------------------------

    def get(self, subscription_id: int) -> SubscriptionRow | None:
        with self.db.session() as s:
            row = s.get(Subscription, subscription_id)
            return _sub(row) if row else None

    def by_email(self, email: str) -> SubscriptionRow | None:
        with self.db.session() as s:
            row = s.scalar(select(Subscription).where(Subscription.email == email))
            return _sub(row) if row else None

    def request(
        self,
        email: str,
        frequency: Frequency,
        *,
        user_id: int | None = None,
        trending: bool = True,
    ) -> SubscriptionRow:
        """The subscription for ``email``, created ``pending`` when new. An existing one
        keeps its state: only the confirmation link changes it (double opt-in)."""
        for _ in range(2):
            try:
                with self.db.session() as s:
                    row = s.scalar(select(Subscription).where(Subscription.email == email))
                    if row is None:
                        row = Subscription(
                            email=email,
                            frequency=frequency.value,
                            status=SubscriptionStatus.pending.value,
                            trending=trending,
                            user_id=user_id,
                            created_at=utcnow(),
                        )
                        s.add(row)
                        s.flush()
                    elif user_id is not None and row.user_id is None:
                        row.user_id = user_id
                    return _sub(row)
            except IntegrityError:  # created concurrently: read it on the second pass
                continue
        found = self.by_email(email)
        assert found is not None
        return found

    def activate(
        self,
        subscription_id: int,
        email: str,
        frequency: Frequency | None,
        *,
        trending: bool | None = None,
    ) -> SubscriptionRow | None:
        """Confirm (or re-activate) the subscription; None when it no longer exists."""
        with self.db.session() as s:
            row = s.get(Subscription, subscription_id)
            if row is None or row.email != email:
                return None
            if row.status != SubscriptionStatus.active.value:
                row.status = SubscriptionStatus.active.value
                row.confirmed_at = utcnow()
                row.unsubscribed_at = None
            if frequency is not None:
                row.frequency = frequency.value
            if trending is not None:
                row.trending = trending
            return _sub(row)

    def unsubscribe(self, subscription_id: int, email: str) -> SubscriptionRow | None:
        with self.db.session() as s:
            row = s.get(Subscription, subscription_id)
            if row is None or row.email != email:
                return None
            if row.status != SubscriptionStatus.unsubscribed.value:
                row.status = SubscriptionStatus.unsubscribed.value
                row.unsubscribed_at = utcnow()
            return _sub(row)

    def update(
        self,
        subscription_id: int,
        email: str,
        *,
        frequency: Frequency | None = None,
        trending: bool | None = None,
    ) -> SubscriptionRow | None:
        with self.db.session() as s:
            row = s.get(Subscription, subscription_id)
            if row is None or row.email != email:
                return None
            if frequency is not None:
                row.frequency = frequency.value
            if trending is not None:
                row.trending = trending
            return _sub(row)

    def active(self, frequency: Frequency) -> list[SubscriptionRow]:
        with self.db.session() as s:
            rows = s.scalars(
                select(Subscription)
                .where(
                    Subscription.status == SubscriptionStatus.active.value,
                    Subscription.frequency == frequency.value,
                )
                .order_by(Subscription.id)
            ).all()
            return [_sub(r) for r in rows]

    def public(self, sub: SubscriptionRow) -> SubscriptionPublic:
        return SubscriptionPublic(
            email=sub.email,
            frequency=sub.frequency,
            status=sub.status,
            trending=sub.trending,
            created_at=as_utc(sub.created_at) or sub.created_at,
            confirmed_at=as_utc(sub.confirmed_at),
            saved_searches=[x.public() for x in self.searches_for([sub.id]).get(sub.id, [])],
        )

    # -- saved searches ---------------------------------------------------------------

    def add_search(
        self,
        subscription_id: int,
        user_id: int | None,
        name: str,
        query: str,
        filters: SearchFilters,
    ) -> AlertRow:
        """A search alert delivered with the subscription's digest."""
        return self.add_alert(
            new_alert(
                kind=AlertKind.search,
                subscription_id=subscription_id,
                user_id=user_id,
                name=name,
                query=query,
                filters=filters,
            )
        )

    def add_alert(self, row: Alert) -> AlertRow:
        """Add an alert unless its subscription (or owner) has the most it may have."""
        with self.db.session() as s:
            owner = [Alert.subscription_id == row.subscription_id] if row.subscription_id else []
            if row.user_id is not None:
                owner.append(Alert.user_id == row.user_id)
            count = s.scalar(select(func.count(Alert.id)).where(or_(*owner))) if owner else 0
            if (count or 0) >= MAX_SAVED_SEARCHES:
                raise TooManySavedSearchesError(
                    f"at most {MAX_SAVED_SEARCHES} alerts per account; delete one first"
                )
            s.add(row)
            s.flush()
            return alert_row(row)

    def searches_for(self, subscription_ids: Sequence[int]) -> dict[int, list[AlertRow]]:
        """The alerts each subscription's digest delivers (email on), by id."""
        if not subscription_ids:
            return {}
        out: dict[int, list[AlertRow]] = {}
        with self.db.session() as s:
            ids = list(subscription_ids)
            for start in range(0, len(ids), 500):
                rows = s.scalars(
                    select(Alert)
                    .where(Alert.subscription_id.in_(ids[start : start + 500]), Alert.email)
                    .order_by(Alert.id)
                ).all()
                for r in rows:
                    if r.subscription_id is not None:
                        out.setdefault(r.subscription_id, []).append(alert_row(r))
        return out

    def searches_of_user(self, user_id: int) -> list[AlertRow]:
        """The user's search alerts (the saved searches)."""
        with self.db.session() as s:
            rows = s.scalars(
                select(Alert)
                .where(Alert.user_id == user_id, Alert.kind == AlertKind.search.value)
                .order_by(Alert.id)
            ).all()
            return [alert_row(r) for r in rows]

    def delete_search(
        self, search_id: int, *, user_id: int | None = None, subscription_id: int | None = None
    ) -> bool:
        """Delete an alert owned by the user (or belonging to the subscription)."""
        if user_id is None and subscription_id is None:
            raise ValueError("delete_search needs an owner: user_id or subscription_id")
        conds = [Alert.id == search_id]
        if user_id is not None:
            conds.append(Alert.user_id == user_id)
        if subscription_id is not None:
            conds.append(Alert.subscription_id == subscription_id)
        with self.db.session() as s:
            res = cast(CursorResult[Any], s.execute(delete(Alert).where(*conds)))
            return res.rowcount == 1

    # -- sent log ---------------------------------------------------------------------

    def sent_ids(self, subscription_id: int, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of ``arxiv_ids`` the subscription has already been sent (or has queued)."""
        if not arxiv_ids:
            return set()
        with self.db.session() as s:
            found = s.scalars(
                select(DigestSentPaper.arxiv_id).where(
                    DigestSentPaper.subscription_id == subscription_id,
                    DigestSentPaper.arxiv_id.in_(list(set(arxiv_ids))),
                )
            ).all()
            return set(found)

    # -- outbox -----------------------------------------------------------------------

    def planned(self, period_key: str) -> set[int]:
        """Subscriptions that already have a digest for ``period_key``."""
        with self.db.session() as s:
            rows = s.scalars(
                select(DigestOutbox.subscription_id).where(
                    DigestOutbox.period_key == period_key,
                    DigestOutbox.subscription_id.is_not(None),
                )
            ).all()
            return {r for r in rows if r is not None}

    def enqueue(self, item: NewDigest) -> int | None:
        """Queue a digest and log its papers; None when that period is already queued."""
        now = utcnow()
        try:
            with self.db.session() as s:
                row = DigestOutbox(
                    subscription_id=item.subscription_id,
                    period_key=item.period_key,
                    recipient=item.recipient,
                    subject=item.subject[:300],
                    body_text=item.body_text,
                    body_html=item.body_html,
                    headers=dict(item.headers),
                    message_id=item.message_id,
                    created_at=now,
                    attempts=0,
                )
                s.add(row)
                s.flush()  # the unique constraint speaks here
                seen: set[str] = set()
                for arxiv_id, search_id in item.papers:
                    if arxiv_id in seen:
                        continue
                    seen.add(arxiv_id)
                    s.add(
                        DigestSentPaper(
                            subscription_id=item.subscription_id,
                            arxiv_id=arxiv_id,
                            outbox_id=row.id,
                            saved_search_id=search_id,
                            created_at=now,
                        )
                    )
                return row.id
        except IntegrityError:
            return None

    def enqueue_mail(
        self, recipient: str, subject: str, body_text: str, message_id: str, kind: str
    ) -> int:
        """Queue one email that belongs to no subscription (e.g. a password-reset link)."""
        with self.db.session() as s:
            row = DigestOutbox(
                subscription_id=None,
                kind=kind,
                period_key=kind,
                recipient=recipient,
                subject=subject[:300],
                body_text=body_text,
                body_html="",
                headers={},
                message_id=message_id,
                created_at=utcnow(),
                attempts=0,
            )
            s.add(row)
            s.flush()
            return row.id

    def queued(
        self,
        now: dt.datetime,
        *,
        after_id: int = 0,
        limit: int = 200,
        kinds: Sequence[str] | None = None,
    ) -> list[OutboxRow]:
        """Unsent mail (digests of active subscriptions, account mail) that nobody holds
        a claim on, by id; ``kinds`` keeps only those kinds."""
        now = naive_utc(now)
        with self.db.session() as s:
            q = (
                select(DigestOutbox)
                .outerjoin(Subscription, Subscription.id == DigestOutbox.subscription_id)
                .where(
                    DigestOutbox.id > after_id,
                    DigestOutbox.alert_id.is_(None),  # webhooks: ``AlertStore``
                    DigestOutbox.sent_at.is_(None),
                    DigestOutbox.failed_at.is_(None),
                    _deliverable(),
                    or_(DigestOutbox.claimed_until.is_(None), DigestOutbox.claimed_until < now),
                )
                .order_by(DigestOutbox.id)
                .limit(limit)
            )
            if kinds is not None:
                q = q.where(DigestOutbox.kind.in_(list(kinds)))
            return [_outbox(r) for r in s.scalars(q).all()]

    def claim(self, outbox_id: int, worker: str, now: dt.datetime, lease_seconds: float) -> bool:
        """Take the row for ``lease_seconds`` and count the attempt; False when it is sent,
        given up, or held by another sender."""
        now = naive_utc(now)
        with self.db.session() as s:
            res = cast(
                CursorResult[Any],
                s.execute(
                    update(DigestOutbox)
                    .where(
                        DigestOutbox.id == outbox_id,
                        DigestOutbox.sent_at.is_(None),
                        DigestOutbox.failed_at.is_(None),
                        or_(
                            DigestOutbox.claimed_until.is_(None),
                            DigestOutbox.claimed_until < now,
                        ),
                        or_(  # a webhook's retry waits for its time
                            DigestOutbox.next_attempt_at.is_(None),
                            DigestOutbox.next_attempt_at <= now,
                        ),
                    )
                    .values(
                        claimed_by=worker,
                        claimed_until=now + dt.timedelta(seconds=lease_seconds),
                        attempts=DigestOutbox.attempts + 1,
                        last_attempt_at=now,
                    )
                ),
            )
            return res.rowcount == 1

    def mark_sent(self, outbox_id: int, now: dt.datetime) -> None:
        with self.db.session() as s:
            s.execute(
                update(DigestOutbox)
                .where(DigestOutbox.id == outbox_id, DigestOutbox.sent_at.is_(None))
                .values(
                    sent_at=naive_utc(now), claimed_by=None, claimed_until=None, last_error=None
                )
            )

    def release(
        self, outbox_id: int, worker: str, error: str, now: dt.datetime, *, give_up: bool
    ) -> None:
        """Back to the queue after a failed attempt (or given up: ``failed_at``)."""
        values: dict[str, Any] = {
            "claimed_by": None,
            "claimed_until": None,
            "last_error": error[:2000],
        }
        if give_up:
            values["failed_at"] = naive_utc(now)
        with self.db.session() as s:
            s.execute(
                update(DigestOutbox)
                .where(DigestOutbox.id == outbox_id, DigestOutbox.claimed_by == worker)
                .values(**values)
            )

    def outbox(self, period_key: str | None = None) -> list[OutboxRow]:
        """Every outbox row (of one period), oldest first — for reports and tests."""
        with self.db.session() as s:
            q = select(DigestOutbox).order_by(DigestOutbox.id)
            if period_key is not None:
                q = q.where(DigestOutbox.period_key == period_key)
            return [_outbox(r) for r in s.scalars(q).all()]

    def queue_counts(self) -> DigestQueue:
        with self.db.session() as s:
            unsent = and_(DigestOutbox.sent_at.is_(None), DigestOutbox.failed_at.is_(None))
            active = _deliverable()
            rows = s.execute(
                select(
                    func.count(DigestOutbox.sent_at),
                    func.count(DigestOutbox.failed_at),
                    func.sum(case((and_(unsent, active), 1), else_=0)),
                    func.sum(case((and_(unsent, ~active), 1), else_=0)),
                )
                .outerjoin(Subscription, Subscription.id == DigestOutbox.subscription_id)
                .where(DigestOutbox.alert_id.is_(None))
            ).one()
            return DigestQueue(
                sent=rows[0] or 0, failed=rows[1] or 0, queued=rows[2] or 0, cancelled=rows[3] or 0
            )
