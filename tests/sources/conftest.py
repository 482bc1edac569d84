"""Fixtures for the importer tests: seeds, recorded responses and a real local HTTP server.

``shared_data`` (the real data beside the repository) comes from ``tests/conftest.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_SEEDS = REPO.parent / "shared" / "seeds"
FIXTURES = REPO / "tests" / "fixtures" / "arxiv"

# (path, query) -> (status, headers, body)
Handler = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]


@pytest.fixture(scope="session")
def shared_seeds() -> Path:
    if not SHARED_SEEDS.is_dir():
        pytest.fail(f"shared seeds missing: expected {SHARED_SEEDS} beside the repository")
    return SHARED_SEEDS


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Server:
    url: str
    requests: list[Request] = field(default_factory=list)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Server]]:
    """Start a real HTTP server on 127.0.0.1 (free port) answering with ``handler``."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Handler) -> Server:
        record = Server(url="")

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                record.requests.append(Request(parts.path, query, dict(self.headers.items())))
                status, headers, body = handler(parts.path, query)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # keep pytest quiet
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(httpd)
        record.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        return record

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


class SleepRecorder:
    """Injected instead of ``time.sleep``: remembers the waits, never waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
