"""Subscribe → confirmation mail → confirm → digest mail → manage → one-click unsubscribe,
all through real mail (aiosmtpd on loopback) and the real app, following the links found
in the messages."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.jobs.digest import plan_digests, send_queued
from paperwire.models.subscriptions import Frequency, SubscriptionStatus
from paperwire.services.subscriptions import MANAGE_SALT
from tests.community.conftest import HOT, WARM
from tests.conftest import AppFactory, SmtpSink, _free_port
from tests.subscriptions.conftest import (
    BASE_URL,
    SubEnv,
    build_sub_env,
    html_part,
    link_to,
    mail_links,
    messages_to,
    path_of,
    text_part,
)

ADA = "ada@example.org"


def test_subscribe_confirm_digest_manage_unsubscribe(sub_env: SubEnv) -> None:
    person = sub_env.env.person()
    page = person.c.get("/subscribe")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    r = person.post(
        "/subscribe", {"email": " Ada@Example.org ", "frequency": "weekly"}, token_from="/subscribe"
    )
    assert r.status_code == 200, r.text
    assert "confirmation link" in r.text and ADA in r.text
    sub = sub_env.subs.store.by_email(ADA)
    assert sub is not None and sub.status == SubscriptionStatus.pending

    # -- the confirmation email --------------------------------------------------------
    [confirm_mail] = messages_to(sub_env.smtp, ADA)
    assert confirm_mail["From"] == "paperwire <digest@paperwire.test>"
    assert "Confirm" in confirm_mail["Subject"]
    assert confirm_mail["Message-ID"] and confirm_mail["Date"]
    text_links, html_links = mail_links(confirm_mail)
    confirm_url = link_to(text_links, "/subscriptions/confirm")
    assert confirm_url in html_links

    # GET only asks (mail scanners prefetch links); the POST confirms.
    r = person.c.get(path_of(confirm_url))
    assert r.status_code == 200 and "weekly digest" in r.text
    assert sub_env.subs.store.by_email(ADA).status == SubscriptionStatus.pending  # type: ignore[union-attr]
    r = TestClient(sub_env.env.app).post(path_of(confirm_url))  # another browser, no cookies
    assert r.status_code == 200 and "You are subscribed" in r.text
    sub = sub_env.subs.store.by_email(ADA)
    assert sub is not None and sub.status == SubscriptionStatus.active
    assert sub.frequency == Frequency.weekly

    # -- the digest ----------------------------------------------------------------------
    plan = plan_digests(sub_env.pw, Frequency.weekly)
    assert plan.queued == 1
    sent = send_queued(sub_env.pw)
    assert sent.sent == 1 and sent.remaining == 0
    digest = messages_to(sub_env.smtp, ADA)[-1]
    assert digest["To"] == ADA and digest["From"] == "paperwire <digest@paperwire.test>"
    assert digest["Subject"].startswith("paperwire weekly:")
    assert abs(parsedate_to_datetime(digest["Date"]).timestamp() - time.time()) < 120
    assert digest["Message-ID"].startswith("<") and digest["Message-ID"].endswith(">")
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_part, mailto_part = [p.strip() for p in digest["List-Unsubscribe"].split(",")]
    assert https_part.startswith(f"<{BASE_URL}/unsubscribe?token=") and https_part.endswith(">")
    assert mailto_part.startswith("<mailto:digest@paperwire.test?subject=")
    one_click = https_part[1:-1]

    text, html = text_part(digest), html_part(digest)
    hot = sub_env.pw.store.get(HOT)
    warm = sub_env.pw.store.get(WARM)
    for paper in (hot, warm):
        assert paper.title in text and paper.title in html
        assert f"{BASE_URL}/papers/{paper.arxiv_id}" in text
        assert f"https://arxiv.org/abs/{paper.arxiv_id}" in html
    assert f"▲ {warm.upvotes} upvotes" in text and f"▲ {warm.upvotes} upvotes" in html
    text_links, html_links = mail_links(digest)
    manage_url = link_to(text_links, "/subscriptions/manage")
    assert manage_url in html_links
    unsubscribe_url = link_to(html_links, "/unsubscribe")
    assert unsubscribe_url in text_links and unsubscribe_url == one_click

    # -- manage: change the frequency through the link ------------------------------------
    visitor = TestClient(sub_env.env.app)
    r = visitor.get(path_of(manage_url))
    assert r.status_code == 200 and ADA in r.text and 'value="weekly" checked' in r.text
    r = visitor.post(
        path_of(manage_url), data={"action": "update", "frequency": "daily", "trending": "1"}
    )
    assert r.status_code == 200 and "Saved." in r.text
    assert sub_env.subs.store.by_email(ADA).frequency == Frequency.daily  # type: ignore[union-attr]
    token = parse_qs(urlsplit(manage_url).query)["token"][0]
    api = visitor.get("/api/subscriptions/manage", params={"token": token}).json()
    assert api["frequency"] == "daily" and api["status"] == "active" and api["email"] == ADA

    # -- unsubscribe: the GET asks, the RFC 8058 POST (no cookie, no CSRF) does it ----------
    r = visitor.get(path_of(unsubscribe_url))
    assert r.status_code == 200 and "Stop every digest" in r.text
    assert sub_env.subs.store.by_email(ADA).status == SubscriptionStatus.active  # type: ignore[union-attr]
    mail_client = TestClient(sub_env.env.app)  # what a mail provider's POST looks like
    r = mail_client.post(
        path_of(one_click),
        content=b"List-Unsubscribe=One-Click",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "https://mail.example",
        },
    )
    assert r.status_code == 200, r.text
    assert "You are unsubscribed" in r.text and not r.cookies
    assert sub_env.subs.store.by_email(ADA).status == SubscriptionStatus.unsubscribed  # type: ignore[union-attr]
    # nothing more is planned for this address
    assert plan_digests(sub_env.pw, Frequency.daily).queued == 0
    # the manage link still works and can subscribe again (the token proves the address)
    r = visitor.post(path_of(manage_url), data={"action": "resubscribe"})
    assert r.status_code == 200
    assert sub_env.subs.store.by_email(ADA).status == SubscriptionStatus.active  # type: ignore[union-attr]


def test_tampered_expired_and_misused_tokens_are_rejected(sub_env: SubEnv) -> None:
    subs = sub_env.subs
    sub = sub_env.active(ADA)
    client = TestClient(sub_env.env.app)
    good = subs.manage_token(sub)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for method, path in [
        ("GET", "/unsubscribe"),
        ("POST", "/unsubscribe"),
        ("GET", "/subscriptions/manage"),
        ("POST", "/subscriptions/manage"),
    ]:
        r = client.request(method, path, params={"token": tampered})
        assert r.status_code == 400, (method, path)
        assert "not valid" in r.text
    assert (
        client.post("/api/subscriptions/unsubscribe", params={"token": tampered}).status_code == 400
    )
    assert subs.store.by_email(ADA).status == SubscriptionStatus.active  # type: ignore[union-attr]

    # expired links: confirmation after subscription_confirm_max_age, manage links later
    old = time.time() - sub_env.pw.settings.subscription_confirm_max_age - 60
    expired_confirm = subs.confirm_token(sub, Frequency.weekly, issued_at=old)
    r = client.post("/subscriptions/confirm", params={"token": expired_confirm})
    assert r.status_code == 400 and "expired" in r.text
    ancient = time.time() - sub_env.pw.settings.subscription_link_max_age - 60
    r = client.post("/unsubscribe", params={"token": subs.manage_token(sub, issued_at=ancient)})
    assert r.status_code == 400 and "expired" in r.text
    assert subs.store.by_email(ADA).status == SubscriptionStatus.active  # type: ignore[union-attr]

    # a confirmation token is not an unsubscribe token (and the other way round)
    confirm = subs.confirm_token(sub, Frequency.weekly)
    assert client.post("/unsubscribe", params={"token": confirm}).status_code == 400
    assert client.post("/api/subscriptions/confirm", params={"token": good}).status_code == 400
    # a token signed with another key
    forged = URLSafeTimedSerializer("another key", salt=MANAGE_SALT).dumps(
        {"s": sub.id, "e": sub.email}
    )
    assert client.post("/unsubscribe", params={"token": forged}).status_code == 400
    # the real token works
    r = client.post("/api/subscriptions/unsubscribe", params={"token": good})
    assert r.status_code == 200 and r.json()["status"] == "unsubscribed"


def test_subscribe_api_and_form_protections(sub_env: SubEnv) -> None:
    client = TestClient(sub_env.env.app)
    # a cross-site form post without cookies or token is refused (CSRF)
    r = client.post("/subscribe", data={"email": ADA, "frequency": "daily"})
    assert r.status_code == 403
    # JSON without cookies cannot be sent by a plain form: allowed
    r = client.post("/api/subscriptions", json={"email": ADA, "frequency": "daily"})
    assert r.status_code == 202 and r.json()["status"] == "pending"
    r = client.post("/api/subscriptions", json={"email": "not-an-address", "frequency": "daily"})
    assert r.status_code == 422
    r = client.post("/api/subscriptions", json={"email": ADA, "frequency": "hourly"})
    assert r.status_code == 422
    # asking again sends another link and changes nothing else
    r = client.post("/api/subscriptions", json={"email": ADA, "frequency": "weekly"})
    assert r.status_code == 202
    assert len(messages_to(sub_env.smtp, ADA)) == 2
    sub = sub_env.subs.store.by_email(ADA)
    assert sub is not None and sub.status == SubscriptionStatus.pending
    # the form shows field errors
    person = sub_env.env.person()
    r = person.post("/subscribe", {"email": "nope", "frequency": "daily"}, token_from="/subscribe")
    assert r.status_code == 422 and "not an email address" in r.text


def test_subscribe_when_smtp_is_down_is_a_clear_error(
    make_app: AppFactory, smtp_server: SmtpSink
) -> None:
    env = build_sub_env(make_app, smtp_server, smtp_port=_free_port(), smtp_timeout=2)
    r = TestClient(env.env.app).post("/api/subscriptions", json={"email": ADA})
    assert r.status_code == 503 and "mail server is unavailable" in r.json()["detail"]


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_digest_preview_page_and_api(sub_env: SubEnv, frequency: str) -> None:
    client = TestClient(sub_env.env.app)
    r = client.get("/digest/preview", params={"frequency": frequency})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "style-src 'unsafe-inline'" in r.headers["content-security-policy"]
    assert sub_env.pw.store.get(WARM).title in r.text  # type: ignore[union-attr]
    assert "<script" not in r.text
    text = client.get("/digest/preview", params={"frequency": frequency, "format": "text"})
    assert text.headers["content-type"].startswith("text/plain") and "== " in text.text
    api = client.get("/api/digest/preview", params={"frequency": frequency}).json()
    assert api["frequency"] == frequency and api["sections"][0]["kind"] == "trending"
    assert api["sections"][0]["papers"]
    assert client.get("/digest/preview", params={"frequency": "hourly"}).status_code == 422
    r = CliRunner().invoke(
        app,
        ["digest", "preview", "--frequency", frequency, "--home", str(sub_env.pw.settings.home)],
        env={
            "PAPERWIRE_SEMANTIC": "false",
            "PAPERWIRE_DATABASE_URL": sub_env.pw.settings.db_url,
            "PAPERWIRE_INDEX": sub_env.pw.settings.index,
        },
    )
    assert r.exit_code == 0, r.output
    assert f"{frequency} digest" in r.stdout and sub_env.pw.store.get(WARM).title in r.stdout  # type: ignore[union-attr]
