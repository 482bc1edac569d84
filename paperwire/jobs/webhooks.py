"""Alert webhooks: queue each alert's new papers, then deliver them with retries.

``plan_webhooks`` queues, for every alert with a working webhook, one delivery per alert
and hour holding the papers its webhook has not been sent (the same papers its email and
feed bring), in the outbox (``digest_outbox``, kind ``webhook``) together with its sent
log: planning twice in an hour is a no-op. ``send_webhooks`` claims each due delivery
(so two senders never post the same one), posts it (``services.webhooks.deliver``) and
settles it in one transaction: delivered; or retried after ``webhook_retry_seconds``,
doubling up to ``webhook_retry_max_seconds``; or given up after ``webhook_max_attempts``.
``webhook_disable_after`` failed attempts in a row disable the alert's webhook (its owner
sees why in the delivery log and turns it back on); email and feed go on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from paperwire.core import Paperwire
from paperwire.models.papers import PaperCard
from paperwire.services.alerts import alerts_of
from paperwire.services.clock import data_clock
from paperwire.services.subscriptions import section_title, utc_now
from paperwire.services.webhooks import EVENT, deliver
from paperwire.store.alerts import WebhookJob

log = logging.getLogger(__name__)


@dataclass
class WebhookReport:
    queued: int = 0
    nothing_new: int = 0
    delivered: int = 0
    retry_later: int = 0
    given_up: int = 0
    disabled: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.queued} queued ({self.nothing_new} with nothing new); "
            f"{self.delivered} delivered, {self.retry_later} to retry, {self.given_up} given up, "
            f"{self.disabled} webhooks disabled"
        )


def hour_key(now: dt.datetime) -> str:
    return "webhook:" + now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")


def plan_webhooks(pw: Paperwire, now: dt.datetime | None = None) -> WebhookReport:
    """Queue this hour's delivery of every webhook alert that has new papers."""
    t0 = time.perf_counter()
    alerts = alerts_of(pw)
    when = now or utc_now()
    clock = data_clock(pw, when)
    report = WebhookReport()
    base = pw.settings.base_url.rstrip("/")
    cache: dict[str, list[PaperCard]] = {}
    for alert in alerts.store.with_webhooks():
        found = alerts.subs.search_matches(alert, clock.now, cache)
        sent = alerts.store.sent_ids(alert.id, [c.arxiv_id for c in found])
        papers = [c for c in found if c.arxiv_id not in sent][: pw.settings.digest_search_size]
        if not papers:
            report.nothing_new += 1
            continue
        delivery = str(uuid.uuid4())
        public = alerts.public(alert)
        body = {
            "event": EVENT,
            "id": delivery,
            "created_at": when.astimezone(dt.UTC).isoformat(),
            "alert": {
                "id": alert.id,
                "kind": alert.kind.value,
                "name": alert.name,
                "title": section_title(alert),
                "url": base + alert.page_url,
                "atom_url": public.atom_url,
            },
            "papers": [{**c.model_dump(mode="json"), "url": base + c.links.page} for c in papers],
        }
        queued = alerts.store.enqueue_webhook(
            alert,
            hour_key(when),
            f"{len(papers)} new for {alert.name}",
            json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            delivery,
            [c.arxiv_id for c in papers],
        )
        if queued is not None:
            report.queued += 1
    report.seconds = time.perf_counter() - t0
    return report


def retry_delay(pw: Paperwire, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones (doubling, capped)."""
    s = pw.settings
    return float(
        min(s.webhook_retry_seconds * 2 ** max(0, attempts - 1), s.webhook_retry_max_seconds)
    )


def _attempt(pw: Paperwire, job: WebhookJob, me: str, report: WebhookReport) -> None:
    s = pw.settings
    alerts = alerts_of(pw)
    if not alerts.subs.store.claim(job.id, me, utc_now(), s.webhook_timeout * 3 + 30):
        return
    result = deliver(
        job.url,
        job.secret,
        job.body.encode(),
        job.id,
        timeout=s.webhook_timeout,
        allow_private=s.webhook_allow_private,
    )
    attempts = job.attempts + 1
    now = utc_now()
    retry_at = None
    if not result.ok and attempts < s.webhook_max_attempts:
        retry_at = now + dt.timedelta(seconds=retry_delay(pw, attempts))
    disabled = alerts.store.finish_attempt(
        job, me, result, now, retry_at=retry_at, disable_after=s.webhook_disable_after
    )
    if result.ok:
        report.delivered += 1
    elif retry_at is not None:
        report.retry_later += 1
        log.warning("webhook delivery %s failed, retrying: %s", job.id, result.error)
    else:
        report.given_up += 1
        log.warning("webhook delivery %s given up: %s", job.id, result.error)
    if disabled:
        report.disabled += 1
        log.warning("alert %s: webhook disabled after repeated failures", job.alert_id)


def send_webhooks(
    pw: Paperwire, *, stop: threading.Event | None = None, report: WebhookReport | None = None
) -> WebhookReport:
    """Deliver every due webhook delivery once (failures are rescheduled, not retried
    in this run)."""
    t0 = time.perf_counter()
    report = report or WebhookReport()
    me = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    for job in alerts_of(pw).store.due_webhooks(utc_now()):
        if stop is not None and stop.is_set():
            break
        _attempt(pw, job, me, report)
    report.seconds += time.perf_counter() - t0
    return report
