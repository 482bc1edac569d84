"""The outbox: one digest per address and period, SMTP outages keep digests queued,
refused recipients do not block the others, alerts bring only new matches."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.jobs.digest import DigestSendError, plan_digests, send_queued
from paperwire.models.papers import PaperRecord
from paperwire.models.subscriptions import Frequency, SubscriptionStatus
from paperwire.services.ingest import ingest_records
from paperwire.services.mail import MailError
from paperwire.services.subscriptions import period_key
from tests.community.conftest import COLD, HOT, TODAY, WARM
from tests.conftest import SmtpSink, _free_port, backend_env
from tests.subscriptions.conftest import (
    SECRET,
    SubEnv,
    link_to,
    mail_links,
    messages_to,
    path_of,
    text_part,
)

runner = CliRunner()
NOW = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)


def cli_env(env: SubEnv, **extra: str) -> dict[str, str]:
    s = env.pw.settings
    out = {
        "PAPERWIRE_SECRET_KEY": SECRET,
        "PAPERWIRE_BASE_URL": s.base_url,
        "PAPERWIRE_SMTP_PORT": str(s.smtp_port),
        "PAPERWIRE_SMTP_TIMEOUT": "3",
        "PAPERWIRE_SEMANTIC": "false",
        **backend_env(s),
        "PAPERWIRE_MAIL_FROM": s.mail_from,
    }
    out.update(extra)
    return out


def test_period_keys() -> None:
    monday = dt.datetime(2026, 11, 23, 7, tzinfo=dt.UTC)
    assert period_key(Frequency.daily, monday) == "daily:2026-11-23"
    assert period_key(Frequency.weekly, monday) == "weekly:2026-W48"
    sunday = dt.datetime(2026, 11, 29, 23, 59, tzinfo=dt.UTC)
    assert period_key(Frequency.weekly, sunday) == "weekly:2026-W48"
    new_year = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)  # ISO week 53 of 2026
    assert period_key(Frequency.weekly, new_year) == "weekly:2026-W53"


def test_one_digest_per_address_and_period(sub_env: SubEnv) -> None:
    addresses = [f"reader{i}@example.org" for i in range(5)]
    for a in addresses:
        sub_env.active(a)
    sub_env.active("weekly@example.org", Frequency.weekly)

    # the CLI: a dry run shows and records nothing
    env = cli_env(sub_env)
    home = str(sub_env.pw.settings.home)
    r = runner.invoke(app, ["digest", "send", "--dry-run", "--home", home], env=env)
    assert r.exit_code == 0, r.output
    assert "reader0@example.org" in r.stdout and "would queue 5" in r.output
    assert sub_env.subs.store.outbox() == [] and sub_env.smtp.messages == []

    sent_at = dt.datetime.now(dt.UTC)
    r = runner.invoke(app, ["digest", "send", "--home", home], env=env)
    assert r.exit_code == 0, r.output
    assert "sent 6" in r.output and "0 still queued" in r.output
    # again, same period: nothing new is planned or sent
    r = runner.invoke(app, ["digest", "send", "--home", home], env=env)
    assert r.exit_code == 0 and "sent 0" in r.output and "5 already queued" in r.output
    assert plan_digests(sub_env.pw, Frequency.daily).queued == 0
    assert send_queued(sub_env.pw).sent == 0
    received = [m["To"] for m in sub_env.smtp.messages]
    assert sorted(received) == sorted([*addresses, "weekly@example.org"])
    rows = sub_env.subs.store.outbox()
    # the periods of now, or of when the digests were sent if midnight came in between
    assert {r.period_key for r in rows} in (
        {period_key(f, when) for f in (Frequency.daily, Frequency.weekly)}
        for when in (sent_at, dt.datetime.now(dt.UTC))
    )
    # the stored Message-ID is the one that went out
    assert {r.message_id for r in rows} == {m["Message-ID"] for m in sub_env.smtp.messages}
    r = runner.invoke(app, ["digest", "queue", "--json", "--home", home], env=env)
    assert r.exit_code == 0 and '"sent": 6' in r.stdout and '"queued": 0' in r.stdout


def test_smtp_unreachable_keeps_digests_queued(sub_env: SubEnv) -> None:
    for i in range(3):
        sub_env.active(f"reader{i}@example.org")
    good_port = sub_env.pw.settings.smtp_port
    down = _free_port()
    env = cli_env(sub_env, PAPERWIRE_SMTP_PORT=str(down))
    home = str(sub_env.pw.settings.home)
    r = runner.invoke(app, ["digest", "send", "--home", home], env=env)
    assert r.exit_code == 1
    assert f"could not send mail via SMTP server 127.0.0.1:{down}" in r.output
    assert "3 digests stay queued" in r.output
    rows = sub_env.subs.store.outbox()
    assert len(rows) == 3 and all(r.sent_at is None and r.failed_at is None for r in rows)
    assert rows[0].attempts == 1 and "127.0.0.1" in (rows[0].last_error or "")
    assert sub_env.subs.store.queue_counts().queued == 3

    # the library call says the same, as an exception carrying the report
    sub_env.pw.settings.smtp_port = down
    with pytest.raises(DigestSendError, match="3 digests stay queued") as caught:
        send_queued(sub_env.pw)
    assert isinstance(caught.value, MailError) and caught.value.report.sent == 0

    # the server is back: the queued digests go out, once each
    sub_env.pw.settings.smtp_port = good_port
    report = send_queued(sub_env.pw)
    assert report.sent == 3 and report.remaining == 0
    assert sorted(m["To"] for m in sub_env.smtp.messages) == [
        f"reader{i}@example.org" for i in range(3)
    ]


class RefusingSink(SmtpSink):
    """Refuses RCPT TO for addresses starting with ``bounce`` (550) or ``later`` (450)."""

    def __init__(self) -> None:
        super().__init__()
        handler = self.controller.handler

        async def handle_RCPT(
            server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if address.startswith("bounce"):
                return "550 5.1.1 no such mailbox"
            if address.startswith("later"):
                return "450 4.2.1 try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        handler.handle_RCPT = handle_RCPT


def test_refused_recipients_do_not_block_the_others(sub_env: SubEnv) -> None:
    sink = RefusingSink()
    sink.start()
    try:
        sub_env.pw.settings.smtp_port = sink.port
        for a in ["a@example.org", "bounce@example.org", "later@example.org", "z@example.org"]:
            sub_env.active(a)
        plan_digests(sub_env.pw, Frequency.daily)
        report = send_queued(sub_env.pw)
        assert report.sent == 2 and report.given_up == 1 and report.retry_later == 1
        assert sorted(m["To"] for m in sink.messages) == ["a@example.org", "z@example.org"]
        rows = {r.recipient: r for r in sub_env.subs.store.outbox()}
        assert rows["bounce@example.org"].failed_at is not None
        assert "550" in (rows["bounce@example.org"].last_error or "")
        assert rows["later@example.org"].failed_at is None  # retried by the next run
        assert sub_env.subs.store.queue_counts().queued == 1
    finally:
        sink.stop()


def _paper(aid: str, title: str, day: dt.date) -> PaperRecord:
    return PaperRecord(
        arxiv_id=aid,
        source="hf-daily",
        title=title,
        abstract=f"{title}. We study graph neural networks on molecules.",
        authors=["Rosalind Franklin"],
        categories=["cs.LG"],
        published_at=dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC),
        featured_on=day,
        upvotes=3,
    )


def test_saved_search_alerts_send_only_new_matches(sub_env: SubEnv) -> None:
    env = sub_env.env
    person = env.account("grace@example.org", "Grace")
    r = person.post(
        "/saved-searches",
        {"q": "graph neural", "name": "GNNs", "category": "", "org": "", "has_code": ""},
        token_from="/saved-searches",
    )
    assert r.status_code == 200 and "confirmation link" in r.text, r.text
    # the account's address must confirm before alerts are sent (double opt-in)
    [confirm] = messages_to(sub_env.smtp, "grace@example.org")
    assert "alerts for your saved searches" in text_part(confirm)
    confirm_url = link_to(mail_links(confirm)[0], "/subscriptions/confirm")
    assert person.c.post(path_of(confirm_url)).status_code == 200
    sub = sub_env.subs.store.by_email("grace@example.org")
    assert sub is not None and sub.status == SubscriptionStatus.active and not sub.trending
    listing = person.c.get("/api/saved-searches").json()
    assert listing["alerts"] == "active" and listing["saved_searches"][0]["name"] == "GNNs"

    ingest_records(
        env.pw, [_paper("2511.10001", "Graph neural networks for molecules", TODAY)], "hf-daily"
    )
    first = plan_digests(sub_env.pw, Frequency.daily, NOW)
    assert first.queued == 1
    assert send_queued(sub_env.pw).sent == 1
    mail = messages_to(sub_env.smtp, "grace@example.org")[-1]
    text = text_part(mail)
    assert "New for “GNNs”" in text and "Graph neural networks for molecules" in text
    for other in (HOT, WARM, COLD):  # trending is off for an alerts-only address
        assert other not in text

    # the next day: no new match → nothing to send
    tomorrow = NOW + dt.timedelta(days=1)
    second = plan_digests(sub_env.pw, Frequency.daily, tomorrow)
    assert second.queued == 0 and second.nothing_new == 1
    # a new matching paper the day after: only that one comes
    ingest_records(
        env.pw, [_paper("2511.10002", "Message passing graph neural nets", TODAY)], "hf-daily"
    )
    third = plan_digests(sub_env.pw, Frequency.daily, tomorrow + dt.timedelta(days=1))
    assert third.queued == 1
    send_queued(sub_env.pw)
    latest = text_part(messages_to(sub_env.smtp, "grace@example.org")[-1])
    assert "Message passing graph neural nets" in latest
    assert "Graph neural networks for molecules" not in latest

    # deleting the saved search ends its alerts
    search_id = listing["saved_searches"][0]["id"]
    r = person.api("DELETE", f"/api/saved-searches/{search_id}")
    assert r.status_code == 204
    assert person.c.get("/api/saved-searches").json()["saved_searches"] == []

    # subscribing the same address to the digest turns the trending part on, once confirmed
    r = env.client().post(
        "/api/subscriptions", json={"email": "grace@example.org", "frequency": "weekly"}
    )
    assert r.status_code == 202
    confirm_url = link_to(
        mail_links(messages_to(sub_env.smtp, "grace@example.org")[-1])[0], "/subscriptions/confirm"
    )
    assert "weekly digest" in env.client().get(path_of(confirm_url)).text
    assert env.client().post(path_of(confirm_url)).status_code == 200
    sub = sub_env.subs.store.by_email("grace@example.org")
    assert sub is not None and sub.trending and sub.frequency == Frequency.weekly


def test_saved_searches_need_an_account(sub_env: SubEnv) -> None:
    client = sub_env.env.client()
    r = client.get("/saved-searches", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/saved-searches").status_code == 401
    assert os.environ.get("PAPERWIRE_TEST_DIGEST_CRASH_AFTER") is None
