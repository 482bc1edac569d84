"""Webhooks: delivered to a real HTTP receiver on loopback, signed (HMAC-SHA256 over the
timestamp and the body), retried with backoff after a 500, logged per alert, disabled
after too many failures in a row; private targets refused unless allowed."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from paperwire.jobs.webhooks import plan_webhooks, send_webhooks
from paperwire.services.webhooks import WebhookUrlError, deliver, resolve
from paperwire.store.schema.subscriptions import DigestOutbox
from tests.alerts.conftest import Receiver
from tests.community.conftest import HOT, Person
from tests.subscriptions.conftest import SubEnv


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (the example in docs/subscriptions.md)."""
    timestamp = headers["x-paperwire-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if abs(time.time() - int(timestamp)) > 300:
        return False
    return hmac.compare_digest("sha256=" + expected.hexdigest(), headers["x-paperwire-signature"])


def _alert(person: Person, url: str, **extra: object) -> dict[str, object]:
    body = {"q": "sparse attention", "email": False, "webhook_url": url, **extra}
    r = person.api("POST", "/api/alerts", json=body)
    assert r.status_code == 201, r.text
    alert: dict[str, object] = r.json()["alert"]
    return alert


def test_a_failed_delivery_is_retried_and_the_signature_verifies(
    alert_env: SubEnv, receiver: Receiver
) -> None:
    receiver.statuses = [500, 200]
    ada = alert_env.env.account("ada@example.org", "Ada")
    alert = _alert(ada, receiver.url)
    webhook = alert["webhook"]
    assert isinstance(webhook, dict) and webhook["secret"].startswith("whsec_")
    pw = alert_env.pw

    planned = plan_webhooks(pw)
    assert planned.queued == 1
    assert plan_webhooks(pw).queued == 0  # the same hour, nothing new: a no-op
    failed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    first = send_webhooks(pw)
    assert (first.delivered, first.retry_later) == (0, 1)
    with pw.db.session() as s:  # backoff: the next try is due a retry delay later
        row = s.scalars(select(DigestOutbox).where(DigestOutbox.kind == "webhook")).one()
        assert row.attempts == 1 and row.next_attempt_at is not None
        assert row.next_attempt_at >= failed_at + dt.timedelta(seconds=0.3)
    time.sleep(0.4)
    second = send_webhooks(pw)
    assert second.delivered == 1

    assert len(receiver.received) == 2
    got = receiver.received[1]
    assert got.path == "/hook" and got.headers["content-type"] == "application/json"
    assert got.headers["x-paperwire-event"] == "alert.papers"
    assert _verify(webhook["secret"], got.headers, got.body)
    assert not _verify("whsec_wrong", got.headers, got.body)
    assert not _verify(webhook["secret"], got.headers, got.body + b" ")
    payload = json.loads(got.body)
    assert payload["alert"]["id"] == alert["id"]
    assert [p["arxiv_id"] for p in payload["papers"]] == [HOT]
    assert payload["papers"][0]["url"].endswith(f"/papers/{HOT}")
    # the same delivery both times (same id and body), one delivery header
    assert receiver.received[0].body == got.body
    assert (
        got.headers["x-paperwire-delivery"] == receiver.received[0].headers["x-paperwire-delivery"]
    )

    # the owner's delivery log: one delivery, two attempts (500, then 200)
    log = ada.c.get(f"/api/alerts/{alert['id']}/deliveries").json()
    [delivery] = log["deliveries"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 2
    assert [(t["status_code"], t["ok"]) for t in delivery["tries"]] == [(500, False), (200, True)]
    assert "HTTP 500" in delivery["tries"][0]["error"]
    page = ada.c.get(f"/alerts/{alert['id']}/deliveries")
    assert page.status_code == 200 and "HTTP 500" in page.text
    # nobody else sees it
    grace = alert_env.env.account("grace@example.org", "Grace")
    assert grace.c.get(f"/api/alerts/{alert['id']}/deliveries").status_code == 404
    # a paper is sent once: the next hour brings nothing new
    assert plan_webhooks(pw).queued == 0


def test_failures_in_a_row_disable_the_webhook(alert_env: SubEnv, receiver: Receiver) -> None:
    receiver.statuses = [503]
    pw = alert_env.pw
    pw.settings.webhook_disable_after = 2
    ada = alert_env.env.account("ada@example.org", "Ada")
    alert = _alert(ada, receiver.url)
    plan_webhooks(pw)
    assert send_webhooks(pw).retry_later == 1
    time.sleep(0.4)
    report = send_webhooks(pw)
    assert report.disabled == 1
    shown = ada.c.get("/api/alerts").json()["alerts"][0]["webhook"]
    assert shown["disabled_at"] and "2 failed attempts in a row" in shown["disabled_reason"]
    time.sleep(0.7)
    assert send_webhooks(pw).delivered == 0 and len(receiver.received) == 2  # nothing sent
    # turned back on by its owner: the queued delivery goes out
    receiver.statuses = [200]
    r = ada.api("PATCH", f"/api/alerts/{alert['id']}", json={"enable_webhook": True})
    assert r.status_code == 200 and r.json()["webhook"]["disabled_at"] is None
    assert send_webhooks(pw).delivered == 1


def test_private_and_odd_targets_are_refused_by_default(alert_env: SubEnv) -> None:
    pw = alert_env.pw
    pw.settings.webhook_allow_private = False
    ada = alert_env.env.account("ada@example.org", "Ada")
    for url, why in [
        ("http://127.0.0.1:9/hook", "private, loopback or link-local"),
        ("http://169.254.169.254/latest/meta-data", "private, loopback or link-local"),
        ("http://[::1]/x", "private, loopback or link-local"),
        ("http://10.1.2.3/x", "private, loopback or link-local"),
        ("ftp://example.org/x", "only http:// and https://"),
        ("http://user:pw@example.org/x", "no user or password"),
        ("file:///etc/passwd", "only http:// and https://"),
    ]:
        r = ada.api("POST", "/api/alerts", json={"q": "x", "email": False, "webhook_url": url})
        assert r.status_code == 422, url
        assert why in r.text, (url, r.text)
    with pytest.raises(WebhookUrlError):
        resolve("http://localhost/x", allow_private=False)
    assert resolve("http://localhost:8080/x?y=1", allow_private=True).path == "/x?y=1"


def test_the_worker_delivers_a_webhook_set_on_the_alerts_page(
    alert_env: SubEnv, receiver: Receiver
) -> None:
    from paperwire.jobs.worker import Worker, default_jobs

    pw = alert_env.pw
    ada = alert_env.env.account("ada@example.org", "Ada")
    r = ada.post(
        "/alerts",
        {"kind": "follow", "target": "author:Ada Lovelace", "webhook_url": receiver.url},
        token_from="/alerts",
    )
    assert r.status_code == 200, r.text
    [alert] = ada.c.get("/api/alerts").json()["alerts"]
    assert alert["email"] is False and alert["webhook"]["url"] == receiver.url
    jobs = [j for j in default_jobs(pw) if j.name == "webhooks"]
    [(name, ok, summary)] = Worker(pw, jobs).run_due()
    assert name == "webhooks"
    assert ok and summary.startswith("1 queued") and "1 delivered" in summary, summary
    [got] = receiver.received
    assert _verify(alert["webhook"]["secret"], got.headers, got.body)
    assert json.loads(got.body)["alert"]["title"] == "New from Ada Lovelace"
    doc = ada.c.get(f"/alerts/{alert['id']}/deliveries").text
    assert "delivered" in doc and "200 OK" in doc


def test_https_receivers_get_their_certificate_checked(tmp_path: Path) -> None:
    """The pinned HTTPS connection still verifies the certificate against the host name:
    a self-signed receiver on loopback is refused with the TLS error, not posted to."""
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    posted: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://localhost:{server.server_address[1]}/hook"
        result = deliver(url, "whsec_x", b"{}", 1, timeout=5, allow_private=True)
    finally:
        server.shutdown()
        server.server_close()
    assert not result.ok and result.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or ""), result.error
    assert posted == []
