"""Follows join the email digest when the account opts in: the digest mail (through the
outbox, to a real SMTP sink) gets a "New from what you follow" section."""

from __future__ import annotations

import datetime as dt

from paperwire.jobs.digest import plan_digests, send_queued
from paperwire.models.papers import PaperRecord
from paperwire.models.subscriptions import Frequency
from paperwire.services.ingest import ingest_records
from tests.community.conftest import TODAY
from tests.conftest import AppFactory, SmtpSink
from tests.subscriptions.conftest import build_sub_env, messages_to, text_part, wait_for

TITLE = "Quiet paper by a followed author"


def test_follows_in_the_digest_only_when_chosen(
    make_app: AppFactory, smtp_server: SmtpSink
) -> None:
    sub_env = build_sub_env(make_app, smtp_server)
    env = sub_env.env
    record = PaperRecord(
        arxiv_id="2512.00300",
        source="arxiv",  # never featured: no trending section would bring it
        title=TITLE,
        authors=["Followed Person"],
        published_at=dt.datetime.combine(TODAY, dt.time(6), tzinfo=dt.UTC),
    )
    assert ingest_records(env.pw, [record], "arxiv").added == 1
    ada = env.account("ada@example.org", "Ada")
    ada.api("POST", "/api/follows", json={"kind": "author", "target": "Followed Person"})
    sub = sub_env.active("ada@example.org")
    # not opted in: the digest has no following section
    digest = sub_env.subs.compose(Frequency.daily, sub=sub)
    assert [s.kind for s in digest.sections] == ["trending"]
    # only alerts and follows from now on (trending would take the paper first: no paper
    # appears twice in a digest)
    pending = sub_env.subs.store.request("ada@example.org", Frequency.daily, trending=False)
    activated = sub_env.subs.store.activate(
        pending.id, pending.email, Frequency.daily, trending=False
    )
    assert activated is not None and not activated.trending
    sub = activated

    r = ada.api("PUT", "/api/me/profile", json={"digest_follows": True})
    assert r.is_success
    digest = sub_env.subs.compose(Frequency.daily, sub=sub)
    [section] = [s for s in digest.sections if s.kind == "following"]
    assert [p.arxiv_id for p in section.papers] == ["2512.00300"]
    assert "1 from what you follow" in digest.subject

    assert plan_digests(env.pw, Frequency.daily).queued == 1
    assert send_queued(env.pw).sent == 1
    wait_for(lambda: bool(messages_to(smtp_server, "ada@example.org")), what="the digest")
    [msg] = messages_to(smtp_server, "ada@example.org")
    body = text_part(msg)
    assert "== New from what you follow ==" in body and TITLE in body
    assert "http://testserver/following" in body
    # another subscriber (no account) gets no following section
    other = sub_env.active("nobody@example.org")
    assert [s.kind for s in sub_env.subs.compose(Frequency.daily, sub=other).sections] == [
        "trending"
    ]
