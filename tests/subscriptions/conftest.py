"""Subscription tests: the community tests' crafted corpus (papers featured today, two days
ago, …) on a real app, with mail going to a real SMTP server on loopback (``smtp_server``).

``sub_env`` builds it; ``mail_links`` pulls the links out of a received message, and
``Inbox`` waits for messages (aiosmtpd delivers on its own thread).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pytest

from paperwire.models.subscriptions import Frequency
from paperwire.services.subscriptions import Subscriptions, subscriptions_of
from paperwire.store.subscriptions import SubscriptionRow
from tests.community.conftest import Env, make_env
from tests.conftest import AppFactory, SmtpSink

BASE_URL = "http://testserver"
SECRET = "subscription-tests-secret"
SETTINGS: dict[str, Any] = {
    "base_url": BASE_URL,
    "secret_key": SECRET,
    "rate_subscribe_per_hour": 1000,
    "mail_from": "paperwire <digest@paperwire.test>",
    "smtp_timeout": 5,
}
URL_RE = re.compile(r"https?://[^\s<>\"')]+")


@dataclass
class SubEnv:
    env: Env
    subs: Subscriptions
    smtp: SmtpSink

    @property
    def pw(self) -> Any:
        return self.env.pw

    def active(self, email: str, frequency: Frequency = Frequency.daily) -> SubscriptionRow:
        """A confirmed subscription, made through the store (no confirmation mail)."""
        sub = self.subs.store.request(email, frequency)
        done = self.subs.store.activate(sub.id, sub.email, frequency)
        assert done is not None
        return done


def build_sub_env(make_app: AppFactory, smtp: SmtpSink, **overrides: Any) -> SubEnv:
    env = make_env(make_app, **{**SETTINGS, "smtp_port": smtp.port, **overrides})
    return SubEnv(env=env, subs=subscriptions_of(env.pw), smtp=smtp)


@pytest.fixture
def sub_env(make_app: AppFactory, smtp_server: SmtpSink) -> SubEnv:
    return build_sub_env(make_app, smtp_server)


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Until ``predicate`` holds: a mail sent from another thread, a job's effect. The
    limit only catches what never comes (CI's two shared cores can be ten times slower
    than a quiet machine, ``tests/browser.py``); a passing test waits no longer."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


def messages_to(smtp: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if m["To"] == address]


def text_part(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def html_part(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


def mail_links(msg: EmailMessage) -> tuple[list[str], list[str]]:
    """(links in the text part, hrefs in the HTML part)."""
    text_links = URL_RE.findall(text_part(msg))
    doc = lxml.html.fromstring(html_part(msg))
    return text_links, [str(a.get("href")) for a in doc.iter("a")]


def path_of(url: str) -> str:
    """The path + query of a link in an email, for the TestClient (base_url is testserver)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def link_to(links: list[str], path: str) -> str:
    found = [u for u in links if urlsplit(u).path == path]
    assert found, f"no link to {path} in {links}"
    return found[0]
