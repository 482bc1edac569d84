"""``paperwire sync``, ``paperwire worker`` and ``paperwire digest …``: the scheduled jobs,
one command each for cron/systemd, and the worker that runs them all on a schedule."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from paperwire.cli.common import HomeOpt, console, error, open_app, out, run_embed
from paperwire.models.subscriptions import Frequency

app = typer.Typer(add_completion=False)  # merged into the top-level `paperwire` app
digest_app = typer.Typer(
    help="Email digests: preview them, send them (idempotent per period).", no_args_is_help=True
)
app.add_typer(digest_app, name="digest")


class Which(StrEnum):
    daily = "daily"
    weekly = "weekly"
    all = "all"


class Format(StrEnum):
    text = "text"
    html = "html"
    json = "json"


def _frequencies(which: Which) -> list[Frequency]:
    return list(Frequency) if which == Which.all else [Frequency(which.value)]


@app.command("sync")
def sync(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="hf-daily, hf-daily:DIR or arxiv:CATEGORY (repeatable; default: "
            "$PAPERWIRE_SYNC_SOURCES).",
        ),
    ] = None,
    embed: Annotated[
        bool, typer.Option("--embed/--no-embed", help="Embed new papers afterwards.")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Fetch what is new from the configured sources (for cron; the worker runs it too)."""
    from paperwire.jobs.sync import SyncError, check_source, sync_all

    pw = open_app(home)
    sources = source if source else pw.settings.sync_sources
    try:
        for spec in sources:
            check_source(spec)
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None
    if not sources:
        console.print("nothing to sync: set PAPERWIRE_SYNC_SOURCES or pass --source")
        return
    failed = False
    try:
        report = sync_all(pw, sources)
    except SyncError as e:
        report = e.report
        failed = True
        for spec, message in report.errors.items():
            error(f"{spec}: {message}")
    for s in report.summaries:
        console.print(
            f"{s.source}: {s.added} added, {s.updated} updated, {s.unchanged} unchanged, "
            f"{s.rejected} rejected ({s.seconds:.1f} s)",
            highlight=False,
        )
    if embed and report.changed and pw.settings.semantic:
        run_embed(pw)
    if failed:
        raise typer.Exit(1)


@app.command("worker")
def worker(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
    home: HomeOpt = None,
) -> None:
    """Run sync, embed, digests and the outbox on their cron schedules (UTC) until stopped.

    Schedules: PAPERWIRE_SYNC_CRON, _EMBED_CRON, _DIGEST_DAILY_CRON, _DIGEST_WEEKLY_CRON,
    _OUTBOX_CRON. A failed job is retried with backoff; SIGTERM stops it cleanly."""
    from paperwire.jobs.worker import Worker

    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    pw = open_app(home)
    stop = threading.Event()
    try:
        w = Worker(pw, stop=stop)
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger("paperwire.worker").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        w.run_forever()
    finally:
        pw.close()


@digest_app.command("preview")
def digest_preview(
    frequency: Annotated[Frequency, typer.Option(help="daily or weekly.")] = Frequency.daily,
    format: Annotated[Format, typer.Option(help="text, html or json.")] = Format.text,
    email: Annotated[
        str | None,
        typer.Option(help="Compose it for this subscriber (their alerts, minus papers sent)."),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Print the digest as it would go out now (nothing is sent or recorded)."""
    from paperwire.services.subscriptions import subscriptions_of

    subs = subscriptions_of(open_app(home))
    sub = None
    if email:
        sub = subs.store.by_email(email.strip().lower())
        if sub is None:
            error(f"no subscription for {email}")
            raise typer.Exit(1)
    digest = subs.compose(frequency, sub=sub)
    if format == Format.json:
        sys.stdout.write(digest.model_dump_json(indent=2) + "\n")
        return
    rendered = subs.render(digest, sub)
    sys.stdout.write(rendered.text if format == Format.text else rendered.html)


@digest_app.command("send")
def digest_send(
    frequency: Annotated[
        Which, typer.Option(help="daily, weekly or all (weekly ones go once per ISO week).")
    ] = Which.all,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who would get what; send and record nothing.")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Queue this period's digests (once per address and period) and send the queue."""
    from paperwire.jobs.digest import DigestSendError, plan_digests, send_queued
    from paperwire.services.subscriptions import subscriptions_of

    pw = open_app(home)
    for freq in _frequencies(frequency):
        plan = plan_digests(pw, freq, dry_run=dry_run)
        verb = "would queue" if dry_run else "queued"
        console.print(
            f"{plan.period_key}: {plan.subscribers} subscribers, {verb} {len(plan.digests)}, "
            f"{plan.already_queued} already queued, {plan.nothing_new} with nothing new",
            highlight=False,
        )
        if dry_run and plan.digests:
            t = Table(show_header=True)
            for col in ("to", "papers", "subject"):
                t.add_column(col)
            for d in plan.digests:
                t.add_row(escape(d.email), str(d.papers), escape(d.subject))
            out.print(t)
    queue = subscriptions_of(pw).store.queue_counts()
    if dry_run:
        console.print(f"outbox: {queue.queued} queued digests would be sent", highlight=False)
        return
    try:
        report = send_queued(pw)
    except DigestSendError as e:
        error(str(e))
        raise typer.Exit(1) from None
    console.print(
        f"sent {report.sent} in {report.seconds:.1f} s ({report.per_second:.1f}/s); "
        f"{report.retry_later} refused for now, {report.given_up} given up, "
        f"{report.remaining} still queued",
        highlight=False,
    )


@digest_app.command("queue")
def digest_queue(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """Count the outbox: queued, sent, failed (given up) and cancelled digests."""
    from paperwire.services.subscriptions import subscriptions_of

    queue = subscriptions_of(open_app(home)).store.queue_counts()
    if as_json:
        sys.stdout.write(json.dumps(queue.model_dump()) + "\n")
        return
    for k, v in queue.model_dump().items():
        out.print(f"{k:>10}: {v}", highlight=False)


@digest_app.command("unsubscribe")
def digest_unsubscribe(
    email: Annotated[str, typer.Argument(help="The address to stop sending to.")],
    home: HomeOpt = None,
) -> None:
    """Unsubscribe an address (e.g. after a `List-Unsubscribe` mailto request)."""
    from paperwire.services.subscriptions import subscriptions_of

    subs = subscriptions_of(open_app(home))
    sub = subs.store.by_email(email.strip().lower())
    if sub is None:
        error(f"no subscription for {email}")
        raise typer.Exit(1)
    subs.store.unsubscribe(sub.id, sub.email)
    console.print(f"unsubscribed {escape(sub.email)}", highlight=False)
