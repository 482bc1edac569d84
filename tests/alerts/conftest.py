"""Alert tests: the subscription tests' app (crafted corpus, mail to a real SMTP sink)
with webhooks allowed to call loopback, and ``Receiver``: a real HTTP server on
loopback that records each webhook POST and answers with the statuses it is given."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import AppFactory, SmtpSink
from tests.subscriptions.conftest import SubEnv, build_sub_env

FAST_RETRY: dict[str, Any] = {
    "webhook_allow_private": True,
    "webhook_retry_seconds": 0.3,
    "webhook_timeout": 5,
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers the n-th POST with ``statuses[n]`` (the last one after that)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                n = len(receiver.received)
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses[min(n, len(receiver.statuses) - 1)]
                answer = b"ok" if status < 300 else b"receiver is down"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def alert_env(make_app: AppFactory, smtp_server: SmtpSink) -> SubEnv:
    return build_sub_env(make_app, smtp_server, **FAST_RETRY)
