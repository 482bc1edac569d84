"""Digests: plan one email per subscription and period into the outbox, then send it.

``plan_digests`` composes and renders each active subscription's digest and queues it
(``digest_outbox``, unique per subscription and period — planning twice is a no-op).
``send_queued`` sends what is queued over one reused SMTP connection, marking each row
``sent_at`` in its own transaction right after the server accepted the message.

Delivery guarantee: at most one digest per address and period is *planned*; each planned
digest is sent until one attempt is recorded as accepted. The only duplicate possible is
a crash (or a lost database connection) in the moment between the server's acceptance and
the ``sent_at`` commit — a few milliseconds per message. The resent copy carries the same
``Message-ID``, so mail clients that deduplicate show it once. Exactly-once across that
window would need the SMTP server to take part in the transaction, which SMTP cannot do.

Two senders (the worker and a cron ``paperwire digest send``) never send the same row:
each claims a row for ``digest_claim_seconds`` before sending it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.papers import PaperCard
from paperwire.models.subscriptions import Frequency
from paperwire.services.mail import MailError, build_message
from paperwire.services.subscriptions import period_key, subscriptions_of, utc_now
from paperwire.store.subscriptions import NewDigest, OutboxRow

log = logging.getLogger(__name__)

# Test hook: "K" or "K:before-mark" makes the sender SIGKILL itself after the K-th
# message the SMTP server accepted — after marking it sent, or before (the window).
CRASH_ENV = "PAPERWIRE_TEST_DIGEST_CRASH_AFTER"


@dataclass
class PlannedDigest:
    email: str
    subject: str
    papers: int
    queued: bool


@dataclass
class PlanReport:
    frequency: Frequency
    period_key: str
    subscribers: int = 0
    queued: int = 0
    already_queued: int = 0
    nothing_new: int = 0
    seconds: float = 0.0
    digests: list[PlannedDigest] = field(default_factory=list)


@dataclass
class SendReport:
    sent: int = 0
    given_up: int = 0
    retry_later: int = 0
    held_elsewhere: int = 0
    remaining: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


class DigestSendError(MailError):
    """The SMTP server could not be used; the unsent digests stay queued."""

    def __init__(self, message: str, report: SendReport) -> None:
        super().__init__(message)
        self.report = report


class MessageRefusedError(Exception):
    """The server refused this one message; ``permanent`` for 5xx replies."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


# -- planning ---------------------------------------------------------------------------


def plan_digests(
    pw: Paperwire,
    frequency: Frequency,
    now: dt.datetime | None = None,
    *,
    dry_run: bool = False,
) -> PlanReport:
    """Queue this period's digest for every active subscription that has none yet.

    A digest with nothing new (no trending paper and no alert match the address has not
    been sent) is not queued. ``dry_run`` composes everything and writes nothing."""
    t0 = time.perf_counter()
    subs_api = subscriptions_of(pw)
    store = subs_api.store
    when = now or utc_now()
    key = period_key(frequency, when)
    report = PlanReport(frequency=frequency, period_key=key)
    subs = store.active(frequency)
    report.subscribers = len(subs)
    done = store.planned(key)
    todo = [s for s in subs if s.id not in done]
    report.already_queued = len(subs) - len(todo)
    if not todo:
        report.seconds = time.perf_counter() - t0
        return report
    searches = store.searches_for([s.id for s in todo])
    pool: list[PaperCard] | None = None
    if any(s.trending for s in todo):
        pool = subs_api.trending_pool(frequency, when)
    cache: dict[str, list[PaperCard]] = {}
    for sub in todo:
        digest = subs_api.compose(
            frequency, when, sub, pool=pool, searches=searches.get(sub.id, []), cache=cache
        )
        if digest.is_empty:
            report.nothing_new += 1
            continue
        if dry_run:
            report.digests.append(
                PlannedDigest(sub.email, digest.subject, digest.paper_count, False)
            )
            continue
        rendered = subs_api.render(digest, sub)
        item = NewDigest(
            subscription_id=sub.id,
            period_key=key,
            recipient=sub.email,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            headers=rendered.headers,
            message_id=subs_api.message_id(),
            papers=[(c.arxiv_id, x.saved_search_id) for x in digest.sections for c in x.papers],
        )
        if store.enqueue(item) is None:
            report.already_queued += 1  # another planner got there first
            continue
        report.queued += 1
        report.digests.append(PlannedDigest(sub.email, digest.subject, digest.paper_count, True))
    report.seconds = time.perf_counter() - t0
    return report


# -- sending ----------------------------------------------------------------------------


class SmtpBatch:
    """One SMTP connection reused for many messages (reconnects once if dropped)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.where = f"{settings.smtp_host}:{settings.smtp_port}"
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host,
                s.smtp_port,
                timeout=s.smtp_timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            if s.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _fail(self, exc: BaseException) -> MailError:
        self.close()
        return MailError(f"could not send mail via SMTP server {self.where}: {exc}")

    def send(self, msg: EmailMessage) -> None:
        """Deliver one message: ``MessageRefusedError`` when the server refuses this message,
        ``MailError`` when the server cannot be used at all."""
        for attempt in (1, 2):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._smtp.send_message(msg)
                return
            except smtplib.SMTPRecipientsRefused as e:
                codes = [code for code, _ in e.recipients.values()]
                detail = "; ".join(
                    f"{rcpt}: {code} {text.decode(errors='replace')}"
                    for rcpt, (code, text) in e.recipients.items()
                )
                raise MessageRefusedError(
                    f"recipient refused: {detail}", all(c >= 500 for c in codes)
                ) from None
            except smtplib.SMTPDataError as e:
                err = e.smtp_error
                text = err.decode(errors="replace") if isinstance(err, bytes) else str(err)
                # 5xx on DATA is often about this message (content, size): retried a few
                # times, then given up; it must not stop everyone else's digest.
                raise MessageRefusedError(f"message refused: {e.smtp_code} {text}", False) from None
            except smtplib.SMTPServerDisconnected as e:
                self.close()
                if attempt == 2:
                    raise self._fail(e) from e
            except (OSError, smtplib.SMTPException) as e:
                raise self._fail(e) from e

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def message_for(settings: Settings, row: OutboxRow) -> EmailMessage:
    """The email for an outbox row: stored subject, bodies, headers and Message-ID."""
    msg = build_message(
        settings, row.recipient, row.subject, row.body_text, row.body_html, row.headers
    )
    del msg["Message-ID"]
    msg["Message-ID"] = row.message_id
    return msg


def _crash_after() -> tuple[int, bool] | None:
    raw = os.environ.get(CRASH_ENV)
    if not raw:
        return None
    count, _, where = raw.partition(":")
    return int(count), where == "before-mark"


def _die() -> None:  # pragma: no cover - only in the crash tests' subprocesses
    os.kill(os.getpid(), signal.SIGKILL)


def send_queued(
    pw: Paperwire,
    *,
    stop: threading.Event | None = None,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> SendReport:
    """Send every queued digest (of active subscriptions), oldest first.

    Raises ``DigestSendError`` (a ``MailError``) when the SMTP server cannot be reached
    or refuses the session: the rows not sent stay queued for the next run."""
    t0 = time.perf_counter()
    s = pw.settings
    store = subscriptions_of(pw).store
    me = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    report = SendReport()
    smtp = SmtpBatch(s)
    crash = _crash_after()
    after_id = 0
    try:
        while not (stop and stop.is_set()) and (limit is None or report.sent < limit):
            batch = store.queued(now or utc_now(), after_id=after_id, limit=200)
            if not batch:
                break
            for row in batch:
                if stop and stop.is_set():
                    break
                if limit is not None and report.sent >= limit:
                    break
                after_id = row.id
                if not store.claim(row.id, me, now or utc_now(), s.digest_claim_seconds):
                    report.held_elsewhere += 1
                    continue
                try:
                    smtp.send(message_for(s, row))
                except MessageRefusedError as e:
                    give_up = e.permanent or row.attempts + 1 >= s.digest_max_attempts
                    store.release(row.id, me, str(e), now or utc_now(), give_up=give_up)
                    if give_up:
                        report.given_up += 1
                        log.warning("digest %s to %s given up: %s", row.id, row.recipient, e)
                    else:
                        report.retry_later += 1
                        log.warning(
                            "digest %s to %s refused, will retry: %s", row.id, row.recipient, e
                        )
                    continue
                except MailError as e:
                    store.release(row.id, me, str(e), now or utc_now(), give_up=False)
                    report.seconds = time.perf_counter() - t0
                    report.remaining = store.queue_counts().queued
                    report.error = str(e)
                    noun = "digest stays" if report.remaining == 1 else "digests stay"
                    raise DigestSendError(
                        f"{e}; {report.remaining} {noun} queued and will be sent by the next run",
                        report,
                    ) from e
                if crash and crash[1] and report.sent + 1 >= crash[0]:
                    _die()  # accepted by the server, not yet marked: the duplicate window
                store.mark_sent(row.id, utc_now())
                report.sent += 1
                if crash and not crash[1] and report.sent >= crash[0]:
                    _die()
                if s.digest_send_interval > 0:
                    if stop is not None:
                        stop.wait(s.digest_send_interval)
                    else:
                        time.sleep(s.digest_send_interval)
    finally:
        smtp.close()
    report.seconds = time.perf_counter() - t0
    report.remaining = store.queue_counts().queued
    return report
