"""Mail goes through a real SMTP server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperwire.config import Settings
from paperwire.services.mail import MailError, build_message, send_message
from tests.conftest import SmtpSink, _free_port


def test_multipart_message_arrives_with_headers(smtp_server: SmtpSink, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, smtp_port=smtp_server.port)
    msg = build_message(
        settings,
        "reader@example.org",
        "Hello",
        "plain body",
        "<p>html body</p>",
        {"List-Unsubscribe": "<https://x/u>"},
    )
    send_message(settings, msg)
    [got] = smtp_server.messages
    assert got["To"] == "reader@example.org" and got["Subject"] == "Hello"
    assert got["List-Unsubscribe"] == "<https://x/u>"
    assert got.get_body(("plain",)).get_content().strip() == "plain body"
    assert got.get_body(("html",)).get_content().strip() == "<p>html body</p>"


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, smtp_port=_free_port(), smtp_timeout=2)
    msg = build_message(settings, "a@example.org", "x", "y")
    with pytest.raises(MailError, match=r"SMTP server 127\.0\.0\.1:\d+"):
        send_message(settings, msg)
