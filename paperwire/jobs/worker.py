"""``paperwire worker``: one process that runs every scheduled job (cron strings, UTC).

Jobs (each is also a CLI command for plain cron/systemd timers):

========== ===================== ===========================================
job        schedule setting      what (CLI twin)
========== ===================== ===========================================
sync       ``sync_cron``         fetch ``sync_sources`` (``paperwire sync``)
embed      ``embed_cron``        embed the backlog (``paperwire embed``); also right
                                 after a sync that changed papers
digest-…   ``digest_daily_cron`` plan + send the daily / weekly digests
           ``digest_weekly_cron`` (``paperwire digest send --frequency …``)
outbox     ``outbox_cron``       send digests still queued (after a crash or an SMTP
                                 outage); also once at start
map        ``map_cron``          rebuild the map of the field when the embedded papers
                                 changed (``paperwire map build``)
webhooks   ``webhook_cron``      queue alerts' new papers for their webhooks and
                                 deliver the due ones (``paperwire webhooks``)
========== ===================== ===========================================

A job whose last success is older than its latest scheduled time runs at start (a worker
that was down catches up once, not once per missed slot). A failing job is logged and
retried after ``worker_retry_seconds``, doubling up to ``worker_retry_max_seconds`` (or at
its next scheduled time, when that comes first). Jobs run one at a time; SIGTERM/SIGINT
stop the worker after the current step (a digest send stops between two messages).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from croniter import croniter

from paperwire.core import Paperwire
from paperwire.models.subscriptions import Frequency

log = logging.getLogger("paperwire.worker")
Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Job:
    name: str
    cron: str
    action: Callable[[threading.Event], str]  # returns a one-line summary; raises on failure
    run_at_start: bool = False


@dataclass
class JobState:
    job: Job
    next_run: dt.datetime
    failures: int = 0
    last_error: str | None = None


def check_cron(name: str, expr: str) -> str:
    if not croniter.is_valid(expr):
        raise ValueError(f"{name}: {expr!r} is not a cron expression (e.g. '0 7 * * *')")
    return expr


def next_time(expr: str, after: dt.datetime) -> dt.datetime:
    found: dt.datetime = croniter(expr, after).get_next(dt.datetime)
    return found


def prev_time(expr: str, before: dt.datetime) -> dt.datetime:
    found: dt.datetime = croniter(expr, before).get_prev(dt.datetime)
    return found


def default_jobs(pw: Paperwire, trigger: Callable[[str], None] | None = None) -> list[Job]:
    """The worker's jobs over one ``Paperwire``, from its settings; ``trigger(name)``
    asks for a job to run soon (a sync that changed papers triggers ``embed``)."""
    from paperwire.jobs.digest import plan_digests, send_queued
    from paperwire.jobs.embed import embed_backlog
    from paperwire.jobs.sync import sync_all
    from paperwire.jobs.webhooks import plan_webhooks, send_webhooks

    s = pw.settings

    def sync(stop: threading.Event) -> str:
        if not s.sync_sources:
            return "no sync_sources configured"
        report = sync_all(pw, stop=stop)
        if report.changed and s.semantic and trigger is not None:
            trigger("embed")
        parts = [f"{x.source}: +{x.added} ~{x.updated}" for x in report.summaries]
        return "; ".join(parts)

    def embed(stop: threading.Event) -> str:
        if not s.semantic:
            return "semantic search is off"
        r = embed_backlog(pw, stop=stop)
        return f"embedded {r.embedded} ({r.docs_per_second:.1f}/s), {r.remaining} left"

    def digest(frequency: Frequency) -> Callable[[threading.Event], str]:
        def run(stop: threading.Event) -> str:
            plan = plan_digests(pw, frequency)
            sent = send_queued(pw, stop=stop)
            return (
                f"{plan.period_key}: {plan.queued} queued ({plan.already_queued} already, "
                f"{plan.nothing_new} with nothing new); sent {sent.sent}, "
                f"{sent.remaining} still queued"
            )

        return run

    def outbox(stop: threading.Event) -> str:
        sent = send_queued(pw, stop=stop)
        return f"sent {sent.sent}, {sent.remaining} still queued"

    def fieldmap(stop: threading.Event) -> str:
        from paperwire.services.fieldmap import build_map, current_map, is_stale

        built = current_map(pw)
        if built is not None and not is_stale(pw, built):
            return "map is up to date"
        r = build_map(pw).record
        return f"map of {r.points} papers in {r.seconds:.1f} s"

    def webhooks(stop: threading.Event) -> str:
        return send_webhooks(pw, stop=stop, report=plan_webhooks(pw)).summary()

    return [
        Job("outbox", check_cron("outbox_cron", s.outbox_cron), outbox, run_at_start=True),
        Job("sync", check_cron("sync_cron", s.sync_cron), sync),
        Job("webhooks", check_cron("webhook_cron", s.webhook_cron), webhooks),
        Job("embed", check_cron("embed_cron", s.embed_cron), embed),
        Job(
            "digest-daily",
            check_cron("digest_daily_cron", s.digest_daily_cron),
            digest(Frequency.daily),
        ),
        Job(
            "digest-weekly",
            check_cron("digest_weekly_cron", s.digest_weekly_cron),
            digest(Frequency.weekly),
        ),
        Job("map", check_cron("map_cron", s.map_cron), fieldmap),
    ]


class Worker:
    def __init__(
        self,
        pw: Paperwire,
        jobs: list[Job] | None = None,
        *,
        clock: Clock = _utc_now,
        stop: threading.Event | None = None,
    ) -> None:
        self.pw = pw
        self.jobs = jobs if jobs is not None else default_jobs(pw, self.trigger)
        self.clock = clock
        self.stop = stop or threading.Event()
        for job in self.jobs:
            check_cron(job.name, job.cron)
        self.states = {job.name: self._first(job, clock()) for job in self.jobs}

    def _meta_key(self, name: str) -> str:
        return f"worker:{name}:last_ok"

    def _first(self, job: Job, now: dt.datetime) -> JobState:
        if job.run_at_start:
            return JobState(job, now)
        raw = self.pw.store.get_meta(self._meta_key(job.name))
        last_ok = dt.datetime.fromisoformat(raw) if raw else None
        if last_ok is None or last_ok < prev_time(job.cron, now):
            return JobState(job, now)  # missed its latest slot: catch up once
        return JobState(job, next_time(job.cron, now))

    def trigger(self, name: str) -> None:
        """Run ``name`` as soon as the current job is done."""
        state = self.states.get(name)
        if state is not None:
            state.next_run = min(state.next_run, self.clock())

    def backoff(self, failures: int) -> float:
        s = self.pw.settings
        return float(
            min(s.worker_retry_seconds * 2 ** max(0, failures - 1), s.worker_retry_max_seconds)
        )

    def run_due(self, now: dt.datetime | None = None) -> list[tuple[str, bool, str]]:
        """Run every job that is due (in order); ``(name, ok, summary or error)`` each."""
        results: list[tuple[str, bool, str]] = []
        for job in self.jobs:
            if self.stop.is_set():
                break
            state = self.states[job.name]
            when = now or self.clock()
            if state.next_run > when:
                continue
            results.append(self._run(state))
        return results

    def _run(self, state: JobState) -> tuple[str, bool, str]:
        job = state.job
        log.info("%s: starting", job.name)
        try:
            summary = job.action(self.stop)
        except Exception as e:  # a job failing must not take the worker down
            state.failures += 1
            state.last_error = str(e)
            now = self.clock()
            delay = self.backoff(state.failures)
            retry = now + dt.timedelta(seconds=delay)
            state.next_run = min(retry, next_time(job.cron, now))
            log.error(
                "%s failed (%d in a row): %s; retrying at %s",
                job.name,
                state.failures,
                e,
                state.next_run.isoformat(timespec="seconds"),
                exc_info=not isinstance(e, OSError | RuntimeError),
            )
            return job.name, False, str(e)
        now = self.clock()
        state.failures = 0
        state.last_error = None
        state.next_run = next_time(job.cron, now)
        self.pw.store.set_meta(self._meta_key(job.name), now.isoformat())
        log.info(
            "%s: %s (next at %s)", job.name, summary, state.next_run.isoformat(timespec="seconds")
        )
        return job.name, True, summary

    def run_forever(self) -> None:
        log.info("worker started: %s", ", ".join(f"{j.name} [{j.cron}]" for j in self.jobs))
        while not self.stop.is_set():
            self.run_due()
            wake = min(state.next_run for state in self.states.values())
            delay = (wake - self.clock()).total_seconds()
            self.stop.wait(min(max(delay, 0.05), 60.0))
        log.info("worker stopped")
